// The REST-auth API (seed 001) end to end, with a real SMTP server receiving the e-mails and the
// tests following their links.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { startSmtpSink, linkParam, type SmtpSink } from '../helpers/smtp-sink.ts';
import { smtpMailer } from '../../src/mail/transports.ts';
import { ManualClock, OPERATOR } from '../../src/core/index.ts';

const PW = 'a-long-passphrase-1';
const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
const token = (k: string) => ({ authorization: `Token ${k}` });

for (const { engine, skip } of engines) {
  describe(`REST-auth API [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let smtp: SmtpSink;
    let n = 0;
    const uniq = () => `u${++n}x${Date.now() % 100000}`;
    const setting = async (key: string, value: string) => {
      const tenant = await t.core.tenants.resolve(undefined);
      await t.store.read.settings.put(tenant.pk, key, value, Date.now());
      t.core.settings.invalidate(tenant.pk);
    };
    const register = async (name: string, email = `${name}@example.com`, extra: Record<string, unknown> = {}) =>
      t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: name, email, password1: PW, password2: PW, ...extra } });

    before(async () => {
      smtp = await startSmtpSink();
      t = await startApp(engine, { mailer: smtpMailer(smtp.url) });
    });
    after(async () => {
      await t?.close();
      await smtp?.close();
    });

    it('registers (201 with a token key), e-mails a verification link, and verifies with its key', async () => {
      const name = uniq();
      const r = await register(name);
      assert.equal(r.statusCode, 201);
      const { key } = r.json();
      assert.ok(key.length >= 50 && key.length <= 100);
      const stored = await t.store.db.selectFrom('token_keys').select('key_hash').execute();
      assert.ok(!stored.some((s) => s.key_hash === key), 'the key is stored only as a hash');
      const mail = await smtp.next(`${name}@example.com`);
      assert.match(mail.raw, /Subject: \[Default\] Please confirm your e-mail address/);
      assert.match(mail.raw, /Content-Type: text\/plain/);
      assert.match(mail.raw, /Content-Type: text\/html/);
      const vkey = linkParam(mail, 'key');
      assert.match(mail.text, /http:\/\/latchkey\.test\/account\/verify-email\/\?key=/);
      let v = await t.request({ method: 'GET', url: '/api/auth/emails/', headers: token(key) });
      assert.equal(v.json().results[0].verified, false);
      v = await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: vkey } });
      assert.equal(v.statusCode, 200);
      assert.deepEqual(v.json(), { detail: 'ok' });
      v = await t.request({ method: 'GET', url: '/api/auth/emails/', headers: token(key) });
      assert.deepEqual(v.json().results.map((e: any) => [e.email, e.primary, e.verified]), [[`${name}@example.com`, true, true]]);
      const info = await t.request({ method: 'GET', url: '/user_info/', headers: token(key) });
      assert.equal(info.json().is_email_verified, true);
      assert.equal(info.json().token, key, 'the AuthN API echoes the token key presented');
      // Single use.
      v = await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: vkey } });
      assert.equal(v.statusCode, 400);
      assert.ok(v.json().key);
    });

    it('refuses registration when the tenant closes it (403), and mismatched or weak passwords (400 by field)', async () => {
      await setting('registration_enabled', 'false');
      let r = await register(uniq());
      assert.equal(r.statusCode, 403);
      assert.deepEqual(r.json(), { detail: 'Registration is closed.' });
      await setting('registration_enabled', 'true');
      r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: uniq(), password1: PW, password2: PW + 'x' } });
      assert.equal(r.statusCode, 400);
      assert.deepEqual(r.json(), { non_field_errors: ["The two password fields didn't match."] });
      r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: uniq(), password1: 'short', password2: 'short' } });
      assert.equal(r.statusCode, 400);
      assert.ok(r.json().password1?.[0].includes('too short'));
      r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: 'bad name!', password1: PW, password2: PW } });
      assert.equal(r.statusCode, 400);
      assert.ok(r.json().username);
      r = await t.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: uniq() } });
      assert.deepEqual(Object.keys(r.json()).sort(), ['password1', 'password2']);
    });

    it('mandatory verification: no key at registration, and sign-in refused until verified', async () => {
      await setting('email_verification_mandatory', 'true');
      try {
        const name = uniq();
        const r = await register(name);
        assert.equal(r.statusCode, 201);
        assert.deepEqual(r.json(), { detail: 'Verification e-mail sent.' });
        let l = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: PW } });
        assert.equal(l.statusCode, 400);
        assert.deepEqual(l.json(), { non_field_errors: ['E-mail is not verified.'] });
        const mail = await smtp.next(`${name}@example.com`);
        await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: linkParam(mail, 'key') } });
        l = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: PW } });
        assert.equal(l.statusCode, 200);
      } finally {
        await setting('email_verification_mandatory', 'false');
      }
    });

    it('signs in by username or e-mail: a token key plus sessionid and csrftoken cookies; Token, Basic and the cookie authenticate', async () => {
      const name = uniq();
      await register(name);
      const l = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { email: `${name.toUpperCase()}@EXAMPLE.COM`.replace(name.toUpperCase(), name), password: PW } });
      assert.equal(l.statusCode, 200);
      const cookies = Object.fromEntries(l.cookies.map((c) => [c.name, c]));
      assert.equal(cookies.sessionid?.httpOnly, true);
      assert.equal(cookies.sessionid?.sameSite, 'Lax');
      assert.ok(cookies.csrftoken && !cookies.csrftoken.httpOnly);
      const byName = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: PW } });
      assert.equal(byName.statusCode, 200);
      for (const headers of [token(l.json().key), basic(name, PW), { cookie: `sessionid=${cookies.sessionid!.value}` }]) {
        const u = await t.request({ method: 'GET', url: '/api/auth/user/', headers });
        assert.equal(u.statusCode, 200, JSON.stringify(headers));
        assert.equal(u.json().username, name);
      }
      // Cookie-authenticated writes need the CSRF token.
      const c = `sessionid=${cookies.sessionid!.value}`;
      let w = await t.request({ method: 'PATCH', url: '/api/auth/user/', headers: { cookie: c }, payload: { first_name: 'Ann' } });
      assert.equal(w.statusCode, 403);
      w = await t.request({ method: 'PATCH', url: '/api/auth/user/', headers: { cookie: c, 'x-csrftoken': cookies.csrftoken!.value }, payload: { first_name: 'Ann' } });
      assert.equal(w.statusCode, 200);
      assert.equal(w.json().first_name, 'Ann');
      const bad = await t.request({ method: 'GET', url: '/api/auth/user/', headers: basic(name, 'wrong-password') });
      assert.equal(bad.statusCode, 401);
    });

    it('answers an unknown account and a wrong password alike at login', async () => {
      const name = uniq();
      await register(name);
      const a = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: 'wrong-password-9' } });
      const b = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: `${name}-nobody`, password: 'wrong-password-9' } });
      assert.equal(a.statusCode, 400);
      assert.equal(a.body, b.body);
      assert.deepEqual(a.json(), { non_field_errors: ['Unable to log in with provided credentials.'] });
    });

    it('logout (GET or POST) deletes the token key used and ends the session', async () => {
      const name = uniq();
      const { key } = (await register(name)).json();
      const l = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: PW } });
      const sid = l.cookies.find((c) => c.name === 'sessionid')!.value;
      let r = await t.request({ method: 'POST', url: '/api/auth/logout/', headers: token(key) });
      assert.deepEqual(r.json(), { detail: 'Successfully logged out.' });
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: token(key) })).statusCode, 401);
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: token(l.json().key) })).statusCode, 200, 'other sign-ins stay');
      r = await t.request({ method: 'GET', url: '/api/auth/logout/', headers: { cookie: `sessionid=${sid}` } });
      assert.equal(r.statusCode, 200);
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: { cookie: `sessionid=${sid}` } })).statusCode, 401);
      assert.equal((await t.request({ method: 'POST', url: '/api/auth/logout/' })).statusCode, 200, 'no credentials: nothing to end, still 200');
    });

    it('password change ends the other sign-ins, keeps the caller\'s, and asks for the old password when set', async () => {
      const name = uniq();
      const { key } = (await register(name)).json();
      const other = (await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: PW } })).json().key;
      let r = await t.request({ method: 'POST', url: '/api/auth/password/change/', headers: token(key), payload: { new_password1: 'new-passphrase-22', new_password2: 'new-passphrase-23' } });
      assert.equal(r.statusCode, 400);
      assert.ok(r.json().new_password2);
      r = await t.request({ method: 'POST', url: '/api/auth/password/change/', headers: token(key), payload: { new_password1: 'qwertyuiop', new_password2: 'qwertyuiop' } });
      assert.equal(r.statusCode, 400);
      r = await t.request({ method: 'POST', url: '/api/auth/password/change/', headers: token(key), payload: { new_password1: 'new-passphrase-22', new_password2: 'new-passphrase-22' } });
      assert.deepEqual(r.json(), { detail: 'New password has been saved.' });
      assert.ok(!r.body.includes('new-passphrase-22'));
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: token(key) })).statusCode, 200);
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: token(other) })).statusCode, 401);
      await setting('password_change_requires_old', 'true');
      try {
        r = await t.request({ method: 'POST', url: '/api/auth/password/change/', headers: token(key), payload: { new_password1: 'third-passphrase-3', new_password2: 'third-passphrase-3', old_password: 'nope-nope-nope' } });
        assert.equal(r.statusCode, 400);
        assert.ok(r.json().old_password);
        r = await t.request({ method: 'POST', url: '/api/auth/password/change/', headers: token(key), payload: { new_password1: 'third-passphrase-3', new_password2: 'third-passphrase-3', old_password: 'new-passphrase-22' } });
        assert.equal(r.statusCode, 200);
      } finally {
        await setting('password_change_requires_old', 'false');
      }
    });

    it('password reset: one answer for known and unknown addresses; the link works once and ends every sign-in', async () => {
      const name = uniq();
      const { key } = (await register(name)).json();
      const before = smtp.messages.filter((m) => m.to.includes(`${name}@example.com`)).length;
      const a = await t.request({ method: 'POST', url: '/api/auth/password/reset/', payload: { email: `${name}@example.com` } });
      const b = await t.request({ method: 'POST', url: '/api/auth/password/reset/', payload: { email: `nobody-${name}@example.com` } });
      assert.equal(a.statusCode, 200);
      assert.equal(a.body, b.body);
      const mail = await smtp.next(`${name}@example.com`, before);
      assert.match(mail.raw, /Subject: \[Default\] Password reset/);
      const uid = linkParam(mail, 'uid');
      const tok = linkParam(mail, 'token');
      let r = await t.request({ method: 'POST', url: '/api/auth/password/reset/confirm/', payload: { uid, token: tok + 'x', new_password1: 'reset-passphrase-1', new_password2: 'reset-passphrase-1' } });
      assert.equal(r.statusCode, 400);
      assert.deepEqual(r.json(), { token: ['Invalid value'] });
      r = await t.request({ method: 'POST', url: '/api/auth/password/reset/confirm/', payload: { uid, token: tok, new_password1: 'reset-passphrase-1', new_password2: 'reset-passphrase-1' } });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(r.json(), { detail: 'Password has been reset with the new password.' });
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: token(key) })).statusCode, 401, 'sign-ins end');
      r = await t.request({ method: 'POST', url: '/api/auth/password/reset/confirm/', payload: { uid, token: tok, new_password1: 'reset-passphrase-2', new_password2: 'reset-passphrase-2' } });
      assert.equal(r.statusCode, 400, 'single use');
      const l = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: name, password: 'reset-passphrase-1' } });
      assert.equal(l.statusCode, 200);
      const stored = await t.store.db.selectFrom('email_tokens').select('token_hash').execute();
      assert.ok(!stored.some((s) => s.token_hash === tok));
    });

    it('a reset link stops working once the password changes by another route', async () => {
      const name = uniq();
      const { key } = (await register(name)).json();
      const before = smtp.messages.filter((m) => m.to.includes(`${name}@example.com`)).length;
      await t.request({ method: 'POST', url: '/api/auth/password/reset/', payload: { email: `${name}@example.com` } });
      const mail = await smtp.next(`${name}@example.com`, before);
      await t.request({ method: 'POST', url: '/api/auth/password/change/', headers: token(key), payload: { new_password1: 'changed-passphrase-4', new_password2: 'changed-passphrase-4' } });
      const r = await t.request({ method: 'POST', url: '/api/auth/password/reset/confirm/', payload: { uid: linkParam(mail, 'uid'), token: linkParam(mail, 'token'), new_password1: 'reset-passphrase-5', new_password2: 'reset-passphrase-5' } });
      assert.equal(r.statusCode, 400);
    });

    it('e-mail addresses: add (and verify), only a verified one becomes primary, the primary stays, another user\'s verified address is refused', async () => {
      const name = uniq();
      const { key } = (await register(name)).json();
      const second = `${name}-2@example.com`;
      let r = await t.request({ method: 'POST', url: '/api/auth/emails/', headers: token(key), payload: { email: second } });
      assert.equal(r.statusCode, 201);
      const added = r.json();
      assert.deepEqual({ ...added, id: 0 }, { email: second, id: 0, primary: false, user: added.user, verified: false });
      r = await t.request({ method: 'POST', url: `/api/auth/emails/${added.id}/primary/`, headers: token(key) });
      assert.equal(r.statusCode, 400);
      r = await t.request({ method: 'POST', url: `/api/auth/emails/${added.id}/verify/`, headers: token(key) });
      assert.equal(r.statusCode, 200);
      const mail = await smtp.next(second, 1);
      await t.request({ method: 'POST', url: '/api/auth/registration/verify-email/', payload: { key: linkParam(mail, 'key') } });
      r = await t.request({ method: 'POST', url: `/api/auth/emails/${added.id}/primary/`, headers: token(key) });
      assert.equal(r.statusCode, 200);
      assert.equal(r.json().primary, true);
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: token(key) })).json().email, second, 'the user\'s e-mail follows the primary');
      r = await t.request({ method: 'POST', url: `/api/auth/emails/${added.id}/remove/`, headers: token(key) });
      assert.equal(r.statusCode, 400, 'the primary cannot be removed');
      const list = (await t.request({ method: 'GET', url: '/api/auth/emails/?limit=1', headers: token(key) })).json();
      assert.equal(list.count, 2);
      assert.equal(list.results.length, 1);
      assert.match(list.next, /^http:\/\/latchkey\.test\/api\/auth\/emails\/\?limit=1&offset=1$/);
      const first = (await t.request({ method: 'GET', url: '/api/auth/emails/', headers: token(key) })).json().results.find((e: any) => !e.primary);
      r = await t.request({ method: 'POST', url: `/api/auth/emails/${first.id}/remove/`, headers: token(key) });
      assert.equal(r.statusCode, 200);
      // Someone else may not take the verified address.
      const other = (await register(uniq())).json().key;
      r = await t.request({ method: 'POST', url: '/api/auth/emails/', headers: token(other), payload: { email: second } });
      assert.equal(r.statusCode, 400);
      assert.ok(r.json().email);
      r = await t.request({ method: 'POST', url: `/api/auth/emails/${added.id}/remove/`, headers: token(other) });
      assert.equal(r.statusCode, 404, 'another user\'s address is not found');
    });

    it('throttles repeated failures (429 + Retry-After), locks at the threshold, and a reset unlocks', async () => {
      const clock = new ManualClock(Date.now());
      const local = await startApp(engine, { mailer: smtpMailer(smtp.url), clock });
      try {
        const tenant = await local.core.tenants.resolve(undefined);
        await local.store.read.settings.put(tenant.pk, 'login_throttle_threshold', '3', clock.now());
        await local.store.read.settings.put(tenant.pk, 'login_lockout_threshold', '6', clock.now());
        await local.createUser({ username: 'tess', password: PW, email: 'tess@example.com' });
        const attempt = (password: string) => local.request({ method: 'POST', url: '/api/auth/login/', payload: { username: 'tess', password } });
        for (let i = 0; i < 3; i++) assert.equal((await attempt('wrong-password-1')).statusCode, 400);
        let r = await attempt(PW);
        assert.equal(r.statusCode, 429, 'even the right password waits');
        assert.equal(r.headers['retry-after'], '1');
        clock.advance(1000);
        assert.equal((await attempt('wrong-password-1')).statusCode, 400);
        r = await attempt('wrong-password-1');
        assert.equal(r.statusCode, 429);
        assert.equal(r.headers['retry-after'], '2', 'the wait doubles');
        for (let i = 0; i < 2; i++) {
          clock.advance(300_000);
          await attempt('wrong-password-1');
        }
        clock.advance(300_000);
        r = await attempt(PW);
        assert.equal(r.statusCode, 403);
        assert.match(r.json().detail, /locked/);
        // The lock holds for other dialects too.
        assert.equal((await local.request({ method: 'POST', url: '/api/token', payload: { username: 'tess', password: PW } })).statusCode, 403);
        const n0 = smtp.messages.length;
        await local.request({ method: 'POST', url: '/api/auth/password/reset/', payload: { email: 'tess@example.com' } });
        const mail = await smtp.next('tess@example.com', smtp.messages.slice(0, n0).filter((m) => m.to.includes('tess@example.com')).length);
        clock.advance(1000);
        r = await local.request({ method: 'POST', url: '/api/auth/password/reset/confirm/', payload: { uid: linkParam(mail, 'uid'), token: linkParam(mail, 'token'), new_password1: 'after-reset-pass-1', new_password2: 'after-reset-pass-1' } });
        assert.equal(r.statusCode, 200);
        assert.equal((await attempt('after-reset-pass-1')).statusCode, 200);
      } finally {
        await local.close();
      }
    });

    it('a failing SMTP server is a 503 at registration, and nothing is kept', async () => {
      const dead = await startApp(engine, { mailer: smtpMailer('smtp://127.0.0.1:1') });
      try {
        const r = await dead.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: 'ghost', email: 'ghost@example.com', password1: PW, password2: PW } });
        assert.equal(r.statusCode, 503);
        assert.ok(r.json().detail);
        assert.equal(await dead.store.read.users.findByUsername(1, 'ghost'), undefined);
        const addresses = await dead.store.db.selectFrom('email_addresses').selectAll().execute();
        assert.equal(addresses.length, 0);
        await dead.createUser({ username: 'auditor', password: PW, isStaff: true });
        const audit = await dead.request({ method: 'GET', url: '/api/audit-events/?type=user.deleted', headers: (await dead.login('auditor', PW)).headers });
        assert.deepEqual(audit.json().resources.map((e: any) => [e.detail.username, e.detail.reason]), [['ghost', 'registration_not_completed']], 'the audit log sees the account taken back');
        // The same name can register once the mail works again: nothing half-made blocks it.
        assert.equal((await dead.request({ method: 'POST', url: '/api/auth/registration/', payload: { username: 'ghost', password1: PW, password2: PW } })).statusCode, 201);
      } finally {
        await dead.close();
      }
    });

    it('providers reflect the tenant settings; social accounts list, and disconnect is refused for the last way in', async () => {
      // A GitHub-kind provider needs no discovery: nothing is fetched at save.
      await t.core.identityProviders.create(OPERATOR, await t.core.tenants.resolve(undefined), { id: 'acme-sso', name: 'Acme SSO', kind: 'github', clientId: 'cid', clientSecret: 'provider-secret-123' });
      const p = await t.request({ method: 'GET', url: '/api/auth/providers/' });
      assert.equal(p.statusCode, 200);
      const item = p.json().results[0];
      assert.equal(item.sso_enabled, true);
      assert.equal(item.registration_enabled, true);
      assert.deepEqual(item.providers.map((x: any) => [x.id, x.name, x.configured]), [['acme-sso', 'Acme SSO', true]]);
      assert.ok(!p.body.includes('provider-secret-123'), 'the provider secret is never shown');
      const config = await t.request({ method: 'GET', url: '/api/configuration/', headers: (await t.login('admin-' + n, PW).catch(async () => {
        await t.createUser({ username: 'admin-' + n, password: PW, isStaff: true });
        return t.login('admin-' + n, PW);
      })).headers });
      assert.ok(!config.body.includes('provider-secret-123'), 'nor in the configuration list');

      const social = await t.createUser({ username: uniq() }); // no password
      const acc = await t.core.socialAccounts.link(social, 'acme-sso', 'sub-1');
      const session = await t.core.sessions.create(social);
      const headers = { cookie: `sessionid=${session.cookie}`, 'x-csrftoken': session.csrfToken };
      const list = await t.request({ method: 'GET', url: '/api/auth/social/', headers });
      assert.deepEqual(list.json().results.map((a: any) => [a.id, a.provider, a.uid]), [[acc.id, 'acme-sso', 'sub-1']]);
      let d = await t.request({ method: 'POST', url: `/api/auth/social/${acc.id}/disconnect/`, headers });
      assert.equal(d.statusCode, 400);
      await t.core.socialAccounts.link(social, 'acme-sso', 'sub-2');
      d = await t.request({ method: 'POST', url: `/api/auth/social/${acc.id}/disconnect/`, headers });
      assert.equal(d.statusCode, 200);
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/social/', headers })).json().count, 1);
      d = await t.request({ method: 'POST', url: '/api/auth/social/999999/disconnect/', headers });
      assert.equal(d.statusCode, 404);
    });

    it('current user: pk and email read-only, username rules of the core', async () => {
      const name = uniq();
      const { key } = (await register(name)).json();
      let r = await t.request({ method: 'PUT', url: '/api/auth/user/', headers: token(key), payload: { username: `${name}-renamed`, first_name: 'A', last_name: 'B' } });
      assert.equal(r.statusCode, 200);
      assert.deepEqual(Object.keys(r.json()).sort(), ['email', 'first_name', 'last_name', 'pk', 'username']);
      r = await t.request({ method: 'PATCH', url: '/api/auth/user/', headers: token(key), payload: { email: 'other@example.com' } });
      assert.equal(r.statusCode, 400);
      r = await t.request({ method: 'PATCH', url: '/api/auth/user/', headers: token(key), payload: { username: 'no spaces allowed' } });
      assert.equal(r.statusCode, 400);
      r = await t.request({ method: 'PATCH', url: '/api/auth/user/', headers: token(key), payload: { pk: 99999 } });
      assert.equal(r.statusCode, 400);
    });

    it('answers bad input in DRF shapes, never a 500, never echoing a secret', async () => {
      const cases: Array<[string, string, unknown, Record<string, string>?]> = [
        ['POST', '/api/auth/login/', '{bad json'],
        ['POST', '/api/auth/login/', []],
        ['POST', '/api/auth/login/', { password: 5 }],
        ['POST', '/api/auth/login/', { username: 'x', password: 'y', extra: 1 }],
        ['POST', '/api/auth/registration/verify-email/', { key: 'nope' }],
        ['POST', '/api/auth/password/reset/', { email: 'not-an-email' }],
        ['POST', '/api/auth/password/reset/confirm/', { uid: 'x', token: 'y', new_password1: 'secret-pass-9', new_password2: 'secret-pass-9' }],
        ['POST', '/api/auth/registration/resend-email/', { email: 5 }],
        ['POST', '/api/auth/emails/abc/verify/', {}],
        ['GET', '/api/auth/user/', undefined, { authorization: 'Token nope' }],
        ['GET', '/api/auth/user/', undefined, { authorization: 'Basic !!!' }],
      ];
      for (const [method, url, payload, headers] of cases) {
        const r = await t.request({ method: method as 'GET', url, headers: { 'content-type': 'application/json', ...(headers ?? {}) }, payload: typeof payload === 'string' ? payload : payload === undefined ? undefined : JSON.stringify(payload) });
        assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${method} ${url}: ${r.statusCode} ${r.body}`);
        const body = r.json();
        assert.ok(typeof body === 'object' && body !== null, r.body);
        assert.ok(!r.body.includes('secret-pass-9'));
      }
    });
  });
}

for (const { engine, skip } of engines) {
  describe(`sign-in locks and token keys in the sign-ins list [${engine.name}]`, { skip }, () => {
    it('staff unlock a locked account; a user sees and revokes its token keys', async () => {
      const t = await startApp(engine);
      try {
        const tenant = await t.core.tenants.resolve(undefined);
        await t.store.read.settings.put(tenant.pk, 'login_throttle_threshold', '100', Date.now());
        await t.store.read.settings.put(tenant.pk, 'login_lockout_threshold', '5', Date.now());
        const victim = await t.createUser({ username: 'vic', password: PW });
        await t.createUser({ username: 'boss', password: PW, isStaff: true });
        const boss = await t.login('boss', PW);
        for (let i = 0; i < 5; i++) await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: 'vic', password: 'wrong-password-1' } });
        assert.equal((await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: 'vic', password: PW } })).statusCode, 403);
        const events = await t.request({ method: 'GET', url: '/api/audit-events/?type=account.locked', headers: boss.headers });
        assert.equal(events.json().count, 1);
        let u = await t.request({ method: 'POST', url: `/api/users/${victim.id}/unlock/` });
        assert.equal(u.statusCode, 401, 'only with credentials');
        u = await t.request({ method: 'POST', url: `/api/users/${victim.id}/unlock/`, headers: boss.headers });
        assert.equal(u.statusCode, 200);
        const l = await t.request({ method: 'POST', url: '/api/auth/login/', payload: { username: 'vic', password: PW } });
        assert.equal(l.statusCode, 200);
        const key = l.json().key;
        const list = await t.request({ method: 'GET', url: '/api/sign-ins/', headers: token(key) });
        const mine = list.json().resources.filter((s: any) => s.kind === 'token');
        assert.equal(mine.length, 1);
        assert.equal(mine[0].current, true);
        assert.equal(mine[0].expires_at, null);
        assert.ok(!list.body.includes(key), 'the key itself is never listed');
        const d = await t.request({ method: 'DELETE', url: `/api/sign-ins/${mine[0].id}/`, headers: token(key) });
        assert.equal(d.statusCode, 204);
        assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: token(key) })).statusCode, 401);
      } finally {
        await t.close();
      }
    });
  });
}
