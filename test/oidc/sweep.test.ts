// Expired rows of oidc_payloads go: the provider's writes start a sweep at most once per
// interval (the first write at once), which deletes every tenant's expired rows and nothing
// live; a failing sweep never fails the write that started it, and is tried again later.
// Against both engines, through the provider's own adapter.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { adapterClass } from '../../src/oidc/adapter.ts';
import { ExpirySweep } from '../../src/oidc/sweep.ts';

for (const { engine, skip } of engines) {
  describe(`the sweep of expired provider state (${engine.name})`, { skip }, () => {
    let t: TestApp;
    before(async () => {
      t = await startApp(engine);
    });
    after(() => t.close());

    const rows = async () => (await t.store.db.selectFrom('oidc_payloads').select(['id', 'tenant_pk']).orderBy('id').execute()).map((r) => r.id);

    it('a write sweeps the expired rows of every tenant, once per interval, and keeps the live ones', async () => {
      const acme = await t.core.tenants.create('sweep-acme', 'Acme');
      const def = await t.core.tenants.resolve('default');
      const past = Date.now() - 1000;
      for (const [tenantPk, id, expiresAt] of [[def.pk, 'old-1', past], [acme.pk, 'old-2', past], [def.pk, 'live', Date.now() + 3_600_000], [acme.pk, 'forever', null]] as const) {
        await t.store.transaction((r) => r.oidcPayloads.upsert({ tenantPk, model: 'Session', id, payload: '{}', grantId: null, uid: null, userCode: null, expiresAt }));
      }
      let clock = 1_000_000;
      const runs: number[] = [];
      const sweep = new ExpirySweep(async (now) => {
        runs.push(now);
        return t.store.transaction((r) => r.oidcPayloads.deleteExpired(Date.now()));
      }, { everyMs: 60_000, now: () => clock });
      const Adapter = adapterClass(t.core, def.pk, sweep);
      const adapter = new Adapter('AccessToken');
      await adapter.upsert('fresh', { jti: 'fresh' }, 60);
      // The first write sweeps: off the request's path, so wait for it.
      assert.equal(runs.length, 1);
      await sweep.poke(); // nothing: within the interval
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await rows(), ['forever', 'fresh', 'live']);
      // Within the interval, new expired rows stay until the next one.
      await t.store.transaction((r) => r.oidcPayloads.upsert({ tenantPk: acme.pk, model: 'Session', id: 'old-3', payload: '{}', grantId: null, uid: null, userCode: null, expiresAt: Date.now() - 1 }));
      clock += 59_000;
      await adapter.upsert('fresh2', { jti: 'fresh2' }, 60);
      assert.equal(runs.length, 1);
      assert.ok((await rows()).includes('old-3'));
      clock += 1_000;
      await adapter.upsert('fresh3', { jti: 'fresh3' }, 60);
      assert.equal(runs.length, 2);
      await new Promise((r) => setTimeout(r, 50));
      assert.deepEqual(await rows(), ['forever', 'fresh', 'fresh2', 'fresh3', 'live']);
    });

    it('a failing sweep does not fail the write, and runs again at the next interval', async () => {
      let clock = 5000;
      let fail = true;
      let calls = 0;
      const sweep = new ExpirySweep(async () => {
        calls++;
        if (fail) throw new Error('database away');
        return 0;
      }, { everyMs: 1000, now: () => clock });
      const def = await t.core.tenants.resolve('default');
      const adapter = new (adapterClass(t.core, def.pk, sweep))('Grant');
      await adapter.upsert('g1', { jti: 'g1' }, 60);
      await new Promise((r) => setTimeout(r, 10));
      assert.equal(calls, 1);
      assert.ok(await adapter.find('g1'), 'the write was kept');
      fail = false;
      clock += 1000;
      await sweep.poke();
      assert.equal(calls, 2);
      // One at a time: a poke while a sweep runs starts none.
      let release!: () => void;
      const slow = new ExpirySweep(() => new Promise<void>((r) => { release = r; }), { everyMs: 0 });
      const first = slow.poke();
      assert.ok(first);
      assert.equal(slow.poke(), undefined);
      release();
      await first;
      assert.ok(slow.poke());
    });
  });
}
