// Threat: telling an unknown name from an imported account by time. Imported hashes are checked
// in their own scheme (a Django PBKDF2 hash costs several argon2id verifications, a Keycloak one
// about one), so if an unknown name always cost the argon2id dummy, a slow answer would say "this
// account exists and was imported". An unknown name is checked instead against the stored hash
// of an account of the tenant that the name picks, always the same one for the same name: its
// time is an account's time. Proved by recording which stored hash each verification used, not
// by timing.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { fastHasher } from '../helpers/app.ts';
import { OPERATOR, type PasswordHasher } from '../../src/core/index.ts';
import { startCore, rejectsWith, verifyPassword, type CoreFixture } from './support.ts';

// The form of a Django PBKDF2-SHA256 hash (its digest made up: a decoy check's result is thrown away).
const DJANGO = 'pbkdf2_sha256$1000$decoysalt$';

for (const { engine, skip } of engines) {
  describe(`an unknown name costs what an account costs [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    const seen: string[] = [];
    let dummies = 0;
    const inner = fastHasher();
    const hasher: PasswordHasher = {
      hash: (p) => inner.hash(p),
      verify: (h, p) => (seen.push(h), inner.verify(h, p)),
      needsRehash: (h) => inner.needsRehash(h),
      verifyDummy: async (p) => { dummies++; await inner.verifyDummy(p); },
    };
    before(async () => { f = await startCore(engine, { hasher }); });
    after(async () => { await f?.close(); });
    beforeEach(() => { seen.length = 0; dummies = 0; });

    it('a tenant with no password at all: the argon2id dummy', async () => {
      await rejectsWith(verifyPassword(f.core, undefined, 'nobody-at-all', 'whatever-it-is-1'), 'INVALID_CREDENTIALS');
      assert.deepEqual([seen.length, dummies], [0, 1]);
    });

    it('with an imported account: an unknown name is checked against a real stored hash, one verification, the same one each time', async () => {
      const tenant = await f.core.tenants.resolve(undefined);
      const legacy = `${DJANGO}${'A'.repeat(43)}=`;
      const u = await f.core.users.create(OPERATOR, { username: 'imported-one', password: null });
      await f.store.transaction((r) => r.users.update(u.pk, { passwordHash: legacy }));
      for (let i = 0; i < 3; i++) await rejectsWith(verifyPassword(f.core, undefined, 'nobody-at-all', 'whatever-it-is-1'), 'INVALID_CREDENTIALS');
      assert.equal(dummies, 0);
      assert.deepEqual(seen, [legacy, legacy, legacy], 'the imported account\'s hash, every time');
      // A name with many accounts to pick from keeps its pick.
      const other = await f.core.users.create(OPERATOR, { username: 'native-one', password: 'a-long-passphrase-9' });
      seen.length = 0;
      for (let i = 0; i < 3; i++) await rejectsWith(verifyPassword(f.core, undefined, 'someone-else', 'whatever-it-is-1'), 'INVALID_CREDENTIALS');
      assert.equal(new Set(seen).size, 1, 'one name, one decoy');
      assert.ok([legacy, (await f.store.read.users.findByPk(other.pk))!.passwordHash].includes(seen[0]!));
      assert.equal(tenant.name, 'default');
    });
  });
}
