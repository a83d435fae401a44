// Signing up with a passkey alone on the hosted pages (signup/passkey/, then signup/passkey/create/),
// over HTTP on both engines; the passkeys are made by the software authenticator
// (test/headless/soft-authenticator.ts; test/browser/pages-passkey-signup.test.ts does it in
// Chromium). The threats: a sign-up that leaves an account behind without its passkey (a bad,
// stale or replayed credential, an abandoned ceremony), one answer that makes two accounts, the
// sign-up's token readable in the page or sent to other paths, a tenant whose registration is
// closed getting accounts anyway (closed before or during the sign-up), a form another site
// posts (CSRF), a sign-up begun at one tenant finished at another, a password made for an account
// that was to have none, and a flood of sign-ups (429).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { LightMyRequestResponse } from 'fastify';
import { engines } from '../helpers/engines.ts';
import { startApp, PUBLIC_URL, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { SoftAuthenticator } from '../headless/soft-authenticator.ts';
import type { Mailer, MailMessage } from '../../src/core/index.ts';
import { assertPage, Browser, text, title } from './support.ts';

class CapturingMailer implements Mailer {
  sent: MailMessage[] = [];
  async send(m: MailMessage) {
    this.sent.push(m);
  }
}

/** The ceremony's options, as the form carries them (an attribute, HTML-escaped JSON). */
function optionsOf(body: string): any {
  const m = body.match(/data-options="([^"]*)"/);
  assert.ok(m, `the form carries its options: ${body.slice(0, 400)}`);
  return JSON.parse(m[1]!.replace(/&quot;/g, '"').replace(/&#39;/g, "'").replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&#96;/g, '`').replace(/&amp;/g, '&'));
}
const formToken = (body: string) => body.match(/name="csrf_token" value="([^"]+)"/)?.[1] ?? '';

for (const { engine, skip } of engines) {
  describe(`sign-up by passkey on the hosted pages [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    const mail = new CapturingMailer();
    let n = 0;
    const unique = () => `pk${++n}${engine.name}`;

    const setting = async (tenantName: string | undefined, key: string, value: string) => {
      const tenant = await t.core.tenants.resolve(tenantName);
      await t.store.transaction((r) => r.settings.put(tenant.pk, key, value, Date.now()));
      t.core.settings.invalidate(tenant.pk);
    };
    const userNamed = async (username: string, tenant?: string) => t.store.read.users.findByUsername((await t.core.tenants.resolve(tenant)).pk, username);

    /** The first page posted: 303 to the ceremony, the sign-up's token in its cookie. */
    const start = async (b: Browser, form: Record<string, string>, prefix = ''): Promise<LightMyRequestResponse> => {
      const token = await b.token(`${prefix}/account/signup/passkey/`);
      return b.go('POST', `${prefix}/account/signup/passkey/`, { csrf_token: token, ...form });
    };
    /** The ceremony page: its options and its form token. */
    const ceremony = async (b: Browser, prefix = '') => {
      const page = await b.go('GET', `${prefix}/account/signup/passkey/create/`);
      assertPage(page, 200, /^Create your passkey$/);
      return { page, options: optionsOf(page.body), token: formToken(page.body) };
    };
    const answer = (b: Browser, token: string, credential: unknown, prefix = '', name = 'Phone') =>
      b.go('POST', `${prefix}/account/signup/passkey/create/`, { csrf_token: token, name, credential: typeof credential === 'string' ? credential : JSON.stringify(credential) });

    before(async () => {
      t = await startApp(engine, { mailer: mail });
      await t.core.tenants.create('acme', 'Acme & Co');
      await t.core.tenants.create('closed', 'Closed');
      await t.core.tenants.create('verified', 'Verified');
      await t.core.tenants.create('tight', 'Tight');
      for (const name of [undefined, 'acme', 'closed', 'verified']) await setting(name, 'sign_in_start_ip_limit', '10000');
      await setting('closed', 'registration_enabled', 'false');
      await setting('verified', 'email_verification_mandatory', 'true');
      await setting('tight', 'sign_in_start_ip_limit', '2');
      await t.createUser({ username: 'taken', password: 'pages-passkey-signup-passphrase-1', email: 'taken@example.com' });
      noteSecret('pages-passkey-signup-passphrase-1');
    });
    after(async () => { await t?.close(); });

    it('the sign-up page offers a passkey instead, hidden until the script runs; the passkey page asks a username and an address, with labels', async () => {
      const b = new Browser(t);
      const signup = await b.go('GET', '/account/signup/');
      assertPage(signup, 200, /^Create an account$/);
      assert.match(signup.body, /<div class="passkey-offer" data-passkey-offer hidden><p>Or, without a password:<\/p><a class="button secondary" href="\/account\/signup\/passkey\/">Sign up with a passkey instead<\/a><\/div>/);
      assert.match(signup.body, /<script src="\/account\/passkeys\.js\?v=[\w-]+" defer><\/script>/);
      const page = await b.go('GET', '/account/signup/passkey/');
      assertPage(page, 200, /^Sign up with a passkey$/);
      assert.match(page.body, /<label for="f-username">Username<\/label>/);
      assert.match(page.body, /<label for="f-email">E-mail address<\/label>/);
      assert.doesNotMatch(page.body, /name="password/, 'no password asked');
      assert.match(page.body, /<noscript><p class="alert">Passkeys need JavaScript[^<]*sign up with a password\.<\/p><\/noscript>/);
      assert.match(page.body, /href="\/account\/signup\/">Sign up with a password instead</);
      // The tenant's prefix and the page's language.
      const fr = new Browser(t, { 'accept-language': 'fr' });
      assertPage(await fr.go('GET', '/tenants/acme/account/signup/passkey/'), 200, /^S’inscrire avec une clé d’accès$/);
      assert.match((await fr.go('GET', '/tenants/acme/account/signup/')).body, /href="\/tenants\/acme\/account\/signup\/passkey\/">S’inscrire plutôt avec une clé d’accès</);
    });

    it('makes one account with the passkey and no password, signs it in (amr webauthn), and the sign-up\'s token stays in a path-limited HttpOnly cookie', async () => {
      const b = new Browser(t);
      const username = unique();
      const started = await start(b, { username, email: `${username}@example.com` });
      assert.deepEqual([started.statusCode, started.headers.location], [303, '/account/signup/passkey/create/']);
      assert.equal(await userNamed(username), undefined, 'no account before the passkey');
      const cookie = (started.cookies as Array<Record<string, unknown>>).find((c) => c.name === 'latchkey_signup')!;
      assert.ok(cookie, 'the sign-up\'s cookie');
      noteSecret(String(cookie.value));
      assert.deepEqual([cookie.path, cookie.httpOnly, cookie.sameSite], ['/account/signup/passkey/', true, 'Strict']);
      assert.ok(cookie.expires instanceof Date && (cookie.expires as Date).getTime() > Date.now());

      const { page, options, token } = await ceremony(b);
      assert.doesNotMatch(page.body, new RegExp(String(cookie.value)), 'the token is not in the page');
      assert.match(page.body, /data-passkey="create"/);
      assert.match(page.body, /<label for="f-name">Name of the passkey<\/label>/);
      assert.match(text(page.body), new RegExp(`The account ${username} \\(${username}@example\\.com\\) is made`));
      assert.equal(options.rp.id, new URL(PUBLIC_URL).hostname);
      assert.deepEqual([options.authenticatorSelection.residentKey, options.authenticatorSelection.userVerification], ['required', 'required']);
      // A fresh challenge each time the page is drawn; only the latest completes the sign-up.
      const { options: latest, token: token2 } = await ceremony(b);
      assert.notEqual(latest.challenge, options.challenge);

      const key = new SoftAuthenticator(PUBLIC_URL);
      const credential = key.create(latest);
      const done = await answer(b, token2 || token, credential);
      assert.deepEqual([done.statusCode, done.headers.location], [303, '/account/'], done.body.slice(0, 400));
      assert.equal(done.headers['cache-control'], 'no-store');
      assert.ok(!b.jar.has('latchkey_signup'), 'the sign-up\'s cookie is cleared');
      const session = b.jar.get('sessionid')!.value;
      noteSecret(session);
      const found = await t.core.credentials.session(session);
      assert.equal(found?.principal.user.username, username);
      assert.deepEqual(found?.principal.amr, ['webauthn']);
      assert.match(text((await b.go('GET', '/account/')).body), new RegExp(`signed in as ${username}`));

      const user = (await userNamed(username))!;
      assert.equal(user.passwordHash, null, 'no password');
      assert.equal(user.email, `${username}@example.com`);
      const passkeys = await t.store.read.authenticators.forUser(user.pk);
      assert.deepEqual(passkeys.map((a) => [a.type, a.name, JSON.parse(a.data).passwordless]), [['webauthn', 'Phone', true]]);
      assert.ok(mail.sent.some((m) => m.to === `${username}@example.com`), 'the address\'s verification message left');

      // The same answer again: with the cookie gone, and with the used sign-up's cookie put back.
      const replay = await answer(b, token2, credential);
      assertPage(replay, 400, /^Sign up with a passkey$/);
      assert.match(text(replay.body), /This sign-up has expired or is finished/);
      b.jar.set('latchkey_signup', { value: String(cookie.value), path: '/account/signup/passkey/' });
      const used = await answer(b, token2, credential);
      assertPage(used, 400, /^Sign up with a passkey$/);
      assert.match(text(used.body), /expired or is finished/);
      assert.equal((await t.store.read.authenticators.forUser(user.pk)).length, 1, 'no second passkey');

      // The same answer in a new sign-up (another name): refused, no account.
      const other = unique();
      const c = new Browser(t);
      assert.equal((await start(c, { username: other, email: `${other}@example.com` })).statusCode, 303);
      const second = await ceremony(c);
      const refused = await answer(c, second.token, credential);
      assertPage(refused, 400, /^Create your passkey$/);
      assert.match(text(refused.body), /That passkey was not accepted, and no account was made/);
      assert.equal(await userNamed(other), undefined);
      // The sign-up goes on: the page carries new options, and a right passkey for them completes it.
      const fresh = optionsOf(refused.body);
      const ok = await answer(c, formToken(refused.body), new SoftAuthenticator(PUBLIC_URL).create(fresh));
      assert.equal(ok.statusCode, 303, ok.body.slice(0, 400));
      noteSecret(c.jar.get('sessionid')!.value);
      assert.ok(await userNamed(other));
    });

    it('a bad, stale or missing credential makes no account and says so on the ceremony page', async () => {
      const b = new Browser(t);
      const username = unique();
      assert.equal((await start(b, { username, email: `${username}@example.com` })).statusCode, 303);
      const key = new SoftAuthenticator(PUBLIC_URL);
      const first = await ceremony(b);
      const stale = key.create(first.options);
      const refused = /That passkey was not accepted, and no account was made/;
      const cases: Array<[string, (options: any) => unknown, RegExp]> = [
        ['not JSON', () => 'text{', refused],
        ['an empty object', () => ({}), refused],
        ['garbage client data', () => ({ response: { clientDataJSON: 'not json' } }), refused],
        ['the user not verified', (o) => key.create(o, { userVerified: false }), refused],
        ['another origin', (o) => key.create(o, { origin: 'https://evil.example' }), refused],
        ['made for earlier options', () => stale, refused],
        ['no answer (no script ran)', () => '', /Passkeys need JavaScript/],
      ];
      for (const [why, make, message] of cases) {
        const { options, token } = await ceremony(b);
        const r = await answer(b, token, make(options));
        assertPage(r, 400, /^Create your passkey$/);
        assert.match(r.body, new RegExp(`role="alert">${message.source}`), why);
        assert.equal(await userNamed(username), undefined, `${why}: no account`);
      }
      // A name the rule refuses marks the field; nothing made.
      for (const name of ['', 'x'.repeat(101)]) {
        const { options, token } = await ceremony(b);
        const r = await answer(b, token, key.create(options), '', name);
        assertPage(r, 400, /^Create your passkey$/);
        assert.match(r.body, /id="f-name"[^>]*aria-invalid="true" aria-describedby="f-name-error"/);
        assert.match(text(r.body), /Give the passkey a name of 1 to 100 characters/);
        assert.equal(await userNamed(username), undefined);
      }
      // Without a sign-up (no cookie) the ceremony page sends to the first page.
      const none = await new Browser(t).go('GET', '/account/signup/passkey/create/');
      assert.deepEqual([none.statusCode, none.headers.location], [303, '/account/signup/passkey/']);
    });

    it('field errors are shown as the password sign-up shows them, the values kept', async () => {
      const b = new Browser(t);
      const cases: Array<[Record<string, string>, string[]]> = [
        [{ username: '', email: 'someone@example.com' }, ['username']],
        [{ username: unique(), email: '' }, ['email']],
        [{ username: unique(), email: 'not-an-address' }, ['email']],
        [{ username: 'taken', email: 'new@example.com' }, ['username']],
      ];
      for (const [form, bad] of cases) {
        const r = await start(b, form);
        assertPage(r, 400, /^Sign up with a passkey$/);
        assert.match(text(r.body), /Please correct the fields marked below/);
        for (const f of bad) {
          assert.match(r.body, new RegExp(`id="f-${f}"[^>]*aria-invalid="true" aria-describedby="f-${f}-error"`), `${f} marked`);
          assert.match(r.body, new RegExp(`<p class="field-error" id="f-${f}-error">`));
        }
        if (form.email) assert.match(r.body, new RegExp(`value="${form.email}"`), 'the address kept');
        assert.ok(!b.jar.has('latchkey_signup'), 'no sign-up started');
      }
    });

    it('closed registration: no offer, the page says sign-up is closed, and a sign-up begun before closing makes no account', async () => {
      const b = new Browser(t);
      const signup = await b.go('GET', '/tenants/closed/account/signup/');
      assertPage(signup, 403);
      assert.doesNotMatch(signup.body, /signup\/passkey\//, 'no offer');
      for (const path of ['signup/passkey/', 'signup/passkey/create/']) {
        const r = await b.go('GET', `/tenants/closed/account/${path}`);
        assertPage(r, 403, /^Create an account$/);
        assert.match(text(r.body), /does not accept new accounts/);
      }
      const token = await b.token('/tenants/closed/account/login/');
      const posted = await b.go('POST', '/tenants/closed/account/signup/passkey/', { csrf_token: token, username: 'nobody', email: 'nobody@example.com' });
      assertPage(posted, 403);
      assert.equal(await userNamed('nobody', 'closed'), undefined);

      // Begun at acme, closed meanwhile: the answer makes nothing.
      const username = unique();
      assert.equal((await start(b, { username, email: `${username}@acme.test` }, '/tenants/acme')).statusCode, 303);
      const { options, token: t2 } = await ceremony(b, '/tenants/acme');
      await setting('acme', 'registration_enabled', 'false');
      try {
        const r = await answer(b, t2, new SoftAuthenticator(PUBLIC_URL).create(options), '/tenants/acme');
        assertPage(r, 403);
        assert.match(text(r.body), /does not accept new accounts/);
        assert.equal(await userNamed(username, 'acme'), undefined);
        assert.ok(!b.jar.has('sessionid'));
      } finally {
        await setting('acme', 'registration_enabled', 'true');
      }
    });

    it('CSRF: both forms refuse a missing, another browser\'s, truncated or empty token (403, no sign-up, no account)', async () => {
      const mine = new Browser(t);
      const theirs = new Browser(t);
      const theirToken = await theirs.token('/account/signup/passkey/');
      const username = unique();
      const myToken = await mine.token('/account/signup/passkey/');
      for (const [why, token] of [['missing', undefined], ['another browser\'s', theirToken], ['truncated', myToken.slice(0, -1)], ['empty', '']] as const) {
        const form = { username, email: `${username}@example.com` };
        const r = await mine.go('POST', '/account/signup/passkey/', token === undefined ? form : { ...form, csrf_token: token });
        assertPage(r, 403, /This form has expired/);
        assert.ok(!mine.jar.has('latchkey_signup'), `${why}: no sign-up started`);
      }
      // A sign-up under way: its answer posted without the right token makes nothing.
      assert.equal((await start(mine, { username, email: `${username}@example.com` })).statusCode, 303);
      const { options, token } = await ceremony(mine);
      const credential = JSON.stringify(new SoftAuthenticator(PUBLIC_URL).create(options));
      for (const bad of [undefined, theirToken, token.slice(0, -1), '']) {
        const r = await mine.go('POST', '/account/signup/passkey/create/', bad === undefined ? { name: 'Phone', credential } : { csrf_token: bad, name: 'Phone', credential });
        assertPage(r, 403, /This form has expired/);
      }
      // The right token without the form cookie (what another site's post carries).
      const bare = await t.request({ method: 'POST', url: '/account/signup/passkey/create/', headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: `latchkey_signup=${mine.jar.get('latchkey_signup')!.value}` }, payload: new URLSearchParams({ csrf_token: token, name: 'Phone', credential }).toString() });
      assertPage(bare, 403, /This form has expired/);
      assert.equal(await userNamed(username), undefined, 'no account made');
      assert.ok(!mine.jar.has('sessionid'));
    });

    it('another tenant\'s page makes the account in that tenant; a sign-up begun at one tenant does not finish at another', async () => {
      const b = new Browser(t);
      const username = unique();
      const started = await start(b, { username, email: `${username}@acme.test` }, '/tenants/acme');
      assert.deepEqual([started.statusCode, started.headers.location], [303, '/tenants/acme/account/signup/passkey/create/']);
      assert.equal(b.jar.get('latchkey_signup')!.path, '/tenants/acme/account/signup/passkey/');
      noteSecret(b.jar.get('latchkey_signup')!.value);
      const { options, token } = await ceremony(b, '/tenants/acme');
      assert.match(optionsOf((await b.go('GET', '/tenants/acme/account/signup/passkey/create/')).body).rp.name, /Acme & Co/);
      // The acme sign-up's cookie presented at the default tenant's page: as if there were none.
      const stolen = new Browser(t);
      stolen.jar.set('latchkey_signup', { value: b.jar.get('latchkey_signup')!.value, path: '/account/signup/passkey/' });
      const elsewhere = await stolen.go('GET', '/account/signup/passkey/create/');
      assert.deepEqual([elsewhere.statusCode, elsewhere.headers.location], [303, '/account/signup/passkey/']);
      const stolenToken = await stolen.token('/account/signup/passkey/');
      const posted = await answer(stolen, stolenToken, new SoftAuthenticator(PUBLIC_URL).create(options));
      assertPage(posted, 400, /^Sign up with a passkey$/);
      assert.equal(await userNamed(username), undefined);
      assert.equal(await userNamed(username, 'acme'), undefined);
      // At its own tenant it completes (fresh options: the ones above were drawn again since).
      const again = await ceremony(b, '/tenants/acme');
      const done = await answer(b, again.token || token, new SoftAuthenticator(PUBLIC_URL).create(again.options), '/tenants/acme');
      assert.deepEqual([done.statusCode, done.headers.location], [303, '/tenants/acme/account/'], done.body.slice(0, 400));
      noteSecret(b.jar.get('sessionid')!.value);
      assert.ok(await userNamed(username, 'acme'));
      assert.equal(await userNamed(username), undefined, 'not in the default tenant');
      // Its session is acme's: the default tenant's signed-in page does not know it.
      assert.equal((await b.go('GET', '/account/')).statusCode, 303);
    });

    it('a tenant that wants the address verified first: the account is made, no session, the "confirm your address" page', async () => {
      const b = new Browser(t);
      const username = unique();
      assert.equal((await start(b, { username, email: `${username}@verified.test` }, '/tenants/verified')).statusCode, 303);
      const { options, token } = await ceremony(b, '/tenants/verified');
      const r = await answer(b, token, new SoftAuthenticator(PUBLIC_URL).create(options), '/tenants/verified');
      assertPage(r, 201, /^Your account is ready$/);
      assert.match(text(r.body), /Open the link in the message we sent you to confirm your e-mail address/);
      assert.ok(!b.jar.has('sessionid'), 'nobody signed in yet');
      assert.ok(!b.jar.has('latchkey_signup'));
      const user = (await userNamed(username, 'verified'))!;
      assert.equal(user.passwordHash, null);
      assert.equal((await t.store.read.authenticators.forUser(user.pk)).length, 1);
      assert.ok(mail.sent.some((m) => m.to === `${username}@verified.test`));
    });

    it('sign-ups past the tenant\'s sign_in_start_ip_limit are a 429 page with Retry-After, and start nothing', async () => {
      const b = new Browser(t);
      const answers: number[] = [];
      let last: LightMyRequestResponse | undefined;
      for (let i = 0; i < 4; i++) {
        const username = unique();
        last = await start(b, { username, email: `${username}@tight.test` }, '/tenants/tight');
        answers.push(last.statusCode);
      }
      assert.equal(answers.at(-1), 429, String(answers));
      assertPage(last!, 429);
      assert.ok(Number(last!.headers['retry-after']) >= 1);
      assert.match(text(last!.body), /Too many attempts\. Wait \d+ seconds/);
      assert.equal(title(last!.body), 'Sign up with a passkey');
    });
  });
}
