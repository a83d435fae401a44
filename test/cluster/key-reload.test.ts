// Two races behind "keys rotated on one instance, still signing with the old key on another".
// First:
// instance B is re-reading its keys (a periodic refresh) when A's rotation commits; B then hears
// of the rotation and re-reads. That second read must not be merged into the one under way,
// which read the rows before the rotation. Two key rings over one real store stand for the two
// instances; B's first read is held (by a gate, not a timer) after it has read the old rows.
// Second: instances starting at once on an empty database each made a current key, and a
// rotation then retired only one of them.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/index.ts';
import { KeyRing } from '../../src/core/tokens/key-ring.ts';
import { systemClock } from '../../src/core/clock.ts';
import { engines } from '../helpers/engines.ts';

for (const { engine, skip } of engines) {
  describe(`signing keys shared by several instances [${engine.name}]`, { skip }, () => {
    it('a re-read asked for during a read under way sees the rotation', async () => {
      const db = await engine.create();
      const store = openStore(db.url);
      try {
        await store.migrate();
        const a = new KeyRing(store, systemClock);
        await a.ensure();
        const b = new KeyRing(store, systemClock);
        await b.ensure();
        const before = (await b.signingKey()).kid;

        // B's next read of the key table returns what it read, but only once the gate opens.
        const all = store.read.signingKeys.all.bind(store.read.signingKeys);
        let open!: () => void;
        const gate = new Promise<void>((r) => (open = r));
        let reads = 0;
        const heldRead = new Promise<void>((entered) => {
          store.read.signingKeys.all = async () => {
            const rows = await all();
            if (++reads === 1) {
              entered();
              await gate;
            }
            return rows;
          };
        });
        const periodic = b.reloadNow(); // the refresh under way: it has the old rows
        await heldRead;

        const { current } = await a.rotate(); // A rotates and commits (its read is not held)
        assert.notEqual(current, before);
        const told = b.reloadNow(); // what B does when Redis tells it
        open();
        await Promise.all([periodic, told]);

        assert.equal((await b.signingKey()).kid, current, 'B still signs with the key from before the rotation');
      } finally {
        await store.close();
        await db.drop();
      }
    });

    it('instances starting at once on an empty database end with one current and one next key', async () => {
      for (let round = 0; round < 5; round++) {
        const db = await engine.create();
        const store = openStore(db.url);
        try {
          await store.migrate();
          const rings = [0, 1, 2].map(() => new KeyRing(store, systemClock));
          await Promise.all(rings.map((k) => k.ensure()));
          const states = (await store.read.signingKeys.all()).map((k) => k.state).sort();
          assert.deepEqual(states.filter((s) => s !== 'retired'), ['current', 'next'], `round ${round}: ${states.join(', ')}`);
          await Promise.all(rings.map((k) => k.reloadNow()));
          const kids = new Set(await Promise.all(rings.map(async (k) => (await k.signingKey()).kid)));
          assert.equal(kids.size, 1, 'the instances sign with different keys');
          const { current } = await rings[0]!.rotate();
          await Promise.all(rings.map((k) => k.reloadNow()));
          for (const k of rings) assert.equal((await k.signingKey()).kid, current);
          assert.deepEqual((await store.read.signingKeys.all()).filter((k) => k.state === 'current').map((k) => k.kid), [current]);
        } finally {
          await store.close();
          await db.drop();
        }
      }
    });
  });
}
