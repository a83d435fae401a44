// The OpenID provider with second factors, through openid-client and the interaction pages as a
// browser without JavaScript posts them: a user with TOTP is asked the code (made by Debian's
// python3-pyotp) after the password, and the ID token and the access token say so (`amr` per
// RFC 8176, `acr` urn:latchkey:acr:2fa); a user without one gets acr 1fa; a client asking for
// two factors (acr_values) gets the code asked even on a trusted browser or with a one-factor
// session, and for an account without a second factor the answer is OpenID Connect's
// unmet_authentication_requirements at the client's redirect URI. A tenant that requires a
// second factor sends a user without one to enrol first.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oc from 'openid-client';
import { decodeJwt } from 'jose';
import { engines } from '../helpers/engines.ts';
import { ManualClock } from '../../src/core/index.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { pyotpCode, pyotpSkip } from '../pages/support.ts';
import { Browser, formOf, oidcApp, PASSWORD, REDIRECT, type OidcApp } from './support.ts';

const ACR_1FA = 'urn:latchkey:acr:1fa';
const ACR_2FA = 'urn:latchkey:acr:2fa';

for (const { engine, skip } of engines) {
  describe(`OpenID provider with second factors (${engine.name})`, { skip: skip || pyotpSkip }, () => {
    let app: OidcApp;
    let config: oc.Configuration;
    let secret = '';
    let recovery: string[] = [];
    // The core's clock, moved on one TOTP step for each code (a code works once); the provider keeps real time.
    const clock = new ManualClock(Date.now());
    const freshCode = async () => {
      clock.advance(30_000);
      return pyotpCode(secret, clock.now());
    };

    before(async () => {
      app = await oidcApp(engine, { clock });
      await app.t.createUser({ username: 'tess', password: PASSWORD, email: 'tess@example.com' });
      await app.t.createUser({ username: 'uma', password: PASSWORD });
      const tenant = await app.t.core.tenants.resolve(undefined);
      const tess = (await app.t.store.read.users.findByUsername(tenant.pk, 'tess'))!;
      const setup = await app.t.core.secondFactors.totpSetup(tenant, tess);
      secret = setup.secret;
      noteSecret(secret);
      const made = await app.t.core.secondFactors.totpActivate(tenant, tess, await pyotpCode(secret, clock.now()));
      recovery = made.recoveryCodes ?? [];
      recovery.forEach(noteSecret);
      const c = await app.client({ first_party: true });
      config = await oc.discovery(new URL(app.issuer()), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
    });
    after(() => app?.close());

    /** The authorization request, the password form, and (when asked) the code form: answers the last page or redirect. */
    async function authorize(opts: { username: string; browser?: Browser; extra?: Record<string, string>; code?: () => Promise<string>; trust?: boolean }) {
      const verifier = oc.randomPKCECodeVerifier();
      const state = oc.randomState();
      const url = oc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid profile', state, code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', ...opts.extra });
      const browser = opts.browser ?? new Browser();
      let page = await browser.follow(url.href, app.base);
      let asked = { password: false, code: false };
      if (page.status === 200 && page.text.includes('name="password"')) {
        asked.password = true;
        const form = formOf(page);
        page = await browser.follow(form.action, app.base, { form: { ...form.fields, login: opts.username, password: PASSWORD } });
      }
      let codeForm: string | undefined = page.text.includes('name="code"') ? page.text : undefined;
      if (codeForm) asked.code = true;
      if (page.status === 200 && page.text.includes('name="code"') && opts.code) {
        asked.code = true;
        codeForm = page.text;
        const form = formOf(page);
        const fields: Record<string, string> = { ...form.fields, code: await opts.code() };
        if (opts.trust) fields.trust = 'yes';
        else delete fields.trust;
        page = await browser.follow(form.action, app.base, { form: fields });
      }
      return { page, asked, codeForm, verifier, state, browser };
    }

    async function tokensOf(r: Awaited<ReturnType<typeof authorize>>) {
      assert.ok(r.page.location?.startsWith(REDIRECT), `expected the callback: ${r.page.status} ${r.page.location} ${r.page.text.slice(0, 300)}`);
      const tokens = await oc.authorizationCodeGrant(config, new URL(r.page.location!), { pkceCodeVerifier: r.verifier, expectedState: r.state });
      noteSecret(tokens.access_token);
      return { tokens, id: tokens.claims()!, at: decodeJwt(tokens.access_token) };
    }

    it('discovery says which acr values the provider knows', async () => {
      const meta = config.serverMetadata();
      assert.deepEqual(meta.acr_values_supported, [ACR_1FA, ACR_2FA]);
      assert.ok((meta.claims_supported ?? []).includes('amr'));
    });

    it('a user with TOTP is asked the code after the password; a wrong code keeps the step; the ID and access tokens carry amr pwd+otp+mfa and acr 2fa', async () => {
      const wrongFirst = async () => '000000';
      const w = await authorize({ username: 'tess', code: wrongFirst });
      assert.ok(w.asked.code);
      assert.equal(w.page.status, 400);
      assert.match(w.page.text, /That code is not right/);
      assert.match(w.codeForm!, /name="trust"/, 'trust this browser is offered');
      const form = formOf(w.page);
      const done = await w.browser.follow(form.action, app.base, { form: { ...form.fields, code: await freshCode() } });
      const { id, at } = await tokensOf({ ...w, page: done });
      assert.deepEqual(id.amr, ['pwd', 'otp', 'mfa']);
      assert.equal(id.acr, ACR_2FA);
      assert.deepEqual(at.amr, ['pwd', 'otp', 'mfa']);
      assert.equal(at.acr, ACR_2FA);
      assert.equal(typeof id.auth_time, 'number');
    });

    it('a recovery code signs in too: a page says how many are left, its link goes on to the client; amr pwd+rc+mfa, acr 2fa', async () => {
      const r = await authorize({ username: 'tess', code: async () => recovery[0]! });
      assert.equal(r.page.status, 200, r.page.text.slice(0, 300));
      assert.match(r.page.text, /You have 9 recovery codes left/);
      const link = /<li><a href="([^"]+)">Continue<\/a>/.exec(r.page.text)?.[1];
      assert.ok(link, 'a link onwards');
      const page = await r.browser.follow(new URL(link!.replace(/&amp;/g, '&'), app.base).href, app.base);
      const { id } = await tokensOf({ ...r, page });
      assert.deepEqual(id.amr, ['pwd', 'rc', 'mfa']);
      assert.equal(id.acr, ACR_2FA);
      // The same recovery code again: refused.
      const again = await authorize({ username: 'tess', code: async () => recovery[0]! });
      assert.equal(again.page.status, 400);
    });

    it('the code form without its interaction\'s cookie starts again; without the form token it is refused', async () => {
      const first = await authorize({ username: 'tess' });
      assert.ok(first.page.text.includes('name="code"'));
      const form = formOf(first.page);
      const bare = await first.browser.follow(form.action, app.base, { form: { code: '123456' } });
      assert.equal(bare.status, 403);
      // Another browser has neither the interaction nor the flow.
      const other = await new Browser().follow(form.action, app.base, { form: { ...form.fields, code: '123456' } });
      assert.equal(other.status, 400);
    });

    it('a user without a second factor signs in with one: amr pwd, acr 1fa', async () => {
      const { id, at } = await tokensOf(await authorize({ username: 'uma' }));
      assert.deepEqual(id.amr, ['pwd']);
      assert.equal(id.acr, ACR_1FA);
      assert.equal(at.acr, ACR_1FA);
    });

    it('acr_values for two factors: a trusted browser is asked the code anyway; a one-factor session is asked to sign in again', async () => {
      const trusted = await authorize({ username: 'tess', code: freshCode, trust: true });
      const first = await tokensOf(trusted);
      assert.equal(first.id.acr, ACR_2FA);
      // A new sign-in on the trusted browser (prompt=login): no code, one factor.
      const skip = await authorize({ username: 'tess', browser: trusted.browser, extra: { prompt: 'login' } });
      assert.equal(skip.asked.code, false, 'the trusted browser skips the code');
      const one = await tokensOf(skip);
      assert.deepEqual(one.id.amr, ['pwd']);
      assert.equal(one.id.acr, ACR_1FA);
      // Now the client asks for two factors: the one-factor session is not enough, and the trust cookie does not skip the code.
      const two = await authorize({ username: 'tess', browser: trusted.browser, extra: { acr_values: ACR_2FA }, code: freshCode });
      assert.ok(two.asked.password && two.asked.code, 'the password and the code are asked');
      assert.doesNotMatch(two.codeForm!, /name="trust"/, 'no trust offered when two factors are asked');
      const strong = await tokensOf(two);
      assert.equal(strong.id.acr, ACR_2FA);
      // With a two-factor session, asking again signs in without a form.
      const silent = await authorize({ username: 'tess', browser: trusted.browser, extra: { acr_values: ACR_2FA } });
      assert.equal(silent.asked.password, false);
      assert.equal((await tokensOf(silent)).id.acr, ACR_2FA);
    });

    it('acr_values for two factors and an account without a second factor: unmet_authentication_requirements at the client', async () => {
      const r = await authorize({ username: 'uma', extra: { acr_values: ACR_2FA } });
      assert.ok(r.page.location?.startsWith(REDIRECT), `${r.page.status} ${r.page.text.slice(0, 200)}`);
      const back = new URL(r.page.location!);
      assert.equal(back.searchParams.get('error'), 'unmet_authentication_requirements');
      assert.equal(back.searchParams.get('state'), r.state);
      assert.equal(back.searchParams.get('code'), null);
      // Either class accepted: one factor will do.
      const either = await tokensOf(await authorize({ username: 'uma', extra: { acr_values: `${ACR_2FA} ${ACR_1FA}` } }));
      assert.equal(either.id.acr, ACR_1FA);
    });

    it('a tenant that requires a second factor: a user without one is sent to enrol on the Security page, no code reaches the client', async () => {
      await app.t.core.tenants.create('strict', 'Strict');
      const tenant = await app.t.core.tenants.resolve('strict');
      const boss = await app.t.core.credentials.accessToken((await app.t.login('boss', PASSWORD)).access);
      await app.t.core.settings.set(boss, tenant.pk, 'mfa_required', 'true');
      await app.t.createUser({ username: 'vic', password: PASSWORD, tenant: 'strict' });
      const c = await app.client({ tenant: 'strict', first_party: true });
      const strict = await oc.discovery(new URL(app.issuer('strict')), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
      const url = oc.buildAuthorizationUrl(strict, { redirect_uri: REDIRECT, scope: 'openid', state: 's', code_challenge: await oc.calculatePKCECodeChallenge(oc.randomPKCECodeVerifier()), code_challenge_method: 'S256' });
      const browser = new Browser();
      const page = await browser.follow(url.href, app.base);
      const form = formOf(page);
      const out = await browser.follow(form.action, app.base, { form: { ...form.fields, login: 'vic', password: PASSWORD } });
      assert.equal(out.status, 403);
      assert.match(out.text, /requires a second factor/);
      assert.match(out.text, /href="\/tenants\/strict\/account\/login\/\?next=%2Ftenants%2Fstrict%2Faccount%2Fsecurity%2F"/);
      assert.equal(out.location, undefined);
    });
  });
}
