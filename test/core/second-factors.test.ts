// Second factors through the core, without HTTP: TOTP (codes made by Debian's python3-pyotp from
// the otpauth:// URI Latchkey shows), recovery codes, trusted browsers, tenants that require a
// second factor, and reauthentication.
//
// Threats: a stolen password signs in alone; a code seen over a shoulder is used again; a code is
// guessed (a million tries); one recovery code is spent twice by two parallel requests; a
// database dump yields the seeds; a stolen session changes the second factor.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { python, pythonSkip } from '../interop/support.ts';
import { createCore, OPERATOR, SecretBox, type Core, type User } from '../../src/core/index.ts';
import { fastHasher, outboxMailerForTests } from '../helpers/app.ts';
import { startCore, rejectsWith, PASSWORD, PUBLIC_URL, type CoreFixture } from './support.ts';

const pyotpSkip = pythonSkip(['pyotp']);

/** The code pyotp makes from `uri` at `ms` (pyotp.parse_uri reads the URI as an app would). */
async function pyotpCode(uri: string, ms: number): Promise<string> {
  const out = await python('import os, json, pyotp\nt = pyotp.parse_uri(os.environ["URI"])\nprint(json.dumps(t.at(int(os.environ["AT"]))))', { URI: uri, AT: String(Math.floor(ms / 1000)) });
  return out as string;
}

const passwordStart = (core: Core, username: string, extra: Record<string, unknown> = {}) => core.signIn.start({
  tenant: undefined, continuable: true, issue: { kind: 'session' }, ...extra,
  factor: { method: 'password', by: 'username', identifier: username, password: PASSWORD },
});

for (const { engine, skip } of engines) {
  describe(`second factors [${engine.name}]`, { skip: skip || pyotpSkip }, () => {
    let f: CoreFixture;
    let alice: User;
    let uri: string;
    let recovery: string[];
    const tenant = () => f.core.tenants.resolve(undefined);

    before(async () => {
      f = await startCore(engine);
      alice = await f.user('alice');
      const setup = await f.core.secondFactors.totpSetup(await tenant(), alice);
      uri = setup.uri;
      assert.match(uri, /^otpauth:\/\/totp\/.+secret=[A-Z2-7]+/);
      assert.match(setup.svg, /^<svg[\s\S]*<\/svg>\s*$/);
      // Not a second factor until confirmed with a code.
      assert.equal(await f.core.secondFactors.enrolled(alice.pk), false);
      const activated = await f.core.secondFactors.totpActivate(await tenant(), alice, await pyotpCode(uri, f.clock.now()));
      recovery = activated.recoveryCodes!;
      assert.equal(recovery.length, 10);
      assert.equal(new Set(recovery).size, 10);
      f.clock.advance(30_000);
    });
    after(async () => { await f?.close(); });

    it('keeps the seed sealed and the recovery codes only as hashes', async () => {
      const secret = new URL(uri).searchParams.get('secret')!;
      const rows = await f.store.read.authenticators.forUser(alice.pk);
      const stored = rows.map((r) => r.data).join('\n');
      assert.ok(!stored.includes(secret), 'the seed is not in the database');
      for (const code of recovery) assert.ok(!stored.includes(code) && !stored.includes(code.replace('-', '')), 'no recovery code in the database');
      assert.deepEqual(await f.core.secondFactors.recoveryCodes(alice), { total: 10, unused: 10 });
    });

    it('a password alone leaves the sign-in pending at mfa_authenticate; a pyotp code completes it, amr pwd+otp', async () => {
      const out = await passwordStart(f.core, 'alice');
      assert.equal(out.status, 'pending');
      if (out.status !== 'pending') return;
      assert.equal(out.step, 'mfa_authenticate');
      await rejectsWith(f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code: '000000' }), 'VALIDATION_FAILED', 'a wrong code');
      const code = await pyotpCode(uri, f.clock.now());
      const done = await f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code });
      assert.equal(done.status, 'completed');
      if (done.status !== 'completed') return;
      assert.deepEqual(done.amr, ['pwd', 'otp']);
      assert.equal(done.issued.kind, 'session');
      // The flow token was single use.
      await rejectsWith(f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code }), 'TOKEN_INVALID');

      // The same code again, in a new sign-in within its window: refused (replay).
      const again = await passwordStart(f.core, 'alice');
      assert.equal(again.status, 'pending');
      if (again.status !== 'pending') return;
      await rejectsWith(f.core.signIn.continue(again.flowToken, { step: 'mfa_authenticate', code }), 'VALIDATION_FAILED', 'a replayed code');
      // ... and so is the previous step's code, though it is inside the one-step tolerance.
      await rejectsWith(f.core.signIn.continue(again.flowToken, { step: 'mfa_authenticate', code: await pyotpCode(uri, f.clock.now() - 30_000) }), 'VALIDATION_FAILED', 'an older code of the window');
      // The next step's code works (one step of tolerance for a clock ahead).
      const ahead = await f.core.signIn.continue(again.flowToken, { step: 'mfa_authenticate', code: await pyotpCode(uri, f.clock.now() + 30_000) });
      assert.equal(ahead.status, 'completed');
      f.clock.advance(90_000);
    });

    it('codes outside the window and malformed codes are refused', async () => {
      const dave = await f.user('dave');
      const setup = await f.core.secondFactors.totpSetup(await tenant(), dave);
      await f.core.secondFactors.totpActivate(await tenant(), dave, await pyotpCode(setup.uri, f.clock.now()));
      const out = await passwordStart(f.core, 'dave');
      if (out.status !== 'pending') throw new Error('expected pending');
      const bad = [
        async () => pyotpCode(setup.uri, f.clock.now() - 120_000), async () => pyotpCode(setup.uri, f.clock.now() + 120_000),
        async () => '12345', async () => '1234567', async () => 'abcdef', async () => '', async () => ' '.repeat(100), async () => '٣٣٣٣٣٣',
      ];
      for (const make of bad) {
        f.clock.advance(40_000); // past the throttle's delay: each code is judged on its own
        const code = await make();
        await rejectsWith(f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code }), 'VALIDATION_FAILED', `code ${JSON.stringify(code)}`);
      }
    });

    it('the password-only sign-in (legacy APIs, HTTP Basic) refuses with the mfa_authenticate step and hands out nothing', async () => {
      const err = await rejectsWith(f.core.signIn.now({ tenant: undefined, issue: { kind: 'token_pair' }, factor: { method: 'password', by: 'username', identifier: 'alice', password: PASSWORD } }), 'SIGN_IN_PENDING');
      assert.equal(err.step, 'mfa_authenticate');
      const basic = await rejectsWith(f.core.signIn.now({ tenant: undefined, issue: { kind: 'request' }, factor: { method: 'password', by: 'username', identifier: 'alice', password: PASSWORD } }), 'SIGN_IN_PENDING');
      assert.equal(basic.step, 'mfa_authenticate');
    });

    it('wrong codes count in the account\'s failure throttle', async () => {
      const bob = await f.user('bob');
      const setup = await f.core.secondFactors.totpSetup(await tenant(), bob);
      await f.core.secondFactors.totpActivate(await tenant(), bob, await pyotpCode(setup.uri, f.clock.now()));
      f.clock.advance(30_000);
      const out = await passwordStart(f.core, 'bob');
      if (out.status !== 'pending') throw new Error('expected pending');
      const s = await f.core.settings.forTenant((await tenant()).pk);
      for (let i = 0; i < s.login_throttle_threshold; i++) {
        await rejectsWith(f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code: String(100000 + i) }), 'VALIDATION_FAILED');
      }
      // The throttle now makes the next attempt wait, the right code too (a guesser gets no more tries).
      const right = await pyotpCode(setup.uri, f.clock.now());
      const wait = await rejectsWith(f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code: right }), 'RATE_LIMITED');
      assert.ok(wait.retryAfter! >= 1);
      f.clock.advance(wait.retryAfter! * 1000);
      const done = await f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code: right });
      assert.equal(done.status, 'completed');
    });

    it('a recovery code signs in once, says how many are left; two parallel uses: one wins', async () => {
      const first = await passwordStart(f.core, 'alice');
      if (first.status !== 'pending') throw new Error('expected pending');
      const done = await f.core.signIn.continue(first.flowToken, { step: 'mfa_authenticate', code: recovery[0]!.toUpperCase().replace('-', ' ') });
      assert.equal(done.status, 'completed');
      if (done.status === 'completed') {
        assert.deepEqual(done.amr, ['pwd', 'rc']);
        assert.equal(done.recoveryCodesLeft, 9);
      }
      const again = await passwordStart(f.core, 'alice');
      if (again.status !== 'pending') throw new Error('expected pending');
      await rejectsWith(f.core.signIn.continue(again.flowToken, { step: 'mfa_authenticate', code: recovery[0]! }), 'VALIDATION_FAILED', 'a used recovery code');

      const a = await passwordStart(f.core, 'alice');
      const b = await passwordStart(f.core, 'alice');
      if (a.status !== 'pending' || b.status !== 'pending') throw new Error('expected pending');
      const results = await Promise.allSettled([
        f.core.signIn.continue(a.flowToken, { step: 'mfa_authenticate', code: recovery[1]! }),
        f.core.signIn.continue(b.flowToken, { step: 'mfa_authenticate', code: recovery[1]! }),
      ]);
      assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1, 'one recovery code, one sign-in');
      assert.deepEqual(await f.core.secondFactors.recoveryCodes(alice), { total: 10, unused: 8 });
    });

    it('regenerating recovery codes replaces them all', async () => {
      const fresh = await f.core.secondFactors.regenerateRecoveryCodes(await tenant(), alice);
      assert.equal(fresh.length, 10);
      assert.deepEqual(await f.core.secondFactors.recoveryCodes(alice), { total: 10, unused: 10 });
      const out = await passwordStart(f.core, 'alice');
      if (out.status !== 'pending') throw new Error('expected pending');
      await rejectsWith(f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code: recovery[5]! }), 'VALIDATION_FAILED', 'an old code');
      const done = await f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code: fresh[5]! });
      assert.equal(done.status, 'completed');
      recovery = fresh;
    });

    it('a trusted browser skips the second factor for this user only, until it expires', async () => {
      const { token } = await f.core.secondFactors.trustBrowser(await tenant(), alice, 1);
      const trusted = await passwordStart(f.core, 'alice', { trustToken: token });
      assert.equal(trusted.status, 'completed');
      if (trusted.status === 'completed') assert.deepEqual(trusted.amr, ['pwd']);
      // Another user's sign-in with alice's trust token still asks for its second factor.
      const bobs = await passwordStart(f.core, 'bob', { trustToken: token }).catch((e) => e);
      assert.ok(bobs.status === 'pending' || bobs.code === 'ACCOUNT_LOCKED');
      f.clock.advance(86_400_000 + 1);
      const expired = await passwordStart(f.core, 'alice', { trustToken: token });
      assert.equal(expired.status, 'pending');
    });

    it('reauthentication: a session may change factors within the window, then must prove itself again', async () => {
      const out = await passwordStart(f.core, 'alice');
      if (out.status !== 'pending') throw new Error('expected pending');
      const done = await f.core.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code: recovery[9]! });
      if (done.status !== 'completed' || done.issued.kind !== 'session') throw new Error('expected a session');
      const p = (await f.core.credentials.session(done.issued.session.cookie))!.principal;
      assert.deepEqual(p.amr, ['pwd', 'rc']);
      await f.core.reauthentication.require(p);
      f.clock.advance(301_000);
      const later = (await f.core.credentials.session(done.issued.session.cookie))!.principal;
      await rejectsWith(f.core.reauthentication.require(later), 'REAUTHENTICATION_REQUIRED');
      await rejectsWith(f.core.reauthentication.withPassword(later, 'wrong password'), 'VALIDATION_FAILED');
      await f.core.reauthentication.withPassword(later, PASSWORD);
      await f.core.reauthentication.require((await f.core.credentials.session(done.issued.session.cookie))!.principal);
      // A token (not a session) is never "recent": it cannot make such changes.
      const tokenPrincipal = { ...later, method: 'jwt' as const, sessionId: undefined, authenticatedAt: undefined };
      await rejectsWith(f.core.reauthentication.require(tokenPrincipal), 'REAUTHENTICATION_REQUIRED');
    });

    it('a tenant that requires a second factor: the password APIs refuse a user without one; a session may only enrol', async () => {
      const t = await f.core.tenants.create('strict', 'Strict');
      await f.user('root', { isSuperuser: true, isStaff: true });
      const root = (await f.login('root')).principal;
      await f.core.settings.set(root, t.pk, 'mfa_required', 'true');
      await f.core.users.create(OPERATOR, { username: 'carol', password: PASSWORD, tenant: 'strict' });
      const legacy = await rejectsWith(f.core.signIn.now({ tenant: 'strict', issue: { kind: 'token_pair' }, factor: { method: 'password', by: 'username', identifier: 'carol', password: PASSWORD } }), 'SIGN_IN_PENDING');
      assert.equal(legacy.step, 'mfa_enroll');
      const out = await f.core.signIn.start({ tenant: 'strict', continuable: true, issue: { kind: 'session', withTokens: true }, factor: { method: 'password', by: 'username', identifier: 'carol', password: PASSWORD } });
      assert.equal(out.status, 'completed');
      if (out.status !== 'completed' || out.issued.kind !== 'session') return;
      assert.equal(out.issued.tokens, undefined, 'no tokens for a sign-in that may only enrol');
      const p = (await f.core.credentials.session(out.issued.session.cookie))!.principal;
      assert.equal(p.mustEnrol, true);
      // Once enrolled, the same session acts in full.
      const setup = await f.core.secondFactors.totpSetup(p.tenant, p.user);
      await f.core.secondFactors.totpActivate(p.tenant, p.user, await pyotpCode(setup.uri, f.clock.now()));
      assert.equal((await f.core.credentials.session(out.issued.session.cookie))!.principal.mustEnrol, false);
    });
  });
}

for (const { engine, skip } of engines) {
  describe(`sealed TOTP seeds and key rotation [${engine.name}]`, { skip: skip || pyotpSkip }, () => {
    const A = 'first-secret-key-for-sealing-000000000000';
    const B = 'second-secret-key-for-sealing-11111111111';
    let f: CoreFixture;
    before(async () => { f = await startCore(engine, { secretBox: new SecretBox([A]) }); });
    after(async () => { await f?.close(); });

    const coreWith = (keys: string[]) => createCore({ store: f.store, publicUrl: PUBLIC_URL, clock: f.clock, hasher: fastHasher(), mailer: outboxMailerForTests(), secretBox: new SecretBox(keys) });

    it('keys rotate: [B, A] opens A\'s seeds, reseal moves them to B, then B alone signs in; a lost key fails closed', async () => {
      const erin = await f.user('erin');
      const tenant = await f.core.tenants.resolve(undefined);
      const setup = await f.core.secondFactors.totpSetup(tenant, erin);
      await f.core.secondFactors.totpActivate(tenant, erin, await pyotpCode(setup.uri, f.clock.now()));
      f.clock.advance(30_000);

      const onlyB = coreWith([B]);
      const pending = await passwordStart(onlyB, 'erin');
      if (pending.status !== 'pending') throw new Error('expected pending');
      // No configured key opens the seed: the second factor cannot be checked, and nothing gets through.
      await rejectsWith(onlyB.signIn.continue(pending.flowToken, { step: 'mfa_authenticate', code: await pyotpCode(setup.uri, f.clock.now()) }), 'UNAVAILABLE');

      const both = coreWith([B, A]);
      assert.deepEqual(await both.resealSecrets(), [{ kind: 'totp', total: 1, resealed: 1 }, { kind: 'identity_provider_secret', total: 0, resealed: 0 }]);
      assert.deepEqual(await both.resealSecrets(), [{ kind: 'totp', total: 1, resealed: 0 }, { kind: 'identity_provider_secret', total: 0, resealed: 0 }], 'a second run has nothing to do');
      f.clock.advance(30_000);
      const out = await passwordStart(onlyB, 'erin');
      if (out.status !== 'pending') throw new Error('expected pending');
      const done = await onlyB.signIn.continue(out.flowToken, { step: 'mfa_authenticate', code: await pyotpCode(setup.uri, f.clock.now()) });
      assert.equal(done.status, 'completed');
    });
  });
}
