// The second factor on the hosted pages over HTTP, on both engines, as a browser without
// JavaScript uses them: TOTP set up on the Security page with codes made by Debian's
// python3-pyotp from the key the page shows, the code step of a sign-in, recovery codes,
// "trust this browser", reauthentication before each change, and a tenant that requires a
// second factor.
//
// Threats: a stolen password signs in alone (no session before the code); the flow's token
// leaks into the page or another browser; a code is used twice; one recovery code twice; a
// trust cookie of one user skips another's code; a stolen, older session turns the second factor
// off or makes new recovery codes; a user who must enrol uses the account without enrolling; a
// reauthentication sends the browser off-site.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { ManualClock } from '../../src/core/index.ts';
import { Browser, assertPage, pyotpCode, pyotpSkip, text, title } from './support.ts';
import { addSecuritySection, addSignInExtra } from '../../src/http/pages/index.ts';
import { html } from '../../src/http/pages/html.ts';

const PW = 'pages-mfa-passphrase-1';

/** The key the set-up page shows as text (grouped by four, as typed into an app). */
const shownSecret = (body: string) => {
  const m = body.match(/<code class="secret"[^>]*>([A-Z2-7 ]+)<\/code>/);
  assert.ok(m, 'the key is shown as text');
  return m[1]!.replace(/ /g, '');
};
// What another module (passkeys) would add: drawn on every page of these suites, escaped.
addSecuritySection({ name: 'test-passkeys', render: async (ctx, d) => html`<h2>Passkeys of ${d.principal.user.username}</h2><p>${ctx.t('passkeysTitle')} ${'<script>x</script>'}</p>` });
addSignInExtra({ name: 'test-passkey-button', render: (_ctx, d) => html`<p class="extra">extra for ${d.step} in ${d.context} at ${d.action}</p>` });

const codesOf = (body: string) => [...body.matchAll(/<li><code>([a-z0-9-]+)<\/code><\/li>/g)].map((m) => m[1]!);

for (const { engine, skip } of engines) {
  describe(`second factor on the hosted pages [${engine.name}]`, { skip: skip || pyotpSkip }, () => {
    let t: TestApp;
    const clock = new ManualClock(Date.now());
    let secret = '';
    let recovery: string[] = [];
    let benKey = '';
    /** Ben's key, for a code of the next step. */
    const benSecret = async () => {
      clock.advance(30_000);
      return benKey;
    };
    /** The next TOTP step's code: each test moves the clock on so that no code is a replay. */
    const nextCode = async () => {
      clock.advance(30_000);
      return pyotpCode(secret, clock.now());
    };
    const signIn = async (b: Browser, login: string, prefix = '') => {
      const token = await b.token(`${prefix}/account/login/`);
      return { token, r: await b.go('POST', `${prefix}/account/login/`, { csrf_token: token, login, password: PW }) };
    };

    before(async () => {
      t = await startApp(engine, { clock });
      noteSecret(PW);
      await t.createUser({ username: 'root', password: PW, isSuperuser: true, isStaff: true });
      await t.createUser({ username: 'ann', password: PW, email: 'ann@example.com' });
      await t.createUser({ username: 'ben', password: PW });
      const acme = await t.core.tenants.create('acme', 'Acme');
      const root = await t.core.credentials.accessToken((await t.login('root', PW)).access);
      await t.core.settings.set(root, acme.pk, 'mfa_required', 'true');
      await t.createUser({ username: 'cleo', password: PW, tenant: 'acme' });
    });
    after(async () => { await t?.close(); });

    it('enrolment: the Security page sets up TOTP with its QR code and key; a wrong code is refused; a pyotp code turns it on and shows ten recovery codes once', async () => {
      const b = new Browser(t);
      const { r } = await signIn(b, 'ann');
      assert.deepEqual([r.statusCode, r.headers.location], [303, '/account/']);
      const home = await b.go('GET', '/account/');
      assert.match(home.body, /href="\/account\/security\/"/, 'the signed-in page links to Security');
      const security = await b.go('GET', '/account/security/');
      assertPage(security, 200, /^Security$/);
      assert.match(text(security.body), /You sign in with your password only/);
      assert.match(text(security.body), /No authenticator app is set up/);
      assert.doesNotMatch(security.body, /recovery-codes\//, 'no recovery codes to regenerate yet');

      const setup = await b.go('GET', '/account/security/totp/');
      assertPage(setup, 200, /Set up an authenticator app/);
      assert.match(setup.body, /<svg role="img" aria-label="QR code to scan with an authenticator app"/);
      secret = shownSecret(setup.body);
      noteSecret(secret);
      assert.match(secret, /^[A-Z2-7]{32}$/);
      // The same key on a second look (until it is confirmed), not a new one each time.
      assert.equal(shownSecret((await b.go('GET', '/account/security/totp/')).body), secret);

      const token = b.jar.get('latchkey_form')!.value;
      const wrong = await b.go('POST', '/account/security/totp/', { csrf_token: token, code: '000000' });
      assertPage(wrong, 400, /Set up an authenticator app/);
      assert.match(wrong.body, /id="f-code"[^>]*aria-invalid="true" aria-describedby="f-code-error"/);
      assert.equal(await t.core.secondFactors.enrolled((await t.store.read.users.findByUsername((await t.core.tenants.resolve(undefined)).pk, 'ann'))!.pk), false);
      assertPage(await b.go('POST', '/account/security/totp/', { code: await pyotpCode(secret, clock.now()) }), 403, /expired/);

      const on = await b.go('POST', '/account/security/totp/', { csrf_token: token, code: await pyotpCode(secret, clock.now()) });
      assertPage(on, 200, /Your recovery codes/);
      recovery = codesOf(on.body);
      recovery.forEach(noteSecret);
      assert.equal(recovery.length, 10);
      assert.match(text(on.body), /will not be shown again/);
      const after = await b.go('GET', '/account/security/');
      assert.match(text(after.body), /An authenticator app is set up/);
      assert.match(text(after.body), /10 of 10 recovery codes left/);
      assert.match(text(after.body), /Authenticator app added/);
      for (const code of recovery) assert.ok(!after.body.includes(code), 'the codes are not shown again');
      assert.equal((await b.go('GET', '/account/security/totp/')).statusCode, 303, 'nothing to set up once on');
    });

    it('signing in: the password alone gives no session but the code step (its token in a Strict HttpOnly cookie, not in the page); a wrong code keeps the step; a pyotp code signs in with amr pwd+otp; the code does not work twice', async () => {
      const b = new Browser(t);
      const { token, r } = await signIn(b, 'ann');
      assert.deepEqual([r.statusCode, r.headers.location], [303, '/account/login/code/']);
      assert.equal(b.jar.has('sessionid'), false, 'no session after the password');
      const set = String(r.headers['set-cookie']);
      assert.match(set, /latchkey_signin=[\w-]+; Path=\/account\/login\/; Expires=[^;]+; HttpOnly; SameSite=Strict/);
      const flow = b.jar.get('latchkey_signin')!.value;
      noteSecret(flow);
      assert.equal((await b.go('GET', '/account/')).statusCode, 303, 'not signed in');
      const step = await b.go('GET', '/account/login/code/');
      assertPage(step, 200, /Enter your code/);
      assert.ok(!step.body.includes(flow), 'the flow token is not in the page');
      assert.match(step.body, /autocomplete="one-time-code"/);
      assert.match(step.body, /type="checkbox" name="trust" value="yes"/);

      const wrong = await b.go('POST', '/account/login/code/', { csrf_token: token, code: '123456' });
      assertPage(wrong, 400, /Enter your code/);
      assert.match(text(wrong.body), /That code is not right/);
      assert.equal(b.jar.has('sessionid'), false);
      assertPage(await b.go('POST', '/account/login/code/', { csrf_token: token, code: '' }), 400, /Enter your code/);
      // Without the form token: refused before anything is checked.
      const code = await nextCode();
      assertPage(await b.go('POST', '/account/login/code/', { code }), 403);
      // Another browser with the form token but not the flow's cookie: a new sign-in.
      const other = new Browser(t);
      const otherToken = await other.token('/account/login/');
      const stolen = await other.go('POST', '/account/login/code/', { csrf_token: otherToken, code });
      assertPage(stolen, 400, /^Sign in$/);
      assert.match(text(stolen.body), /expired/);

      const ok = await b.go('POST', '/account/login/code/', { csrf_token: token, code });
      assert.deepEqual([ok.statusCode, ok.headers.location], [303, '/account/']);
      assert.equal(b.jar.has('latchkey_signin'), false, 'the flow cookie is cleared');
      const session = b.jar.get('sessionid')!.value;
      noteSecret(session);
      const principal = (await t.core.credentials.session(session))!.principal;
      assert.deepEqual(principal.amr, ['pwd', 'otp']);
      assertPage(await b.go('GET', '/account/'), 200, /You are signed in/);

      // The same code in a new sign-in (its window is still open): refused.
      const c = new Browser(t);
      const again = await signIn(c, 'ann');
      assert.equal(again.r.statusCode, 303);
      const replay = await c.go('POST', '/account/login/code/', { csrf_token: again.token, code });
      assertPage(replay, 400, /Enter your code/);
      // A replayed flow cookie (the finished one) does not sign in.
      c.jar.set('latchkey_signin', { value: flow, path: '/account/login/' });
      assertPage(await c.go('POST', '/account/login/code/', { csrf_token: again.token, code: await nextCode() }), 400, /^Sign in$/);
      // `next` goes through the step.
      const d = new Browser(t);
      const dt = await d.token('/account/login/?next=/account/security/');
      const withNext = await d.go('POST', '/account/login/', { csrf_token: dt, login: 'ann', password: PW, next: '/account/security/' });
      assert.equal(withNext.headers.location, '/account/login/code/?next=%2Faccount%2Fsecurity%2F');
      const stepNext = await d.go('GET', String(withNext.headers.location));
      assert.match(stepNext.body, /name="next" value="\/account\/security\/"/);
      const landed = await d.go('POST', '/account/login/code/', { csrf_token: dt, code: await nextCode(), next: '/account/security/' });
      assert.equal(landed.headers.location, '/account/security/');
    });

    it('a recovery code signs in once and says how many are left; the same code again is refused', async () => {
      const b = new Browser(t);
      const { token } = await signIn(b, 'ann@example.com');
      const used = await b.go('POST', '/account/login/code/', { csrf_token: token, code: recovery[0]!.toUpperCase() });
      assertPage(used, 200, /signed in with a recovery code/);
      assert.match(text(used.body), /You have 9 recovery codes left/);
      assert.ok(b.jar.has('sessionid'));
      assert.deepEqual((await t.core.credentials.session(b.jar.get('sessionid')!.value))!.principal.amr, ['pwd', 'rc']);
      const c = new Browser(t);
      const second = await signIn(c, 'ann');
      assertPage(await c.go('POST', '/account/login/code/', { csrf_token: second.token, code: recovery[0]! }), 400, /Enter your code/);
      assert.equal(c.jar.has('sessionid'), false);
      assert.match(text((await b.go('GET', '/account/security/')).body), /9 of 10 recovery codes left/);
    });

    it('trust this browser: the next sign-in of the same user skips the code; the cookie does not skip another user\'s', async () => {
      const b = new Browser(t);
      const { token } = await signIn(b, 'ann');
      const ok = await b.go('POST', '/account/login/code/', { csrf_token: token, code: await nextCode(), trust: 'yes' });
      assert.equal(ok.statusCode, 303);
      assert.match(String(ok.headers['set-cookie']), /latchkey_trust=[\w-]+; Path=\/; Expires=[^;]+; HttpOnly; SameSite=Lax/);
      const trust = b.jar.get('latchkey_trust')!.value;
      noteSecret(trust);
      const again = await signIn(b, 'ann');
      assert.deepEqual([again.r.statusCode, again.r.headers.location], [303, '/account/'], 'no code asked');
      assert.deepEqual((await t.core.credentials.session(b.jar.get('sessionid')!.value))!.principal.amr, ['pwd'], 'one factor, said so');
      // Ben enrols too; Ann's trust cookie in Ben's browser does not skip Ben's code.
      const ben = await t.store.read.users.findByUsername((await t.core.tenants.resolve(undefined)).pk, 'ben');
      const setup = await t.core.secondFactors.totpSetup(await t.core.tenants.resolve(undefined), ben!);
      benKey = setup.secret;
      noteSecret(benKey);
      await t.core.secondFactors.totpActivate(await t.core.tenants.resolve(undefined), ben!, await pyotpCode(setup.secret, clock.now()));
      const c = new Browser(t);
      c.jar.set('latchkey_trust', { value: trust, path: '/' });
      const benIn = await signIn(c, 'ben');
      assert.equal(benIn.r.headers.location, '/account/login/code/');
    });

    it('reauthentication: an older session is asked its password (or a code) before turning TOTP off or making new recovery codes; next stays in the Security pages', async () => {
      const b = new Browser(t);
      const { token } = await signIn(b, 'ann');
      await b.go('POST', '/account/login/code/', { csrf_token: token, code: await nextCode() });
      assert.ok(b.jar.has('sessionid'));
      clock.advance(301_000);
      const off = await b.go('POST', '/account/security/totp/off/', { csrf_token: token });
      assert.deepEqual([off.statusCode, off.headers.location], [303, '/account/security/reauthenticate/?next=%2Faccount%2Fsecurity%2F']);
      const regen = await b.go('POST', '/account/security/recovery-codes/', { csrf_token: token });
      assert.equal(regen.statusCode, 303);
      assert.match(text((await b.go('GET', '/account/security/')).body), /An authenticator app is set up/, 'nothing changed');
      const page = await b.go('GET', String(off.headers.location));
      assertPage(page, 200, /Confirm it is you/);
      assert.match(page.body, /name="password"/);
      assert.match(page.body, /name="code"/, 'a code works too');
      const wrong = await b.go('POST', '/account/security/reauthenticate/', { csrf_token: token, method: 'password', password: 'not-it-at-all', next: '/account/security/' });
      assertPage(wrong, 400, /Confirm it is you/);
      assert.match(text(wrong.body), /That password is not right/);
      const wrongCode = await b.go('POST', '/account/security/reauthenticate/', { csrf_token: token, method: 'code', code: '000000', next: '/account/security/' });
      assertPage(wrongCode, 400, /Confirm it is you/);
      const offsite = await b.go('POST', '/account/security/reauthenticate/', { csrf_token: token, method: 'code', code: await nextCode(), next: 'https://evil.test/' });
      assert.deepEqual([offsite.statusCode, offsite.headers.location], [303, '/account/security/'], 'a code reauthenticates; next stays here');

      const fresh = await b.go('POST', '/account/security/recovery-codes/', { csrf_token: token });
      assertPage(fresh, 200, /Your recovery codes/);
      const newCodes = codesOf(fresh.body);
      newCodes.forEach(noteSecret);
      assert.equal(newCodes.length, 10);
      // The old codes are gone.
      const c = new Browser(t);
      const s = await signIn(c, 'ann');
      assertPage(await c.go('POST', '/account/login/code/', { csrf_token: s.token, code: recovery[1]! }), 400);
      const byNew = await c.go('POST', '/account/login/code/', { csrf_token: s.token, code: newCodes[0]! });
      assertPage(byNew, 200, /recovery code/);

      clock.advance(301_000);
      await b.go('POST', '/account/security/totp/off/', { csrf_token: token });
      await b.go('POST', '/account/security/reauthenticate/', { csrf_token: token, method: 'password', password: PW, next: '/account/security/' });
      const turnedOff = await b.go('POST', '/account/security/totp/off/', { csrf_token: token });
      assert.deepEqual([turnedOff.statusCode, turnedOff.headers.location], [303, '/account/security/?done=totp-off']);
      const now = await b.go('GET', String(turnedOff.headers.location));
      assert.match(text(now.body), /The authenticator app is off/);
      assert.match(text(now.body), /You have no recovery codes/, 'the recovery codes went with the last factor');
      // The trusted browsers went too: the password alone signs in, as for any account without a second factor.
      const d = new Browser(t);
      assert.equal((await signIn(d, 'ann')).r.headers.location, '/account/');
    });

    it('mfa_required: a user without a second factor lands on the Security page, may use nothing else (not even the APIs with that session) until TOTP is on', async () => {
      const b = new Browser(t);
      const { token, r } = await signIn(b, 'cleo', '/tenants/acme');
      assert.deepEqual([r.statusCode, r.headers.location], [303, '/tenants/acme/account/security/']);
      const security = await b.go('GET', '/tenants/acme/account/security/');
      assertPage(security, 200, /^Security$/);
      assert.match(text(security.body), /Your organisation requires a second factor/);
      assert.doesNotMatch(security.body, /href="\/tenants\/acme\/account\/"/, 'no way onwards but enrolling or signing out');
      assert.equal((await b.go('GET', '/tenants/acme/account/')).headers.location, '/tenants/acme/account/security/');
      const cookie = `sessionid=${b.jar.get('sessionid')!.value}`;
      noteSecret(b.jar.get('sessionid')!.value);
      const api = await t.request({ method: 'GET', url: '/api/auth/user/', headers: { cookie, 'x-tenant': 'acme' } });
      assert.equal(api.statusCode, 403, api.body);

      const setup = await b.go('GET', '/tenants/acme/account/security/totp/');
      const key = shownSecret(setup.body);
      noteSecret(key);
      const on = await b.go('POST', '/tenants/acme/account/security/totp/', { csrf_token: token, code: await pyotpCode(key, clock.now()) });
      assertPage(on, 200, /Your recovery codes/);
      codesOf(on.body).forEach(noteSecret);
      assertPage(await b.go('GET', '/tenants/acme/account/'), 200, /You are signed in/);
      assert.equal((await t.request({ method: 'GET', url: '/api/auth/user/', headers: { cookie, 'x-tenant': 'acme' } })).statusCode, 200, 'the same session, now enrolled');
      // The next sign-in asks the code.
      const c = new Browser(t);
      assert.equal((await signIn(c, 'cleo', '/tenants/acme')).r.headers.location, '/tenants/acme/account/login/code/');
    });

    it('every Security form refuses a POST without the form token (403, nothing changed); other modules\' sections and sign-in extras are drawn where they belong', async () => {
      const b = new Browser(t);
      const { token } = await signIn(b, 'ben');
      const step = await b.go('GET', '/account/login/code/');
      assert.match(step.body, /<p class="extra">extra for mfa in pages at \/account\/login\/code\/<\/p>/);
      await b.go('POST', '/account/login/code/', { csrf_token: token, code: await pyotpCode((await benSecret()), clock.now()) });
      assert.ok(b.jar.has('sessionid'));
      const security = await b.go('GET', '/account/security/');
      assert.match(security.body, /<section><h2>Passkeys of ben<\/h2><p>Passkeys &lt;script&gt;x&lt;\/script&gt;<\/p><\/section>/, 'a section, escaped');
      assert.match((await new Browser(t).go('GET', '/account/login/')).body, /extra for password in pages at \/account\/login\//);
      const before = text(security.body);
      for (const page of ['security/totp/', 'security/totp/off/', 'security/recovery-codes/', 'security/reauthenticate/']) {
        for (const form of [{}, { csrf_token: 'x'.repeat(43) }] as Array<Record<string, string>>) {
          assertPage(await b.go('POST', `/account/${page}`, { ...form, code: '123456', password: PW }), 403, /expired/);
        }
      }
      assert.equal(text((await b.go('GET', '/account/security/')).body), before, 'nothing changed');
    });

    it('the code step and the Security page in French; signed out, the Security pages send to the sign-in and back', async () => {
      const fr = new Browser(t, { 'accept-language': 'fr' });
      const { token } = await signIn(fr, 'ben');
      const step = await fr.go('GET', '/account/login/code/');
      assert.equal(title(step.body), 'Saisissez votre code');
      assert.match(text(step.body), /Faire confiance à ce navigateur pendant 30 jours/);
      const wrong = await fr.go('POST', '/account/login/code/', { csrf_token: token, code: '000000' });
      assert.match(text(wrong.body), /Ce code est incorrect/);
      const anon = new Browser(t);
      for (const page of ['security/', 'security/totp/', 'security/reauthenticate/']) {
        const r = await anon.go('GET', `/account/${page}`);
        assert.deepEqual([r.statusCode, r.headers.location], [303, '/account/login/?next=%2Faccount%2Fsecurity%2F'], page);
      }
      const at = await anon.token('/account/login/');
      for (const page of ['security/totp/', 'security/totp/off/', 'security/recovery-codes/', 'security/reauthenticate/']) {
        assert.equal((await anon.go('POST', `/account/${page}`, { csrf_token: at, code: '123456', password: PW })).statusCode, 303, page);
      }
      assert.equal((await anon.go('GET', '/account/login/code/')).headers.location, '/account/login/', 'no flow: back to the password');
    });
  });
}
