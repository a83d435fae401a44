// Password sign-in through the core, without HTTP.
//
// Threat: an attacker learns which usernames exist from how long a failed sign-in takes. Every
// attempt must run exactly one hash verification, whether the user exists or not, is active or
// not, has a password or not. As Django's tests do, this is proved by counting hasher calls, not
// by timing. Also: the argon2 parameters are upgraded on the next successful sign-in, and
// passwords over 4,096 bytes are refused before any hashing.
import { describe, it, before, after, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { countingHasher, outboxMailerForTests } from '../helpers/app.ts';
import { createArgon2Hasher, createCore, MAX_PASSWORD_BYTES, OPERATOR } from '../../src/core/index.ts';
import { startCore, rejectsWith, obtainPair, PASSWORD, PUBLIC_URL, type CoreFixture } from './support.ts';

const LONG_OK = 'a'.repeat(MAX_PASSWORD_BYTES);

for (const { engine, skip } of engines) {
  describe(`core sign-in: one hash verification per attempt [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    const { hasher, counts } = countingHasher();
    before(async () => {
      f = await startCore(engine, { hasher });
      await f.user('active');
      await f.user('inactive', { isActive: false });
      await f.user('nopassword', { password: null });
    });
    after(async () => { await f?.close(); });
    beforeEach(() => { counts.hash = 0; counts.verify = 0; });

    const attempt = (username: string, password: string) => obtainPair(f.core, undefined, username, password);

    it('a successful sign-in verifies once and hashes nothing', async () => {
      const pair = await attempt('active', PASSWORD);
      assert.ok(pair.access && pair.refresh);
      assert.deepEqual(counts, { hash: 0, verify: 1 });
    });

    const failures: Array<[string, string, string]> = [
      ['a wrong password', 'active', 'wrong-password'],
      ['an unknown username', 'nobody-by-that-name', PASSWORD],
      ['an inactive user with its right password', 'inactive', PASSWORD],
      ['an inactive user with a wrong password', 'inactive', 'wrong-password'],
      ['a user without a password', 'nopassword', PASSWORD],
      ['an empty password', 'active', ''],
      ['a password over 4,096 bytes', 'active', 'x'.repeat(MAX_PASSWORD_BYTES + 1)],
      ['a password over 4,096 bytes for an unknown user', 'nobody', 'x'.repeat(MAX_PASSWORD_BYTES + 1)],
    ];
    for (const [what, username, password] of failures) {
      it(`${what}: the same refusal after exactly one verification`, async () => {
        const err = await rejectsWith(attempt(username, password), 'INVALID_CREDENTIALS');
        assert.equal(err.message, 'No active account found with the given credentials');
        assert.deepEqual(counts, { hash: 0, verify: 1 });
      });
    }

    it('changing a password with a wrong current one also verifies exactly once', async () => {
      const { principal } = await f.login('active');
      counts.verify = 0;
      await rejectsWith(f.core.passwordChange.change(principal, { current: 'nope-nope', next: 'another-password' }), 'VALIDATION_FAILED');
      assert.equal(counts.verify, 1);
      assert.equal(counts.hash, 0, 'nothing is hashed when the change is refused');
    });
  });

  describe(`core passwords: length limit and parameter upgrade [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    const oldParams = { memoryCost: 1024, timeCost: 1, parallelism: 1 };
    const newParams = { memoryCost: 2048, timeCost: 1, parallelism: 1 };
    before(async () => { f = await startCore(engine, { hasher: createArgon2Hasher(oldParams) }); });
    after(async () => { await f?.close(); });

    it('accepts a password of exactly 4,096 bytes and refuses 4,097 (bytes, not characters)', async () => {
      const u = await f.user('longpw', { password: LONG_OK });
      assert.ok(u.passwordHash);
      await obtainPair(f.core, undefined, 'longpw', LONG_OK);
      const tooLong = await rejectsWith(f.core.users.create(OPERATOR, { username: 'toolong', password: 'a'.repeat(MAX_PASSWORD_BYTES + 1) }), 'VALIDATION_FAILED');
      assert.match(tooLong.fields!.password![0]!, /at most 4096 bytes/);
      // 2,049 two-byte characters: under 4,096 characters, over 4,096 bytes.
      const multi = await rejectsWith(f.core.users.create(OPERATOR, { username: 'multibyte', password: 'é'.repeat(2049) }), 'VALIDATION_FAILED');
      assert.ok(multi.fields!.password);
      assert.equal(await f.store.read.users.findByUsername((await f.core.tenants.resolve(undefined)).pk, 'toolong'), undefined);
      const { principal } = await f.login('longpw', LONG_OK);
      const change = await rejectsWith(f.core.passwordChange.change(principal, { current: LONG_OK, next: 'b'.repeat(MAX_PASSWORD_BYTES + 1) }), 'VALIDATION_FAILED');
      assert.ok(change.fields!.new_password);
    });

    it('upgrades a hash made with other argon2 parameters on the next successful sign-in', async () => {
      const created = await f.user('upgrade-me');
      const oldHash = created.passwordHash!;
      assert.match(oldHash, /^\$argon2id\$v=19\$m=1024,t=1,p=1\$/);
      // The same database, a server whose hasher has other parameters.
      const newer = createCore({ store: f.store, publicUrl: PUBLIC_URL, clock: f.clock, hasher: createArgon2Hasher(newParams), mailer: outboxMailerForTests() });
      assert.equal(newer.hasher.needsRehash(oldHash), true);

      // A failed attempt changes nothing.
      await rejectsWith(obtainPair(newer, undefined, 'upgrade-me', 'wrong-password'), 'INVALID_CREDENTIALS');
      assert.equal((await f.store.read.users.findById(created.id))!.passwordHash, oldHash);

      await obtainPair(newer, undefined, 'upgrade-me', PASSWORD);
      const upgraded = (await f.store.read.users.findById(created.id))!.passwordHash!;
      assert.notEqual(upgraded, oldHash);
      assert.match(upgraded, /^\$argon2id\$v=19\$m=2048,t=1,p=1\$/);
      assert.equal(newer.hasher.needsRehash(upgraded), false);
      // The password still works, under the new hash.
      await obtainPair(newer, undefined, 'upgrade-me', PASSWORD);
      assert.equal((await f.store.read.users.findById(created.id))!.passwordHash, upgraded, 'no second rehash');
    });
  });
}
