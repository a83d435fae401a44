// Passkeys' rules in the core, where no browser is needed (test/browser/passkeys.test.ts signs
// real ceremonies in Chromium): the relying party comes from PUBLIC_URL; challenges are stored as
// SHA-256, single use (even when the answer fails), for five minutes, bound to their tenant,
// purpose and user; malformed answers are a VALIDATION_FAILED on `credential` (a passwordless
// sign-in's: INVALID_CREDENTIALS), never a crash; names are checked; a user renames only their own.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { engines } from '../helpers/engines.ts';
import { sha256 } from '../../src/core/secrets.ts';
import type { Tenant, User } from '../../src/core/index.ts';
import { startCore, rejectsWith, PUBLIC_URL, type CoreFixture } from './support.ts';

/** An answer that names `challenge` in its client data but is signed by nobody. */
const unsigned = (challenge: string, id = 'no-such-credential') => ({
  id, rawId: id, type: 'public-key', clientExtensionResults: {},
  response: {
    clientDataJSON: Buffer.from(JSON.stringify({ type: 'webauthn.get', challenge, origin: PUBLIC_URL })).toString('base64url'),
    authenticatorData: 'AAAA', signature: 'AAAA',
  },
});
const reason = (err: { fields?: Record<string, string[]> }) => err.fields?.credential?.[0];
const EXPIRED = 'The challenge is unknown, used or expired.';

for (const { engine, skip } of engines) {
  describe(`passkeys in the core [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    let tenant: Tenant;
    let other: Tenant;
    let alice: User;
    let bob: User;
    let alicePasskey: number;

    before(async () => {
      f = await startCore(engine);
      tenant = await f.core.tenants.resolve(undefined);
      other = await f.core.tenants.create('other', 'Other');
      alice = await f.user('alice');
      bob = await f.user('bob');
      // A stored passkey (its key is a real P-256 key; nothing here signs with it).
      const { publicKey } = crypto.generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const data = { publicKey: publicKey.export({ format: 'der', type: 'spki' }).toString('base64url'), counter: 0, transports: ['internal'], passwordless: true };
      alicePasskey = await f.store.transaction((r) => r.authenticators.insert({ tenantPk: tenant.pk, userPk: alice.pk, type: 'webauthn', name: 'Key', credentialId: 'alice-key', data: JSON.stringify(data), createdAt: f.clock.now(), lastUsedAt: null }));
    });
    after(() => f?.close());

    it('takes the relying party from PUBLIC_URL; options list only the user\'s own passkeys', async () => {
      const reg = await f.core.passkeys.registrationOptions(tenant, alice);
      assert.equal(reg.rp.id, new URL(PUBLIC_URL).hostname);
      assert.equal(reg.attestation, 'none');
      assert.equal(reg.authenticatorSelection?.userVerification, 'preferred');
      assert.equal(reg.authenticatorSelection?.residentKey, 'preferred');
      assert.deepEqual(reg.excludeCredentials?.map((c) => c.id), ['alice-key']);
      const auth = await f.core.passkeys.authenticationOptions(tenant, alice);
      assert.deepEqual(auth.allowCredentials?.map((c) => c.id), ['alice-key']);
      assert.equal(auth.rpId, new URL(PUBLIC_URL).hostname);
      await rejectsWith(f.core.passkeys.authenticationOptions(tenant, bob), 'VALIDATION_FAILED', 'bob has no passkey');
      assert.deepEqual((await f.core.passkeys.authenticationOptions(tenant, undefined)).allowCredentials ?? [], []);
    });

    it('stores challenges as SHA-256 only', async () => {
      const { challenge } = await f.core.passkeys.authenticationOptions(tenant, undefined);
      assert.equal(await f.store.read.webauthnChallenges.consume(challenge, f.clock.now()), undefined, 'not under the challenge itself');
      const row = await f.store.read.webauthnChallenges.consume(sha256(challenge), f.clock.now());
      assert.equal(row?.userPk, null);
      assert.equal(row?.purpose, 'login');
    });

    it('uses a challenge once, even when its answer fails', async () => {
      const { challenge } = await f.core.passkeys.authenticationOptions(tenant, alice);
      const first = await rejectsWith(f.core.passkeys.verifyForUser(tenant, alice, unsigned(challenge, 'alice-key'), 'authenticate'), 'VALIDATION_FAILED');
      assert.equal(reason(first), 'Incorrect credential.', 'the challenge was found; the signature failed');
      const again = await rejectsWith(f.core.passkeys.verifyForUser(tenant, alice, unsigned(challenge, 'alice-key'), 'authenticate'), 'VALIDATION_FAILED');
      assert.equal(reason(again), EXPIRED);
    });

    it('expires a challenge after five minutes', async () => {
      const { challenge } = await f.core.passkeys.authenticationOptions(tenant, alice);
      f.clock.advance(5 * 60_000 + 1);
      assert.equal(reason(await rejectsWith(f.core.passkeys.verifyForUser(tenant, alice, unsigned(challenge, 'alice-key'), 'authenticate'), 'VALIDATION_FAILED')), EXPIRED);
    });

    it("binds a challenge to its user, purpose and tenant", async () => {
      const forAlice = await f.core.passkeys.authenticationOptions(tenant, alice);
      assert.equal(reason(await rejectsWith(f.core.passkeys.verifyPasswordless(tenant, unsigned(forAlice.challenge, 'alice-key')), 'VALIDATION_FAILED')), EXPIRED, "alice's second-factor challenge is no passwordless one");
      const login = await f.core.passkeys.authenticationOptions(tenant, undefined);
      assert.equal(reason(await rejectsWith(f.core.passkeys.verifyForUser(tenant, alice, unsigned(login.challenge, 'alice-key'), 'authenticate'), 'VALIDATION_FAILED')), EXPIRED, 'a passwordless challenge is no second factor');
      const register = await f.core.passkeys.registrationOptions(tenant, alice);
      assert.equal(reason(await rejectsWith(f.core.passkeys.verifyForUser(tenant, alice, unsigned(register.challenge, 'alice-key'), 'authenticate'), 'VALIDATION_FAILED')), EXPIRED, 'a registration challenge signs nothing in');
      const elsewhere = await f.core.passkeys.authenticationOptions(other, undefined);
      assert.equal(reason(await rejectsWith(f.core.passkeys.verifyPasswordless(tenant, unsigned(elsewhere.challenge, 'alice-key')), 'VALIDATION_FAILED')), EXPIRED, "another tenant's challenge");
      const forBob = await f.core.passkeys.registrationOptions(tenant, bob);
      assert.equal(reason(await rejectsWith(f.core.passkeys.register(tenant, alice, unsigned(forBob.challenge), 'Mine'), 'VALIDATION_FAILED')), EXPIRED, "bob's registration challenge");
    });

    it('a failed passkey answer through secondFactors.verify is VALIDATION_FAILED, as a wrong code is', async () => {
      const { challenge } = await f.core.passkeys.authenticationOptions(tenant, alice);
      await rejectsWith(f.core.secondFactors.verify(tenant, alice, { webauthn: unsigned(challenge, 'alice-key') }), 'VALIDATION_FAILED');
    });

    it('answers malformed responses with VALIDATION_FAILED (a passwordless sign-in: INVALID_CREDENTIALS)', async () => {
      const bad: unknown[] = [null, 'x', 42, [], {}, { response: {} }, { response: { clientDataJSON: '%%%' } }, { response: { clientDataJSON: Buffer.from(JSON.stringify({ challenge: 'a'.repeat(300) })).toString('base64url') } }, { id: 5, response: { clientDataJSON: 'e30' } }];
      for (const response of bad) {
        await rejectsWith(f.core.passkeys.verifyForUser(tenant, alice, response, 'authenticate'), 'VALIDATION_FAILED', JSON.stringify(response));
        await rejectsWith(f.core.passkeys.register(tenant, alice, response, 'Name'), 'VALIDATION_FAILED', JSON.stringify(response));
        await rejectsWith(f.core.signIn.start({ tenant: undefined, continuable: true, issue: { kind: 'session' }, factor: { method: 'webauthn', response } }), 'INVALID_CREDENTIALS', JSON.stringify(response));
      }
    });

    it('checks names; a user renames only their own passkeys', async () => {
      await rejectsWith(f.core.passkeys.register(tenant, alice, {}, ''), 'VALIDATION_FAILED');
      await rejectsWith(f.core.passkeys.register(tenant, alice, {}, 'x'.repeat(101)), 'VALIDATION_FAILED');
      await rejectsWith(f.core.passkeys.rename(alice, alicePasskey, '   '), 'VALIDATION_FAILED');
      await rejectsWith(f.core.passkeys.rename(bob, alicePasskey, 'Stolen'), 'NOT_FOUND');
      await f.core.passkeys.rename(alice, alicePasskey, ' Yubikey ');
      const list = await f.core.secondFactors.list(alice);
      assert.equal(list.find((a) => a.id === alicePasskey)?.name, 'Yubikey');
      assert.equal(list.find((a) => a.id === alicePasskey)?.passwordless, true);
      assert.equal(await f.core.secondFactors.enrolled(alice.pk), true, 'a passkey is a second factor');
    });
  });
}
