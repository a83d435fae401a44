// The hosted pages over HTTP, on both engines, as a browser without JavaScript uses them. The
// threats: a page that another site can make a signed-out browser post to (login CSRF: a
// victim signed in to the attacker's account), a sign-in or reset page that tells an attacker
// which accounts exist, a reset token left in a URL (history, logs, Referer), bad input that
// answers a 500 or a JSON error instead of a page that says what to fix, and a tenant's page
// drawn with another tenant's theme or in the wrong language.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { Browser, text, title, assertPage } from './support.ts';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import type { Mailer, MailMessage } from '../../src/core/index.ts';

const PW = 'pages-http-passphrase-1';
const NEW_PW = 'pages-http-passphrase-2';

class CapturingMailer implements Mailer {
  sent: MailMessage[] = [];
  async send(m: MailMessage) {
    this.sent.push(m);
  }
  /** The link of the newest message to `to` (messages leave after the answer: polled, at most 2 s). */
  async linkTo(to: string, path: string, after = 0): Promise<string> {
    for (let i = 0; i < 200 && this.sent.filter((x) => x.to === to).length <= after; i++) await new Promise((r) => setTimeout(r, 10));
    const m = [...this.sent].reverse().find((x) => x.to === to);
    const url = m?.text.match(new RegExp(`https?://[^\\s]*${path.replace(/[.?]/g, '\\$&')}[^\\s]*`))?.[0];
    if (!url) throw new Error(`no ${path} link to ${to}`);
    const u = new URL(url);
    return u.pathname + u.search;
  }
}

for (const { engine, skip } of engines) {
  describe(`hosted pages over HTTP [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    const mail = new CapturingMailer();
    before(async () => {
      t = await startApp(engine, { mailer: mail });
      noteSecret(PW);
      noteSecret(NEW_PW);
      await t.createUser({ username: 'root', password: PW, isSuperuser: true, isStaff: true });
      const acme = await t.core.tenants.create('acme', 'Acme & Co');
      const root = await t.core.credentials.accessToken((await t.login('root', PW)).access);
      await t.core.settings.set(root, acme.pk, 'accent_color', '#FFCC00');
      await t.core.settings.set(root, acme.pk, 'logo_url', 'https://cdn.acme.test/logo.svg');
      await t.core.settings.set(root, acme.pk, 'login_ip_limit', '1000');
      const def = await t.core.tenants.resolve(undefined);
      await t.core.settings.set(root, def.pk, 'login_ip_limit', '1000');
      await t.createUser({ username: 'ann', password: PW, email: 'ann@example.com' });
      await t.createUser({ username: 'bob', password: PW, email: 'bob@acme.test', tenant: 'acme' });
    });
    after(async () => { await t?.close(); });

    it('every page answers a page with no-store, no-referrer and a CSP without inline script or style, at both tenant prefixes', async () => {
      for (const prefix of ['', '/tenants/acme']) {
        const b = new Browser(t);
        assertPage(await b.go('GET', `${prefix}/account/login/`), 200, /^Sign in$/);
        assertPage(await b.go('GET', `${prefix}/account/signup/`), 200, /Create an account/);
        assertPage(await b.go('GET', `${prefix}/account/password/forgot/`), 200, /Forgot your password/);
        assertPage(await b.go('GET', `${prefix}/account/logout/`), 200, /Sign out/);
        assertPage(await b.go('GET', `${prefix}/account/verify-email/?key=nonsense`), 400, /did not work/);
        assertPage(await b.go('GET', `${prefix}/account/reset-password/`), 400, /incomplete/);
        assertPage(await b.go('GET', `${prefix}/account/no-such-page/`), 404, /Page not found/);
        const signedOut = await b.go('GET', `${prefix}/account/`);
        assert.deepEqual([signedOut.statusCode, signedOut.headers.location], [303, `${prefix}/account/login/`]);
        assert.match(String(b.jar.get('latchkey_form')?.value), /^[\w-]{43}$/, 'the form cookie is set before any session');
      }
    });

    it('a tenant\'s pages carry its display name, logo and accent colour; the default tenant\'s do not', async () => {
      const b = new Browser(t);
      const acme = await b.go('GET', '/tenants/acme/account/login/');
      assert.match(acme.body, /<title>Sign in – Acme &amp; Co<\/title>/);
      assert.match(acme.body, /<img src="https:\/\/cdn\.acme\.test\/logo\.svg" alt="">/);
      assert.match(acme.body, /href="\/tenants\/acme\/account\/style\.css"/);
      assert.match(acme.body, /action="\/tenants\/acme\/account\/login\/"/);
      const css = await b.go('GET', '/tenants/acme/account/style.css');
      assert.equal(css.headers['content-type'], 'text/css; charset=utf-8');
      assert.match(css.body, /--accent:#ffcc00;--on-accent:#000000/);
      const def = await b.go('GET', '/account/login/');
      assert.doesNotMatch(def.body, /<img|Acme/);
      assert.match((await b.go('GET', '/account/style.css')).body, /--accent:#1f5fbf/);
      const nope = await b.go('GET', '/tenants/nope/account/login/');
      assertPage(nope, 404, /not available/);
      assert.match(nope.body, /<title>This sign-in page is not available – Latchkey<\/title>/, 'not drawn as the default tenant');
      assert.equal((await b.go('GET', '/tenants/nope/account/style.css')).statusCode, 404);
    });

    it('the language follows Accept-Language (French) and lang says so', async () => {
      const fr = new Browser(t, { 'accept-language': 'fr-FR,fr;q=0.9,en;q=0.5' });
      const r = await fr.go('GET', '/tenants/acme/account/login/');
      assert.match(r.body, /<html lang="fr">/);
      assert.equal(title(r.body), 'Connexion');
      const token = await fr.token('/tenants/acme/account/login/');
      const bad = await fr.go('POST', '/tenants/acme/account/login/', { csrf_token: token, login: 'bob', password: 'wrong-password-1' });
      assert.match(text(bad.body), /mot de passe est incorrect/);
      const de = new Browser(t, { 'accept-language': 'de' });
      assert.match((await de.go('GET', '/account/login/')).body, /<html lang="en">/);
    });

    it('login CSRF: every form refuses a POST without the form token, with another browser\'s, or without the cookie: 403 page, nothing done', async () => {
      const mine = new Browser(t);
      const theirs = new Browser(t);
      const myToken = await mine.token('/account/login/');
      const theirToken = await theirs.token('/account/login/');
      const forms: Array<[string, Record<string, string>]> = [
        ['/account/login/', { login: 'ann', password: PW }],
        ['/account/signup/', { username: 'csrf-made', password1: PW, password2: PW }],
        ['/account/password/forgot/', { email: 'ann@example.com' }],
        ['/account/reset-password/', { new_password1: NEW_PW, new_password2: NEW_PW }],
        ['/account/logout/', {}],
        ['/tenants/acme/account/login/', { login: 'bob', password: PW }],
      ];
      const sentBefore = mail.sent.length;
      for (const [url, form] of forms) {
        for (const [why, token] of [['missing', undefined], ['another browser\'s', theirToken], ['truncated', myToken.slice(0, -1)], ['empty', '']] as const) {
          const r = await mine.go('POST', url, token === undefined ? form : { ...form, csrf_token: token });
          assertPage(r, 403, /This form has expired/);
          assert.equal(String(r.headers['set-cookie'] ?? '').includes('sessionid'), false, `${url} ${why}: no session`);
        }
        // The right token without the cookie (a cross-site post that guessed nothing still lacks the cookie).
        const bare = await t.request({ method: 'POST', url, headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: new URLSearchParams({ ...form, csrf_token: myToken }).toString() });
        assertPage(bare, 403, /This form has expired/);
      }
      assert.equal(mail.sent.length, sentBefore, 'no e-mail sent');
      assert.equal(await t.store.read.users.findByUsername((await t.core.tenants.resolve(undefined)).pk, 'csrf-made'), undefined, 'no account made');
    });

    it('signing in: a wrong password and an unknown account answer the same page; the right one sets sessionid and csrftoken and lands on the signed-in page', async () => {
      const b = new Browser(t);
      const token = await b.token('/account/login/');
      const wrong = await b.go('POST', '/account/login/', { csrf_token: token, login: 'ann', password: 'wrong-password-1' });
      const unknown = await b.go('POST', '/account/login/', { csrf_token: token, login: 'nobody-here', password: 'wrong-password-1' });
      const unknownEmail = await b.go('POST', '/account/login/', { csrf_token: token, login: 'nobody@example.com', password: 'wrong-password-1' });
      assertPage(wrong, 401, /^Sign in$/);
      const scrub = (r: LightMyRequestResponse) => r.body.replace(/value="(ann|nobody-here|nobody@example\.com)"/, 'value=""');
      assert.equal(scrub(wrong), scrub(unknown), 'the same page for a known and an unknown account');
      assert.equal(scrub(wrong), scrub(unknownEmail));
      assert.deepEqual([unknown.statusCode, unknownEmail.statusCode], [401, 401]);
      assert.match(text(wrong.body), /The username, e-mail address or password is not right/);
      assert.match(wrong.body, /<p class="alert" role="alert">/);
      assertPage(await b.go('POST', '/account/login/', { csrf_token: token, login: '', password: '' }), 400, /^Sign in$/);
      // Another tenant's user does not sign in here.
      assertPage(await b.go('POST', '/account/login/', { csrf_token: token, login: 'bob', password: PW }), 401);

      const ok = await b.go('POST', '/account/login/', { csrf_token: token, login: 'ann@example.com', password: PW });
      assert.deepEqual([ok.statusCode, ok.headers.location], [303, '/account/']);
      assert.ok(b.jar.has('sessionid') && b.jar.has('csrftoken'), 'the REST-auth cookie session');
      noteSecret(b.jar.get('sessionid')!.value);
      const home = await b.go('GET', '/account/');
      assertPage(home, 200, /You are signed in/);
      assert.match(text(home.body), /signed in as ann/);
      // The session is the APIs' own.
      const me = await t.request({ method: 'GET', url: '/api/auth/user/', headers: { cookie: `sessionid=${b.jar.get('sessionid')!.value}` } });
      assert.equal(me.statusCode, 200);
      assert.equal(me.json().username, 'ann');
      // A session of the default tenant is not one of acme's.
      assert.equal((await b.go('GET', '/tenants/acme/account/')).statusCode, 303);
      // `next` goes on to a path of this server only.
      const b2 = new Browser(t);
      const t2 = await b2.token('/account/login/?next=/account/');
      for (const [next, to] of [['/account/logout/', '/account/logout/'], ['//evil.test/', '/account/'], ['https://evil.test/', '/account/'], ['/\\evil.test', '/account/']] as const) {
        const r = await b2.go('POST', '/account/login/', { csrf_token: t2, login: 'ann', password: PW, next });
        assert.equal(r.headers.location, to, next);
      }
    });

    it('signing out ends the session: the confirm page, then the signed-out page; the cookie no longer works', async () => {
      const b = new Browser(t);
      const token = await b.token('/tenants/acme/account/login/');
      assert.equal((await b.go('POST', '/tenants/acme/account/login/', { csrf_token: token, login: 'bob', password: PW })).statusCode, 303);
      const session = b.jar.get('sessionid')!.value;
      noteSecret(session);
      const confirm = await b.go('GET', '/tenants/acme/account/logout/');
      assertPage(confirm, 200, /Sign out/);
      assert.match(confirm.body, /method="post" action="\/tenants\/acme\/account\/logout\/"/);
      const out = await b.go('POST', '/tenants/acme/account/logout/', { csrf_token: token });
      assertPage(out, 200, /You are signed out/);
      assert.equal(b.jar.has('sessionid'), false, 'the cookie is cleared');
      const me = await t.request({ method: 'GET', url: '/api/auth/user/', headers: { cookie: `sessionid=${session}` } });
      assert.ok([401, 403].includes(me.statusCode), `the session has ended (${me.statusCode})`);
    });

    it('signing up: bad input is shown by field; a taken name says so; registration closed is a page; the new user can sign in', async () => {
      const b = new Browser(t);
      const token = await b.token('/account/signup/');
      const mismatch = await b.go('POST', '/account/signup/', { csrf_token: token, username: 'carol', email: 'carol@example.com', password1: PW, password2: `${PW}x` });
      assertPage(mismatch, 400, /Create an account/);
      assert.match(mismatch.body, /value="carol"/, 'what was typed is kept');
      assert.doesNotMatch(mismatch.body, new RegExp(PW), 'but not the password');
      const short = await b.go('POST', '/account/signup/', { csrf_token: token, username: 'carol', password1: 'short', password2: 'short' });
      assertPage(short, 400);
      assert.match(short.body, /id="f-password1"[^>]*aria-invalid="true" aria-describedby="f-password1-error"/);
      assert.match(short.body, /id="f-password1"[^>]*autofocus/, 'the focus is on the field to fix');
      assert.doesNotMatch(short.body, /id="f-username"[^>]*autofocus/);
      const badEmail = await b.go('POST', '/account/signup/', { csrf_token: token, username: 'carol', email: 'not-an-address', password1: PW, password2: PW });
      assertPage(badEmail, 400);
      assert.match(badEmail.body, /id="f-email-error"/);
      const made = await b.go('POST', '/account/signup/', { csrf_token: token, username: 'carol', email: 'carol@example.com', password1: PW, password2: PW });
      assertPage(made, 201, /Your account is ready/);
      assert.ok(b.jar.has('sessionid'), 'signed in');
      const again = await b.go('POST', '/account/signup/', { csrf_token: token, username: 'carol', password1: PW, password2: PW });
      assertPage(again, 400);
      assert.match(again.body, /id="f-username-error"/);

      const acme = await t.core.tenants.resolve('acme');
      const root = await t.core.credentials.accessToken((await t.login('root', PW)).access);
      await t.core.settings.set(root, acme.pk, 'registration_enabled', 'false');
      try {
        const c = new Browser(t);
        assertPage(await c.go('GET', '/tenants/acme/account/signup/'), 403, /Create an account/);
        assert.doesNotMatch((await c.go('GET', '/tenants/acme/account/login/')).body, /signup\//, 'no sign-up link');
        const tk = await c.token('/tenants/acme/account/login/');
        const closed = await c.go('POST', '/tenants/acme/account/signup/', { csrf_token: tk, username: 'dave', password1: PW, password2: PW });
        assertPage(closed, 403);
        assert.match(text(closed.body), /does not accept new accounts/);
      } finally {
        await t.core.settings.set(root, acme.pk, 'registration_enabled', 'true');
      }
    });

    it('the verification link verifies on GET (HEAD does not), then says clearly that it no longer works', async () => {
      const b = new Browser(t);
      const token = await b.token('/tenants/acme/account/signup/');
      assertPage(await b.go('POST', '/tenants/acme/account/signup/', { csrf_token: token, username: 'erin', email: 'erin@acme.test', password1: PW, password2: PW }), 201);
      const link = await mail.linkTo('erin@acme.test', '/account/verify-email/?key=');
      assert.ok(link.startsWith('/tenants/acme/account/verify-email/'), 'the link opens the tenant\'s own pages');
      noteSecret(new URL(link, 'http://x').searchParams.get('key'));
      const acme = await t.core.tenants.resolve('acme');
      assert.equal((await b.go('HEAD', link)).statusCode, 200);
      assert.equal((await t.store.read.users.findByUsername(acme.pk, 'erin'))?.emailVerified, false);
      assertPage(await b.go('GET', link), 200, /verified/);
      assert.equal((await t.store.read.users.findByUsername(acme.pk, 'erin'))?.emailVerified, true);
      assertPage(await b.go('GET', link), 400, /did not work/);
      assertPage(await b.go('GET', `${link}&key=again`), 400);
    });

    it('forgot password: the same page for a known and an unknown address; bad input is a field message', async () => {
      const b = new Browser(t);
      const token = await b.token('/account/password/forgot/');
      const before = mail.sent.length;
      const known = await b.go('POST', '/account/password/forgot/', { csrf_token: token, email: 'ann@example.com' });
      const unknown = await b.go('POST', '/account/password/forgot/', { csrf_token: token, email: 'nobody@example.com' });
      const otherTenant = await b.go('POST', '/account/password/forgot/', { csrf_token: token, email: 'bob@acme.test' });
      assertPage(known, 200, /Check your e-mail/);
      assert.equal(unknown.body, known.body);
      assert.equal(otherTenant.body, known.body);
      assert.deepEqual([unknown.statusCode, otherTenant.statusCode], [200, 200]);
      await mail.linkTo('ann@example.com', '/account/reset-password/?uid=', 0);
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(mail.sent.length, before + 1, 'one message, to the known address only');
      assertPage(await b.go('POST', '/account/password/forgot/', { csrf_token: token, email: '' }), 400, /Forgot/);
    });

    it('the reset link: the token moves into an HttpOnly cookie and out of the URL; the form sets the new password once', async () => {
      const b = new Browser(t);
      const token = await b.token('/tenants/acme/account/password/forgot/');
      const sentBefore = mail.sent.filter((x) => x.to === 'bob@acme.test').length;
      assertPage(await b.go('POST', '/tenants/acme/account/password/forgot/', { csrf_token: token, email: 'bob@acme.test' }), 200);
      // The link opens the tenant's own pages.
      const link = await mail.linkTo('bob@acme.test', '/tenants/acme/account/reset-password/?uid=', sentBefore);
      const resetToken = new URL(link, 'http://x').searchParams.get('token')!;
      noteSecret(resetToken);
      const landed = await b.go('GET', link);
      assert.equal(landed.statusCode, 303);
      const location = String(landed.headers.location);
      assert.equal(location, new URL(link, 'http://x').pathname, 'redirected to the same path without the query');
      assert.equal(landed.headers['referrer-policy'], 'no-referrer');
      const set = String(landed.headers['set-cookie']);
      assert.match(set, /latchkey_reset=[^;]+; Max-Age=3600; Path=\/tenants\/acme\/account\/reset-password\/; HttpOnly; SameSite=Lax/);
      const form = await b.go('GET', location);
      assertPage(form, 200, /Choose a new password/);
      assert.ok(!form.body.includes(resetToken), 'the token is not in the page');
      const mismatch = await b.go('POST', location, { csrf_token: token, new_password1: NEW_PW, new_password2: PW });
      assertPage(mismatch, 400, /Choose a new password/);
      const done = await b.go('POST', location, { csrf_token: token, new_password1: NEW_PW, new_password2: NEW_PW });
      assertPage(done, 200, /Your password has been changed/);
      assert.equal(b.jar.has('latchkey_reset'), false, 'the cookie is cleared');
      // The link works once.
      await b.go('GET', link);
      assertPage(await b.go('POST', location, { csrf_token: token, new_password1: PW, new_password2: PW }), 400, /did not work/);
      // A forged cookie is a failed link, not a 500.
      b.jar.set('latchkey_reset', { value: 'not-base64-json', path: '/' });
      assertPage(await b.go('POST', location, { csrf_token: token, new_password1: PW, new_password2: PW }), 400, /did not work/);
      b.jar.set('latchkey_reset', { value: Buffer.from(JSON.stringify(['x', 'y'])).toString('base64url'), path: '/' });
      assertPage(await b.go('POST', location, { csrf_token: token, new_password1: PW, new_password2: PW }), 400, /did not work/);
      assertPage(await b.go('GET', '/tenants/acme/account/reset-password/?uid=only'), 400, /incomplete/);
      const signIn = await b.go('POST', '/tenants/acme/account/login/', { csrf_token: token, login: 'bob', password: NEW_PW });
      assert.equal(signIn.statusCode, 303, 'the new password signs in');
    });

    it('odd form bodies (JSON, repeated fields, huge fields) answer pages, never a 500', async () => {
      const b = new Browser(t);
      const token = await b.token('/account/login/');
      const cookie = `latchkey_form=${b.jar.get('latchkey_form')!.value}`;
      const json = await t.request({ method: 'POST', url: '/account/login/', headers: { cookie, 'content-type': 'application/json' }, payload: JSON.stringify({ csrf_token: token, login: ['a'], password: { x: 1 } }) });
      assertPage(json, 400, /^Sign in$/);
      const repeated = await t.request({ method: 'POST', url: '/account/login/', headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' }, payload: `csrf_token=${token}&csrf_token=${token}&login=a` });
      assertPage(repeated, 403);
      const huge = await b.go('POST', '/account/signup/', { csrf_token: token, username: 'u'.repeat(20_000), password1: 'p'.repeat(20_000), password2: 'p'.repeat(20_000) });
      assertPage(huge, 400);
    });
  });
}
