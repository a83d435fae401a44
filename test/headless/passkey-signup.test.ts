// Signing up with a passkey alone through the headless API (auth/webauthn/signup), both clients,
// both engines, every answer checked against the served OpenAPI document. Passkeys are made by a
// software authenticator (soft-authenticator.ts; test/browser/passkey-signup.test.ts does it with
// Chromium's virtual authenticator).
//
// Threats: an abandoned sign-up or a bad credential leaves a half-made account behind; a PUT is
// replayed to make a second account (or a second passkey); a credential made for another
// challenge (another sign-up's, or options given before the latest) completes a sign-up; the
// passkey sign-up tells who has an account more than the password sign-up does; a tenant whose
// registration is closed gets accounts anyway; a sign-up begun in one tenant is finished in
// another (X-Tenant).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, PUBLIC_URL, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { smtpMailer } from '../../src/mail/transports.ts';
import { ManualClock } from '../../src/core/index.ts';
import { AppClient, BrowserClient, PW, SchemaCheck, flowIds, pendingFlow } from './support.ts';
import { SoftAuthenticator } from './soft-authenticator.ts';

for (const { engine, skip } of engines) {
  describe(`allauth headless API: sign-up by passkey [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let schemas: SchemaCheck;
    let smtp: SmtpSink;
    const clock = new ManualClock(Date.now());
    let n = 0;
    const app = (headers: Record<string, string> = {}) => new AppClient(t, schemas, headers);
    const browser = (headers: Record<string, string> = {}) => new BrowserClient(t, schemas, headers);
    const email = () => `pk${++n}@example.com`;
    const userNamed = async (name: string, tenant?: string) => (t.store.read.users.findByUsername((await t.core.tenants.resolve(tenant)).pk, name));
    const setting = async (tenantName: string, key: string, value: string) => {
      const tenant = await t.core.tenants.resolve(tenantName);
      await t.store.transaction((r) => r.settings.put(tenant.pk, key, value, clock.now()));
      t.core.settings.invalidate(tenant.pk);
    };
    /** POST, GET, then the passkey made for the options: the three calls of allauth's front-end. */
    const signUp = async (c: AppClient | BrowserClient, body: Record<string, unknown>, key = new SoftAuthenticator(PUBLIC_URL)) => {
      const start = await c.call({ method: 'POST', path: 'auth/webauthn/signup', body });
      assert.equal(start.statusCode, 401, start.body);
      assert.equal(pendingFlow(start.data), 'mfa_signup_webauthn');
      const opts = await c.call({ method: 'GET', path: 'auth/webauthn/signup' });
      assert.equal(opts.statusCode, 200, opts.body);
      const done = await c.call({ method: 'PUT', path: 'auth/webauthn/signup', body: { name: 'Phone', credential: key.create(opts.data.data.creation_options.publicKey) } });
      return { start, opts, done, key };
    };

    before(async () => {
      smtp = await startSmtpSink();
      t = await startApp(engine, { clock, mailer: smtpMailer(smtp.url) });
      schemas = await SchemaCheck.of(t);
      await t.core.tenants.create('acme', 'Acme');
      await t.core.tenants.create('closed', 'Closed');
      await setting('closed', 'registration_enabled', 'false');
      noteSecret(PW);
    });
    after(async () => {
      await t?.close();
      await smtp?.close();
      assert.ok(schemas.checked > 30, `answers checked against their schemas: ${schemas.checked}`);
    });

    it('config says passkeys sign in and sign up; the flows list mfa_login_webauthn', async () => {
      const c = app();
      const cfg = await c.call({ method: 'GET', path: 'config' });
      assert.equal(cfg.data.data.mfa.passkey_login_enabled, true);
      assert.equal(cfg.data.data.mfa.passkey_signup_enabled, true);
      assert.ok(cfg.data.data.mfa.supported_types.includes('webauthn'));
      const closed = await app({ 'x-tenant': 'closed' }).call({ method: 'GET', path: 'config' });
      assert.equal(closed.data.data.mfa.passkey_signup_enabled, false);
      const s = await c.call({ method: 'GET', path: 'auth/session' });
      assert.ok(flowIds(s.data).includes('mfa_login_webauthn'));
    });

    it('app client: POST -> pending mfa_signup_webauthn (no account yet), GET -> options for a resident, user-verifying passkey, PUT -> signed in with no password; the passkey then signs in alone', async () => {
      const c = app();
      const address = email();
      const start = await c.call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: address } });
      assert.equal(start.statusCode, 401);
      assert.equal(start.data.meta.is_authenticated, false);
      assert.match(start.data.meta.session_token, /^signup:/);
      assert.equal(await userNamed(address), undefined, 'no account before the passkey');
      const again = await c.call({ method: 'GET', path: 'auth/session' });
      assert.equal(again.statusCode, 401);
      assert.equal(pendingFlow(again.data), 'mfa_signup_webauthn');
      const opts = await c.call({ method: 'GET', path: 'auth/webauthn/signup' });
      assert.equal(opts.statusCode, 200);
      const pk = opts.data.data.creation_options.publicKey;
      assert.deepEqual(opts.data.data.request_options, opts.data.data.creation_options);
      assert.equal(pk.rp.id, new URL(PUBLIC_URL).hostname);
      assert.equal(pk.attestation, 'none');
      assert.equal(pk.authenticatorSelection.residentKey, 'required');
      assert.equal(pk.authenticatorSelection.requireResidentKey, true);
      assert.equal(pk.authenticatorSelection.userVerification, 'required');
      assert.equal(pk.user.name, address);
      const key = new SoftAuthenticator(PUBLIC_URL);
      const done = await c.call({ method: 'PUT', path: 'auth/webauthn/signup', body: { name: 'Phone', credential: key.create(pk) } });
      assert.equal(done.statusCode, 200, done.body);
      assert.deepEqual(done.data.data.methods, [{ method: 'mfa', type: 'webauthn', at: done.data.data.methods[0].at }]);
      assert.equal(done.data.data.user.has_usable_password, false);
      assert.equal(done.data.data.user.username, address);
      assert.equal(done.data.data.user.email, address);
      assert.ok(c.access && c.refresh && !c.token!.startsWith('signup:'));
      const me = await t.request({ method: 'GET', url: '/api/auth/user/', headers: { authorization: `Bearer ${c.access}` } });
      assert.equal(me.statusCode, 200);
      const list = await c.call({ method: 'GET', path: 'account/authenticators' });
      assert.equal(list.statusCode, 200);
      assert.deepEqual(list.data.data.map((a: any) => [a.type, a.name, a.is_passwordless]), [['webauthn', 'Phone', true]], 'no recovery codes at a passkey sign-up (as allauth)');
      // The passkey alone signs the new account in (its user handle is the sign-up's).
      const other = app();
      const login = await other.call({ method: 'GET', path: 'auth/webauthn/login' });
      const signedIn = await other.call({ method: 'POST', path: 'auth/webauthn/login', body: { credential: key.get(login.data.data.request_options.publicKey) } });
      assert.equal(signedIn.statusCode, 200, signedIn.body);
      assert.equal(signedIn.data.data.user.username, address);
      // No password signs in to it.
      const pw = await app().call({ method: 'POST', path: 'auth/login', body: { email: address, password: PW } });
      assert.equal(pw.statusCode, 400);
    });

    it('a replayed PUT is 409 and makes nothing more', async () => {
      const c = app();
      const address = email();
      const start = await c.call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: address, username: `u${n}` } });
      const flowToken = start.data.meta.session_token as string;
      const opts = await c.call({ method: 'GET', path: 'auth/webauthn/signup' });
      const body = { name: 'Key', credential: new SoftAuthenticator(PUBLIC_URL).create(opts.data.data.creation_options.publicKey) };
      assert.equal((await c.call({ method: 'PUT', path: 'auth/webauthn/signup', body })).statusCode, 200);
      const replay = app();
      replay.token = flowToken;
      const r = await replay.call({ method: 'PUT', path: 'auth/webauthn/signup', body });
      assert.equal(r.statusCode, 409, r.body);
      assert.equal(r.data.errors[0].code, 'conflict');
      assert.equal((await replay.call({ method: 'GET', path: 'auth/webauthn/signup' })).statusCode, 409);
      const user = await userNamed(`u${n}`);
      assert.ok(user);
      assert.equal((await t.core.secondFactors.list(user)).length, 1);
    });

    it('a credential for another challenge (another sign-up\'s, or options older than the latest) is 400, leaves no account, and the sign-up can still be finished', async () => {
      const a = app();
      const b = app();
      const aMail = email();
      await a.call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: aMail } });
      await b.call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: email() } });
      const aFirst = await a.call({ method: 'GET', path: 'auth/webauthn/signup' });
      const bOpts = await b.call({ method: 'GET', path: 'auth/webauthn/signup' });
      const key = new SoftAuthenticator(PUBLIC_URL);
      const crossed = await a.call({ method: 'PUT', path: 'auth/webauthn/signup', body: { name: 'Key', credential: key.create(bOpts.data.data.creation_options.publicKey) } });
      assert.equal(crossed.statusCode, 400, crossed.body);
      assert.equal(crossed.data.errors[0].param, 'credential');
      const aLatest = await a.call({ method: 'GET', path: 'auth/webauthn/signup' });
      const stale = await a.call({ method: 'PUT', path: 'auth/webauthn/signup', body: { name: 'Key', credential: key.create(aFirst.data.data.creation_options.publicKey) } });
      assert.equal(stale.statusCode, 400, 'only the latest options complete it');
      // Malformed, unverified user, another origin: 400 each, never a 500.
      const fresh = async () => (await a.call({ method: 'GET', path: 'auth/webauthn/signup' })).data.data.creation_options.publicKey;
      for (const credential of [{}, { response: { clientDataJSON: 'not json' } }, 'text', key.create(await fresh(), { userVerified: false }), key.create(await fresh(), { origin: 'https://evil.example' })]) {
        const r = await a.call({ method: 'PUT', path: 'auth/webauthn/signup', body: { name: 'Key', credential } });
        assert.equal(r.statusCode, 400, r.body);
      }
      assert.equal((await a.call({ method: 'PUT', path: 'auth/webauthn/signup', body: { name: '', credential: key.create(await fresh()) } })).statusCode, 400, 'a name is needed');
      assert.equal(await userNamed(aMail), undefined, 'no half-made account');
      void aLatest;
      const ok = await a.call({ method: 'PUT', path: 'auth/webauthn/signup', body: { name: 'Key', credential: key.create(await fresh()) } });
      assert.equal(ok.statusCode, 200, ok.body);
    });

    it('an abandoned sign-up leaves no account, and its flow expires', async () => {
      const c = app();
      const address = email();
      await c.call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: address } });
      await c.call({ method: 'GET', path: 'auth/webauthn/signup' });
      assert.equal(await userNamed(address), undefined);
      clock.advance(16 * 60_000);
      const late = await c.call({ method: 'GET', path: 'auth/webauthn/signup' });
      assert.equal(late.statusCode, 409);
      // The address is free for the next sign-up.
      assert.equal((await signUp(app(), { email: address })).done.statusCode, 200);
    });

    it('taken names and addresses: exactly what auth/signup answers, no more', async () => {
      const owner = `owner${++n}`;
      const taken = `${owner}@example.com`;
      const u = await t.createUser({ username: owner, password: PW, email: taken });
      await t.store.transaction(async (r) => {
        await r.emailAddresses.insert({ tenantPk: u.tenantPk, userPk: u.pk, email: taken, verified: true, primary: true, createdAt: clock.now() });
      });
      const cases: Array<Record<string, string>> = [{ email: taken }, { email: 'fresh' + taken, username: owner }, { email: 'not an address' }, { email: `${'a'.repeat(160)}@example.com` }, { email: email(), username: 'no spaces allowed' }, {}];
      for (const body of cases) {
        const byPassword = await app().call({ method: 'POST', path: 'auth/signup', body: { ...body, ...(body.email || body.username ? {} : { username: 'x' + n }), password: PW } });
        const byPasskey = await app().call({ method: 'POST', path: 'auth/webauthn/signup', body });
        assert.equal(byPasskey.statusCode, 400, `${JSON.stringify(body)}: ${byPasskey.body}`);
        if (Object.keys(body).length) {
          assert.equal(byPassword.statusCode, 400);
          assert.deepEqual(byPasskey.data.errors, byPassword.data.errors, JSON.stringify(body));
        } else assert.equal(byPasskey.data.errors[0].param, 'email', 'an address is required');
      }
      // An unverified address of another account is not refused (as auth/signup): it tells nothing.
      const unverified = email();
      await t.createUser({ username: `other${n}`, password: PW, email: unverified });
      assert.equal((await signUp(app(), { email: unverified, username: `mine${n}` })).done.statusCode, 200);
    });

    it('a closed registration is 403; a signed-in caller is 409; phone numbers are refused', async () => {
      const closed = await app({ 'x-tenant': 'closed' }).call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: email() } });
      assert.equal(closed.statusCode, 403);
      assert.equal(closed.data.errors[0].code, 'forbidden');
      const c = app();
      assert.equal((await signUp(c, { email: email() })).done.statusCode, 200);
      assert.equal((await c.call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: email() } })).statusCode, 409);
      assert.equal((await app().call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: email(), phone: '+15550100' } })).statusCode, 400);
      // Without a pending sign-up, GET and PUT are 409.
      assert.equal((await app().call({ method: 'GET', path: 'auth/webauthn/signup' })).statusCode, 409);
      assert.equal((await app().call({ method: 'PUT', path: 'auth/webauthn/signup', body: { credential: {} } })).statusCode, 409);
    });

    it('a sign-up begun in one tenant does not go on in another (X-Tenant); in its own it makes the account there', async () => {
      const c = app({ 'x-tenant': 'acme' });
      const address = email();
      await c.call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: address } });
      const opts = await c.call({ method: 'GET', path: 'auth/webauthn/signup' });
      const credential = new SoftAuthenticator(PUBLIC_URL).create(opts.data.data.creation_options.publicKey);
      const elsewhere = app();
      elsewhere.token = c.token;
      assert.equal((await elsewhere.call({ method: 'GET', path: 'auth/webauthn/signup' })).statusCode, 409);
      assert.equal((await elsewhere.call({ method: 'PUT', path: 'auth/webauthn/signup', body: { name: 'K', credential } })).statusCode, 409);
      assert.equal(await userNamed(address), undefined);
      const done = await c.call({ method: 'PUT', path: 'auth/webauthn/signup', body: { name: 'K', credential } });
      assert.equal(done.statusCode, 200, done.body);
      assert.ok(await userNamed(address, 'acme'));
      assert.equal(await userNamed(address), undefined);
    });

    it('browser client: the pending sign-up in the state cookie, CSRF checked, the session cookie at the end', async () => {
      const b = browser();
      await b.call({ method: 'GET', path: 'config' });
      const refused = await b.call({ method: 'POST', path: 'auth/webauthn/signup', body: { email: email() }, csrf: false });
      assert.equal(refused.statusCode, 403);
      const { start, done } = await signUp(b, { email: email() });
      assert.equal(start.data.meta.session_token, undefined);
      assert.equal(done.statusCode, 200, done.body);
      assert.ok(b.jar.get('sessionid'));
      assert.equal(b.jar.get('allauth_state'), undefined);
      assert.equal((await b.call({ method: 'GET', path: 'auth/session' })).statusCode, 200);
    });

    // Threat: passkey sign-ins are guessed or flooded without limit and unrecorded, as wrong
    // passwords are not. A bad or unknown credential is a failed sign-in: audited, and counted in
    // the address's limit (login_ip_limit, set to 25 here), which other addresses do not share.
    it('failed passwordless sign-ins (bad or unknown passkeys) are audited and counted per address: the 26th rapid one is 429; another address and the account are not locked out', async () => {
      await t.core.tenants.create('limits', 'Limits');
      await setting('limits', 'login_ip_limit', '25');
      const tenant = await t.core.tenants.resolve('limits');
      const owner = app({ 'x-tenant': 'limits' });
      const { key } = await signUp(owner, { email: email() });
      // The client's address as the server sees it (no TRUST_PROXY here).
      const attempt = async (ip: string, credential: (o: any) => unknown) => {
        const headers = { 'x-tenant': 'limits' };
        const opts = await t.request({ method: 'GET', url: '/_allauth/app/v1/auth/webauthn/login', headers, remoteAddress: ip });
        schemas.check('GET', '/_allauth/app/v1/auth/webauthn/login', opts);
        const res = await t.request({ method: 'POST', url: '/_allauth/app/v1/auth/webauthn/login', headers, remoteAddress: ip, payload: { credential: credential(opts.json().data.request_options.publicKey) } });
        schemas.check('POST', '/_allauth/app/v1/auth/webauthn/login', res);
        return res;
      };
      const stranger = new SoftAuthenticator(PUBLIC_URL);
      stranger.create({ rp: { id: new URL(PUBLIC_URL).hostname }, user: { id: 'bm9ib2R5' }, challenge: 'x' });
      assert.equal((await attempt('203.0.113.5', (o) => key.get(o))).statusCode, 200, 'the passkey signs in (its counter is 1 now)');
      for (let i = 0; i < 25; i++) {
        // Unknown passkeys, and the owner's passkey with a counter that goes back.
        const r = await attempt('192.0.2.44', i % 2 ? (o) => stranger.get(o) : (o) => key.get(o, { counter: 0 }));
        assert.equal(r.statusCode, 400, r.body);
        assert.equal(r.json().errors[0].code, 'email_password_mismatch');
      }
      const blocked = await attempt('192.0.2.44', (o) => key.get(o));
      assert.equal(blocked.statusCode, 429, blocked.body);
      assert.equal(blocked.json().errors[0].code, 'too_many_requests');
      assert.ok(Number(blocked.headers['retry-after']) > 0);
      // Another address signs in with the owner's passkey at once: nobody is locked out.
      const ok = await attempt('198.51.100.7', (o) => key.get(o, { counter: 2 }));
      assert.equal(ok.statusCode, 200, ok.body);
      const audit = await t.store.read.audit.list({ tenantPk: tenant.pk, type: 'sign_in.failed' }, { offset: 0, limit: 100 });
      assert.equal(audit.items.filter((a) => JSON.parse(a.detail).method === 'webauthn').length, 25);
      // The address heals within the minute.
      clock.advance(61_000);
      assert.equal((await attempt('192.0.2.44', (o) => key.get(o, { counter: 3 }))).statusCode, 200);
    });

    it('a tenant that wants addresses verified: PUT makes the account and answers verify_email pending; the mailed key signs in', async () => {
      await t.core.tenants.create('verified', 'Verified');
      await setting('verified', 'email_verification_mandatory', 'true');
      const c = app({ 'x-tenant': 'verified' });
      const address = email();
      const before = smtp.messages.filter((m) => m.to.includes(address)).length;
      const { done } = await signUp(c, { email: address });
      assert.equal(done.statusCode, 401, done.body);
      assert.equal(pendingFlow(done.data), 'verify_email');
      const key = decodeURIComponent(/[?&]key=([^&\s"<]+)/.exec((await smtp.next(address, before)).text)![1]!);
      const ok = await c.call({ method: 'POST', path: 'auth/email/verify', body: { key } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.data.data.user.username, address);
      assert.ok(c.access);
    });
  });
}
