// The django-allauth headless API, both clients, on both engines, as allauth's front-ends drive
// it; every answer is checked against its route's schema in the served OpenAPI document.
//
// Threats: a stolen password signs in without the second factor (here or through any other
// dialect); a TOTP code seen over a shoulder is used again; codes are guessed; one recovery code
// is spent twice; a session token of one tenant is used in another; a page of another site makes
// the browser sign in or out (CSRF); a stolen session changes the second factor without proving
// itself again; an e-mailed sign-in code is guessed or used twice.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { startSmtpSink, type SmtpSink } from '../helpers/smtp-sink.ts';
import { smtpMailer } from '../../src/mail/transports.ts';
import { ManualClock } from '../../src/core/index.ts';
import { AppClient, BrowserClient, PW, SchemaCheck, flowIds, pendingFlow, pyotpCode, pyotpSkip } from './support.ts';

const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });

for (const { engine, skip } of engines) {
  describe(`allauth headless API [${engine.name}]`, { skip: skip || pyotpSkip }, () => {
    let t: TestApp;
    let schemas: SchemaCheck;
    let smtp: SmtpSink;
    const clock = new ManualClock(Date.now());
    let n = 0;
    const app = (headers: Record<string, string> = {}) => new AppClient(t, schemas, headers);
    const browser = (headers: Record<string, string> = {}) => new BrowserClient(t, schemas, headers);
    const newUser = async (tenant?: string) => {
      const name = `user${++n}`;
      const user = await t.createUser({ username: name, password: PW, email: `${name}@example.com`, tenant });
      return { name, user, email: `${name}@example.com` };
    };
    const login = (c: AppClient | BrowserClient, username: string, password = PW) => c.call({ method: 'POST', path: 'auth/login', body: { username, password } });
    /** Enrols TOTP through the API; answers the otpauth URI. */
    const enrolTotp = async (c: AppClient | BrowserClient) => {
      const setup = await c.call({ method: 'GET', path: 'account/authenticators/totp' });
      assert.equal(setup.statusCode, 404);
      assert.match(setup.data.meta.totp_url, /^otpauth:\/\/totp\/.+secret=[A-Z2-7]+/);
      assert.match(setup.data.meta.totp_svg, /^<svg[\s\S]*<\/svg>\s*$/);
      assert.equal(new URL(setup.data.meta.totp_url).searchParams.get('secret'), setup.data.meta.secret);
      const on = await c.call({ method: 'POST', path: 'account/authenticators/totp', body: { code: await pyotpCode(setup.data.meta.totp_url, clock.now()) } });
      assert.equal(on.statusCode, 200, on.body);
      assert.equal(on.data.data.type, 'totp');
      clock.advance(30_000); // the next code of the app is a new one
      return setup.data.meta.totp_url as string;
    };

    before(async () => {
      noteSecret(PW);
      smtp = await startSmtpSink();
      t = await startApp(engine, { clock, mailer: smtpMailer(smtp.url) });
      schemas = await SchemaCheck.of(t);
      await t.core.tenants.create('acme', 'Acme');
    });
    after(async () => {
      await t?.close();
      await smtp?.close();
      assert.ok(schemas.checked > 50, `answers checked against their schemas: ${schemas.checked}`);
    });

    it('config says what is on, and an unauthenticated session lists the flows', async () => {
      const c = app();
      const cfg = await c.call({ method: 'GET', path: 'config' });
      assert.equal(cfg.statusCode, 200);
      assert.deepEqual(cfg.data.data.mfa.supported_types.slice(0, 2), ['recovery_codes', 'totp']);
      assert.equal(cfg.data.data.account.login_by_code_enabled, true);
      assert.deepEqual(cfg.data.data.socialaccount.providers, []);
      const s = await c.call({ method: 'GET', path: 'auth/session' });
      assert.equal(s.statusCode, 401);
      assert.equal(s.data.meta.is_authenticated, false);
      assert.ok(flowIds(s.data).includes('login') && flowIds(s.data).includes('signup'));
      // The checker itself refuses what the specification does not allow.
      assert.equal(schemas.accepts('GET', '/_allauth/app/v1/auth/session', 200, { status: 200, data: { user: { id: 1 }, methods: [{ method: 'password' }] }, meta: { is_authenticated: true } }), false);
      assert.equal(schemas.accepts('GET', '/_allauth/app/v1/auth/session', 401, { status: 401, data: { flows: [{ id: 'mfa_trust' }] }, meta: { is_authenticated: false } }), false);
      assert.equal(schemas.accepts('GET', '/_allauth/app/v1/auth/session', 401, s.data), true);
      // The browser client gets its CSRF cookie from its first GET.
      const b = browser();
      await b.call({ method: 'GET', path: 'config' });
      assert.ok(b.jar.get('csrftoken'));
    });

    it('app client: password login gives a session token and access/refresh tokens; refresh rotates; logout makes the token 410', async () => {
      const { name } = await newUser();
      const c = app();
      const r = await login(c, name);
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.data.data.methods.map((m: any) => m.method), ['password']);
      assert.ok(c.token && c.access && c.refresh);
      // The access token works on the other APIs.
      const me = await t.request({ method: 'GET', url: '/api/auth/user/', headers: { authorization: `Bearer ${c.access}` } });
      assert.equal(me.statusCode, 200);
      assert.equal((await c.call({ method: 'GET', path: 'auth/session' })).statusCode, 200);
      assert.equal((await login(c, name)).statusCode, 409, 'already signed in');
      const old = c.refresh!;
      const fresh = await c.call({ method: 'POST', path: 'tokens/refresh', body: { refresh_token: old } });
      assert.equal(fresh.statusCode, 200);
      assert.notEqual(fresh.data.data.refresh_token, old);
      const again = await c.call({ method: 'POST', path: 'tokens/refresh', body: { refresh_token: old } });
      assert.equal(again.statusCode, 400);
      assert.equal(again.data.errors[0].param, 'refresh_token');
      const out = await c.call({ method: 'DELETE', path: 'auth/session' });
      assert.equal(out.statusCode, 401);
      // Signing out ends the tokens that came with the session too.
      const afterOut = await c.call({ method: 'POST', path: 'tokens/refresh', body: { refresh_token: fresh.data.data.refresh_token } });
      assert.equal(afterOut.statusCode, 400);
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: { authorization: `Bearer ${fresh.data.data.access_token}` } })).statusCode, 401);
      // A session token whose family part names another user's family ends only its own session.
      const victim = app();
      await login(victim, (await newUser()).name);
      const attacker = app();
      await login(attacker, (await newUser()).name);
      attacker.token = `${attacker.token!.split('~')[0]}~${victim.token!.split('~')[1]}`;
      assert.equal((await attacker.call({ method: 'DELETE', path: 'auth/session' })).statusCode, 401);
      assert.equal((await victim.call({ method: 'POST', path: 'tokens/refresh', body: { refresh_token: victim.refresh } })).statusCode, 200);
      c.token = r.data.meta.session_token;
      const gone = await c.call({ method: 'GET', path: 'auth/session' });
      assert.equal(gone.statusCode, 410);
      assert.equal(gone.data.meta.is_authenticated, false);
      // A made-up token, or a flow token that does not stand, is 410 too.
      for (const token of ['nope.nope', 'flow:abc']) {
        c.token = token;
        assert.equal((await c.call({ method: 'GET', path: 'auth/session' })).statusCode, 410);
      }
      const wrong = await login(app(), name, 'wrong-password-1');
      assert.equal(wrong.statusCode, 400);
      assert.equal(wrong.data.errors[0].code, 'email_password_mismatch');
    });

    it('TOTP: enrolment, then login -> mfa_authenticate -> 2fa/authenticate with a pyotp code; a replayed code and a used recovery code are refused', async () => {
      const { name } = await newUser();
      const c = app();
      await login(c, name);
      const uri = await enrolTotp(c);
      const rc = await c.call({ method: 'GET', path: 'account/authenticators/recovery-codes' });
      assert.equal(rc.statusCode, 200);
      assert.equal(rc.data.data.total_code_count, 10);
      const codes: string[] = rc.data.data.unused_codes;
      assert.equal(codes.length, 10, 'shown right after they were made');
      const list = await c.call({ method: 'GET', path: 'account/authenticators' });
      assert.deepEqual(list.data.data.map((a: any) => a.type).sort(), ['recovery_codes', 'totp']);

      const d = app();
      const first = await login(d, name);
      assert.equal(first.statusCode, 401);
      assert.equal(pendingFlow(first.data), 'mfa_authenticate');
      assert.deepEqual(first.data.data.flows.find((f: any) => f.id === 'mfa_authenticate').types.sort(), ['recovery_codes', 'totp']);
      assert.match(d.token!, /^flow:/);
      assert.equal(first.data.meta.access_token, undefined, 'no token before the second factor');
      const still = await d.call({ method: 'GET', path: 'auth/session' });
      assert.equal(still.statusCode, 401);
      assert.equal(pendingFlow(still.data), 'mfa_authenticate');
      const bad = await d.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: '000000' } });
      assert.equal(bad.statusCode, 400);
      assert.deepEqual(bad.data.errors[0], { message: 'Incorrect code.', code: 'incorrect_code', param: 'code' });
      const code = await pyotpCode(uri, clock.now());
      const ok = await d.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.data.data.methods.map((m: any) => [m.method, m.type]), [['password', undefined], ['mfa', 'totp']]);
      assert.ok(ok.data.meta.access_token && ok.data.meta.session_token && !ok.data.meta.session_token.startsWith('flow:'));
      // The same code again, in another sign-in within its window: refused.
      const e = app();
      await login(e, name);
      const replay = await e.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code } });
      assert.equal(replay.statusCode, 400);
      // A recovery code signs in once.
      const byRc = await e.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: codes[0] } });
      assert.equal(byRc.statusCode, 200, byRc.body);
      assert.deepEqual(byRc.data.data.methods.at(-1).type, 'recovery_codes');
      const f = app();
      await login(f, name);
      const twice = await f.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: codes[0] } });
      assert.equal(twice.statusCode, 400);
      // The recovery codes, later: counts only (the codes are not readable any more).
      clock.advance(6 * 60_000);
      const r2 = await app().call({ method: 'GET', path: 'auth/session' });
      assert.equal(r2.statusCode, 401);
    });

    it('wrong second-factor codes count in the account throttle', async () => {
      const { name } = await newUser();
      const c = app();
      await login(c, name);
      const uri = await enrolTotp(c);
      const d = app();
      assert.equal((await login(d, name)).statusCode, 401);
      // The tenant's login_throttle_threshold (5): after five wrong codes the next attempt must wait.
      for (let i = 0; i < 5; i++) assert.equal((await d.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: String(100000 + i) } })).statusCode, 400);
      const right = await d.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: await pyotpCode(uri, clock.now()) } });
      assert.equal(right.statusCode, 429, right.body);
      assert.ok(Number(right.headers['retry-after']) >= 1);
      // ... and so must the password: one count per account, whatever the factor.
      assert.equal((await login(app(), name)).statusCode, 429);
      clock.advance(2_000);
      const later = await d.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: await pyotpCode(uri, clock.now()) } });
      assert.equal(later.statusCode, 200, later.body);
    });

    it('a session token of another tenant is refused (410), and a flow token too', async () => {
      const { name } = await newUser('acme');
      const c = app({ 'x-tenant': 'acme' });
      assert.equal((await login(c, name)).statusCode, 200);
      assert.equal((await c.call({ method: 'GET', path: 'auth/session' })).statusCode, 200);
      const other = app();
      other.token = c.token;
      assert.equal((await other.call({ method: 'GET', path: 'auth/session' })).statusCode, 410);
      const def = await newUser();
      const d = app();
      await login(d, def.name);
      const cross = app({ 'x-tenant': 'acme' });
      cross.token = d.token;
      assert.equal((await cross.call({ method: 'GET', path: 'account/email' })).statusCode, 410);
      // The default tenant's user does not sign in to acme.
      assert.equal((await login(app({ 'x-tenant': 'acme' }), def.name)).statusCode, 400);
    });

    it('browser client: CSRF is required for every unsafe request, signed in or not; the pending flow lives in a cookie', async () => {
      const { name } = await newUser();
      const setup = app();
      await login(setup, name);
      const uri = await enrolTotp(setup);
      const b = browser();
      await b.call({ method: 'GET', path: 'auth/session' });
      const forged = await b.call({ method: 'POST', path: 'auth/login', body: { username: name, password: PW }, csrf: false });
      assert.equal(forged.statusCode, 403);
      const fromElsewhere = await b.call({ method: 'POST', path: 'auth/login', body: { username: name, password: PW }, headers: { origin: 'https://evil.example' } });
      assert.equal(fromElsewhere.statusCode, 403);
      const first = await login(b, name);
      assert.equal(first.statusCode, 401);
      assert.equal(first.data.meta.session_token, undefined, 'browsers get no session token');
      assert.ok(b.jar.get('allauth_state'));
      const ok = await b.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: await pyotpCode(uri, clock.now()) } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.ok(b.jar.get('sessionid'));
      assert.equal(ok.data.meta.access_token, undefined);
      const trust = await b.call({ method: 'POST', path: 'auth/2fa/trust', body: { trust: true } });
      assert.equal(trust.statusCode, 200);
      assert.ok(b.jar.get('allauth_trust'));
      // Signing out needs the token too.
      const forgedOut = await b.call({ method: 'DELETE', path: 'auth/session', csrf: false });
      assert.equal(forgedOut.statusCode, 403);
      assert.equal((await b.call({ method: 'GET', path: 'auth/session' })).statusCode, 200);
      assert.equal((await b.call({ method: 'DELETE', path: 'auth/session' })).statusCode, 401);
      assert.equal((await b.call({ method: 'GET', path: 'auth/session' })).statusCode, 401);
      // The trusted browser signs in with the password alone; another browser does not.
      b.jar.set('csrftoken', 'fresh-token-1');
      assert.equal((await login(b, name)).statusCode, 200);
      const other = browser();
      await other.call({ method: 'GET', path: 'config' });
      assert.equal((await login(other, name)).statusCode, 401);
    });

    it('reauthentication guards authenticator, e-mail and password changes (401 with reauthenticate and mfa_reauthenticate)', async () => {
      const { name } = await newUser();
      const c = app();
      await login(c, name);
      const uri = await enrolTotp(c);
      clock.advance(301_000);
      for (const call of [
        { method: 'POST' as const, path: 'account/authenticators/recovery-codes' },
        { method: 'DELETE' as const, path: 'account/authenticators/totp' },
        { method: 'POST' as const, path: 'account/email', body: { email: 'new@example.com' } },
        { method: 'POST' as const, path: 'account/password/change', body: { current_password: PW, new_password: 'another-passphrase-7' } },
      ]) {
        const r = await c.call(call);
        assert.equal(r.statusCode, 401, `${call.method} ${call.path}`);
        assert.equal(r.data.meta.is_authenticated, true);
        assert.deepEqual(flowIds(r.data), ['reauthenticate', 'mfa_reauthenticate']);
      }
      const wrong = await c.call({ method: 'POST', path: 'auth/reauthenticate', body: { password: 'not-it-at-all' } });
      assert.equal(wrong.statusCode, 400);
      assert.equal(wrong.data.errors[0].code, 'incorrect_password');
      const again = await c.call({ method: 'POST', path: 'auth/2fa/reauthenticate', body: { code: await pyotpCode(uri, clock.now()) } });
      assert.equal(again.statusCode, 200, again.body);
      const regen = await c.call({ method: 'POST', path: 'account/authenticators/recovery-codes' });
      assert.equal(regen.statusCode, 200);
      assert.equal(regen.data.data.unused_codes.length, 10);
      clock.advance(301_000);
      assert.equal((await c.call({ method: 'POST', path: 'auth/reauthenticate', body: { password: PW } })).statusCode, 200);
      const added = await c.call({ method: 'POST', path: 'account/email', body: { email: `${name}-2@example.com` } });
      assert.equal(added.statusCode, 200);
      assert.equal(added.data.data.length, 2);
      const changed = await c.call({ method: 'POST', path: 'account/password/change', body: { current_password: PW, new_password: 'another-passphrase-7' } });
      assert.equal(changed.statusCode, 200, changed.body);
      assert.equal((await c.call({ method: 'GET', path: 'auth/session' })).statusCode, 200, 'this session stays signed in');
      assert.equal((await c.call({ method: 'DELETE', path: 'account/authenticators/totp' })).statusCode, 200);
      assert.deepEqual((await c.call({ method: 'GET', path: 'account/authenticators' })).data.data, []);
    });

    it('a stolen password alone gets nothing from any dialect once TOTP is enrolled through the headless API', async () => {
      const { name, user } = await newUser();
      const c = app();
      await login(c, name);
      await enrolTotp(c);
      await c.call({ method: 'DELETE', path: 'auth/session' });
      const says = (b: any) => JSON.stringify(b).includes('mfa_required');
      const v1 = await t.request({ method: 'POST', url: '/api/token/', payload: { username: name, password: PW } });
      assert.ok(v1.statusCode >= 400 && says(v1.json()), `v1 ${v1.body}`);
      const restAuth = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: PW } });
      assert.ok(restAuth.statusCode >= 400 && says(restAuth.json()) && !restAuth.headers['set-cookie'], `REST-auth ${restAuth.body}`);
      const oauth = await t.request({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ grant_type: 'password', username: name, password: PW }).toString() });
      assert.ok(oauth.statusCode >= 400 && says(oauth.json()), `OAuth2 ${oauth.body}`);
      const basicAuth = await t.request({ method: 'GET', url: '/api/auth/user/', headers: basic(name, PW) });
      assert.ok(basicAuth.statusCode >= 400 && says(basicAuth.json()), `Basic ${basicAuth.body}`);
      const headless = await login(app(), name);
      assert.equal(headless.statusCode, 401);
      assert.equal(headless.data.meta.access_token, undefined);
      const sessions = await t.store.db.selectFrom('sessions').select('id').where('user_pk', '=', user.pk).execute();
      assert.equal(sessions.length, 0, 'no session was opened by the password');
    });

    it('login by code: the e-mailed code signs in once; wrong codes are refused; a second factor still follows', async () => {
      const { name, email } = await newUser();
      const c = app();
      const before = smtp.messages.filter((m) => m.to.includes(email)).length;
      const req = await c.call({ method: 'POST', path: 'auth/code/request', body: { email } });
      assert.equal(req.statusCode, 401);
      assert.equal(pendingFlow(req.data), 'login_by_code');
      const mail = await smtp.next(email, before);
      const code = /sign-in code is ([A-Z0-9]{6})/.exec(mail.text)![1]!;
      const bad = await c.call({ method: 'POST', path: 'auth/code/confirm', body: { code: 'AAAAAA' } });
      assert.equal(bad.statusCode, 400);
      assert.equal(bad.data.errors[0].code, 'incorrect_code');
      const ok = await c.call({ method: 'POST', path: 'auth/code/confirm', body: { code: code.toLowerCase() } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.deepEqual(ok.data.data.methods, [{ method: 'code', at: ok.data.data.methods[0].at, email }]);
      const reuse = app();
      reuse.token = req.data.meta.session_token;
      const again = await reuse.call({ method: 'POST', path: 'auth/code/confirm', body: { code } });
      assert.ok([400, 409].includes(again.statusCode), again.body);
      assert.notEqual(again.statusCode, 200);
      // An unknown address gets the same answer, and no code works for it.
      const ghost = app();
      const g = await ghost.call({ method: 'POST', path: 'auth/code/request', body: { email: 'nobody@example.com' } });
      assert.equal(g.statusCode, 401);
      assert.equal((await ghost.call({ method: 'POST', path: 'auth/code/confirm', body: { code } })).statusCode, 400);
      // Three wrong codes end the request: the right one no longer works.
      clock.advance(400_000); // one code e-mail per address in a rolling 3 minutes (verification_email_limit)
      const d = app();
      const n0 = smtp.messages.filter((m) => m.to.includes(email)).length;
      assert.equal((await d.call({ method: 'POST', path: 'auth/code/request', body: { email } })).statusCode, 401);
      const tooSoon = await app().call({ method: 'POST', path: 'auth/code/request', body: { email } });
      assert.equal(tooSoon.statusCode, 429);
      const code2 = /sign-in code is ([A-Z0-9]{6})/.exec((await smtp.next(email, n0)).text)![1]!;
      for (const w of ['BBBBBB', 'CCCCCC', 'DDDDDD']) await d.call({ method: 'POST', path: 'auth/code/confirm', body: { code: w } });
      assert.equal((await d.call({ method: 'POST', path: 'auth/code/confirm', body: { code: code2 } })).statusCode, 400);
      // With TOTP, the code is the first step only.
      const e = app();
      await login(e, name);
      const uri = await enrolTotp(e);
      clock.advance(400_000);
      const f = app();
      const n1 = smtp.messages.filter((m) => m.to.includes(email)).length;
      await f.call({ method: 'POST', path: 'auth/code/request', body: { email } });
      const code3 = /sign-in code is ([A-Z0-9]{6})/.exec((await smtp.next(email, n1)).text)![1]!;
      const step = await f.call({ method: 'POST', path: 'auth/code/confirm', body: { code: code3 } });
      assert.equal(step.statusCode, 401);
      assert.equal(pendingFlow(step.data), 'mfa_authenticate');
      const done = await f.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: await pyotpCode(uri, clock.now()) } });
      assert.equal(done.statusCode, 200, done.body);
      assert.deepEqual(done.data.data.methods.map((m: any) => m.method), ['code', 'mfa']);
    });

    it('a tenant that makes verified addresses mandatory: signup waits on verify_email, the mailed key completes it', async () => {
      await t.core.tenants.create('verified', 'Verified');
      const tenant = await t.core.tenants.resolve('verified');
      await t.store.transaction((r) => r.settings.put(tenant.pk, 'email_verification_mandatory', 'true', clock.now()));
      t.core.settings.invalidate(tenant.pk);
      const c = app({ 'x-tenant': 'verified' });
      const email = `v${++n}@example.com`;
      const before = smtp.messages.filter((m) => m.to.includes(email)).length;
      const up = await c.call({ method: 'POST', path: 'auth/signup', body: { email, password: PW } });
      assert.equal(up.statusCode, 401, up.body);
      assert.equal(pendingFlow(up.data), 'verify_email');
      const key = decodeURIComponent(/[?&]key=([^&\s"<]+)/.exec((await smtp.next(email, before)).text)![1]!);
      const info = await c.call({ method: 'GET', path: 'auth/email/verify', headers: { 'x-email-verification-key': key } });
      assert.equal(info.data.meta.is_authenticating, true);
      assert.equal((await login(app({ 'x-tenant': 'verified' }), email)).statusCode, 401, 'the password alone waits on the address too');
      const done = await c.call({ method: 'POST', path: 'auth/email/verify', body: { key } });
      assert.equal(done.statusCode, 200, done.body);
      assert.equal(done.data.data.user.username, email);
      assert.ok(c.access);
    });

    it('login by code: a resend voids the earlier code, a code expires after five minutes, wrong codes count in the account throttle', async () => {
      const { name, email } = await newUser();
      const codeOf = async (after: number) => /sign-in code is ([A-Z0-9]{6})/.exec((await smtp.next(email, after)).text)![1]!;
      const count = () => smtp.messages.filter((m) => m.to.includes(email)).length;
      clock.advance(400_000);
      const c = app();
      let k = count();
      await c.call({ method: 'POST', path: 'auth/code/request', body: { email } });
      const first = await codeOf(k);
      clock.advance(200_000);
      k = count();
      assert.equal((await c.call({ method: 'POST', path: 'auth/code/resend' })).statusCode, 200);
      const second = await codeOf(k);
      if (first !== second) assert.equal((await c.call({ method: 'POST', path: 'auth/code/confirm', body: { code: first } })).statusCode, 400, 'the earlier code no longer works');
      assert.equal((await c.call({ method: 'POST', path: 'auth/code/confirm', body: { code: second } })).statusCode, 200);
      // Expired: five minutes after the request.
      clock.advance(400_000);
      const d = app();
      k = count();
      await d.call({ method: 'POST', path: 'auth/code/request', body: { email } });
      const late = await codeOf(k);
      clock.advance(301_000);
      assert.equal((await d.call({ method: 'POST', path: 'auth/code/confirm', body: { code: late } })).statusCode, 400);
      // Two requests' wrong codes (3 + 3) pass the throttle's threshold (5): the password must wait too.
      for (let i = 0; i < 2; i++) {
        clock.advance(400_000);
        const e = app();
        k = count();
        await e.call({ method: 'POST', path: 'auth/code/request', body: { email } });
        await codeOf(k); // the request is stored with its mail, after the answer
        for (const w of ['EEEEEE', 'FFFFFF', 'GGGGGG']) await e.call({ method: 'POST', path: 'auth/code/confirm', body: { code: w } });
      }
      assert.equal((await login(app(), name)).statusCode, 429);
    });

    it('a tenant that requires a second factor: the password signs in for enrolment only (no tokens), then TOTP is set up', async () => {
      await t.core.tenants.create('strict', 'Strict');
      const tenant = await t.core.tenants.resolve('strict');
      await t.store.transaction((r) => r.settings.put(tenant.pk, 'mfa_required', 'true', clock.now()));
      t.core.settings.invalidate(tenant.pk);
      const { name } = await newUser('strict');
      const c = app({ 'x-tenant': 'strict' });
      const r = await login(c, name);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.data.meta.access_token, undefined, 'no tokens before a second factor exists');
      assert.equal((await c.call({ method: 'GET', path: 'account/email' })).statusCode, 403);
      assert.equal((await c.call({ method: 'GET', path: 'auth/session' })).statusCode, 200);
      const uri = await enrolTotp(c);
      const d = app({ 'x-tenant': 'strict' });
      assert.equal((await login(d, name)).statusCode, 401);
      const ok = await d.call({ method: 'POST', path: 'auth/2fa/authenticate', body: { code: await pyotpCode(uri, clock.now()) } });
      assert.equal(ok.statusCode, 200);
      assert.ok(ok.data.meta.access_token);
      assert.equal((await d.call({ method: 'GET', path: 'account/email' })).statusCode, 200);
    });

    it('signup, e-mail verification (GET the key, POST it), sessions list and end', async () => {
      const c = app();
      const email = `new${++n}@example.com`;
      const before = smtp.messages.filter((m) => m.to.includes(email)).length;
      const up = await c.call({ method: 'POST', path: 'auth/signup', body: { username: `new${n}`, email, password: PW } });
      assert.equal(up.statusCode, 200, up.body);
      const mail = await smtp.next(email, before);
      const key = /[?&]key=([^&\s"<]+)/.exec(mail.text)![1]!;
      const info = await c.call({ method: 'GET', path: 'auth/email/verify', headers: { 'x-email-verification-key': decodeURIComponent(key) } });
      assert.equal(info.statusCode, 200);
      assert.equal(info.data.data.email, email);
      const verified = await c.call({ method: 'POST', path: 'auth/email/verify', body: { key: decodeURIComponent(key) } });
      assert.equal(verified.statusCode, 200);
      const again = await c.call({ method: 'POST', path: 'auth/email/verify', body: { key: decodeURIComponent(key) } });
      assert.equal(again.statusCode, 400);
      assert.deepEqual((await c.call({ method: 'GET', path: 'account/email' })).data.data, [{ email, primary: true, verified: true }]);
      const d = app();
      await login(d, `new${n}`);
      const list = await c.call({ method: 'GET', path: 'auth/sessions' });
      assert.equal(list.data.data.length, 2);
      const otherId = list.data.data.find((s: any) => !s.is_current).id;
      const ended = await c.call({ method: 'DELETE', path: 'auth/sessions', body: { sessions: [otherId] } });
      assert.equal(ended.statusCode, 200);
      assert.equal(ended.data.data.length, 1);
      assert.equal((await d.call({ method: 'GET', path: 'auth/session' })).statusCode, 410);
      const bad = await c.call({ method: 'POST', path: 'auth/signup', body: { username: 'x', password: PW } });
      assert.equal(bad.statusCode, 409, 'signed in already');
      const invalid = await app().call({ method: 'POST', path: 'auth/signup', body: { username: `new${n}`, email: 'not-an-address', password: PW } });
      assert.equal(invalid.statusCode, 400);
      assert.ok(invalid.data.errors.some((e: any) => e.param === 'email'));
      const malformed = await app().call({ method: 'POST', path: 'auth/login', body: { username: 5, password: PW } });
      assert.equal(malformed.statusCode, 400);
    });
  });
}
