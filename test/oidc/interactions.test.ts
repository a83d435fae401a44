// The authorization request's parameters as a person meets them on the hosted pages, through a
// browser without JavaScript: first-party clients sign in without a consent page and third-party
// ones ask for it (deny is access_denied at the client); an unknown scope is invalid_scope, not
// dropped; prompt=login / none / consent, max_age, login_hint and ui_locales; request objects
// (alg none, HS256 under a wrong key, an unknown kid) and id_token_hint tricks get standard
// errors, never a 500; RP-initiated logout's pages are the hosted pages' own, in both languages.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import * as oc from 'openid-client';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { Browser, codeFlow, formOf, oidcApp, PASSWORD, REDIRECT, type OidcApp } from './support.ts';

const insecure = { execute: [oc.allowInsecureRequests] };
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const b64 = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');

for (const { engine, skip } of engines) {
  describe(`authorization requests on the hosted pages (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    before(async () => {
      app = await oidcApp(engine);
      await app.t.createUser({ username: 'riley', password: PASSWORD, email: 'riley@example.com' });
    });
    after(() => app.close());

    /** The authorization URL of `client_id` with the given parameters (PKCE challenge, redirect URI and scope by default). */
    const authUrl = (clientId: string, params: Record<string, string> = {}) => {
      const url = new URL(`${app.base}/oidc/auth`);
      url.search = new URLSearchParams({ client_id: clientId, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, state: 'st', code_challenge: CHALLENGE, code_challenge_method: 'S256', ...params }).toString();
      return url.href;
    };
    /** Posts the sign-in form of `page` as the user. */
    const signIn = (b: Browser, page: { text: string; url: string }, login = 'riley') => {
      const form = formOf(page);
      noteSecret(PASSWORD);
      return b.follow(form.action, app.base, { form: { ...form.fields, login, password: PASSWORD } });
    };
    const isSignIn = (page: { status: number; text: string }) => page.status === 200 && page.text.includes('name="password"');
    const isConsent = (page: { status: number; text: string }) => page.status === 200 && page.text.includes('name="decision"');
    const errorAt = (page: { location?: string }) => {
      assert.ok(page.location?.startsWith(REDIRECT), `a redirect to the client, got ${page.location}`);
      return new URL(page.location!).searchParams;
    };

    it('a first-party client signs the user in without a consent page; a third-party one asks, and a refusal is access_denied', async () => {
      const r = await app.t.request({ method: 'POST', url: '/api/clients/', headers: app.admin, payload: { name: 'Our own app', grant_types: ['authorization_code', 'refresh_token'], redirect_uris: [REDIRECT], first_party: true } });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().first_party, true);
      noteSecret(r.json().client_secret);
      const own = r.json() as { client_id: string; client_secret: string };
      const b = new Browser();
      const page = await b.follow(authUrl(own.client_id, { scope: 'openid profile email offline_access' }), app.base);
      assert.ok(isSignIn(page));
      const done = await signIn(b, page);
      const code = errorAt(done).get('code');
      assert.ok(code, `a code without a consent page: ${done.status} ${done.text.slice(0, 200)}`);
      // The grant holds what was asked: the tokens carry the scopes and a refresh token.
      const config = await oc.discovery(new URL(app.base), own.client_id, undefined, oc.ClientSecretBasic(own.client_secret), insecure);
      const tokens = await oc.authorizationCodeGrant(config, new URL(done.location!), { pkceCodeVerifier: 'dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk', expectedState: 'st' });
      noteSecret(tokens.access_token);
      noteSecret(tokens.refresh_token);
      // offline_access is granted only with prompt=consent (OpenID Connect's rule, kept by the
      // library); a first-party client with the refresh_token grant gets a refresh token anyway.
      assert.deepEqual(tokens.scope?.split(' ').sort(), ['email', 'openid', 'profile']);
      assert.ok(tokens.refresh_token);
      noteSecret((await oc.refreshTokenGrant(config, tokens.refresh_token!)).access_token);
      assert.equal(tokens.claims()!.email, 'riley@example.com');
      // prompt=consent is the client asking for the page: it is shown, first party or not.
      const asked = await b.follow(authUrl(own.client_id, { prompt: 'consent' }), app.base);
      assert.ok(isConsent(asked), asked.text.slice(0, 300));

      // Turned third party over the API: the consent page.
      const patched = await app.t.request({ method: 'PATCH', url: `/api/clients/${own.client_id}/`, headers: app.admin, payload: { first_party: false } });
      assert.equal(patched.json().first_party, false);
      const third = await app.client({ name: 'Partner <app>' });
      const b2 = new Browser();
      const consent = await signIn(b2, await b2.follow(authUrl(third.client_id, { scope: 'openid email' }), app.base));
      assert.ok(isConsent(consent));
      assert.match(consent.text, /Partner &lt;app&gt; asks to use your/);
      assert.match(consent.text, /See your e-mail address/);
      const form = formOf(consent);
      const denied = await b2.follow(form.action, app.base, { form: { ...form.fields, decision: 'deny' } });
      assert.equal(errorAt(denied).get('error'), 'access_denied');
      assert.equal(errorAt(denied).get('state'), 'st');
      // The consent form holds the pages' form token: without it, a 403 page and no decision.
      const again = await b2.follow(authUrl(third.client_id), app.base);
      assert.ok(isConsent(again));
      const forged = await b2.follow(formOf(again).action, app.base, { form: { decision: 'allow' } });
      assert.equal(forged.status, 403);
      assert.equal(forged.location, undefined);
      // Allowed once, the same scopes do not ask again.
      const allowed = await b2.follow(formOf(again).action, app.base, { form: { ...formOf(again).fields, decision: 'allow' } });
      assert.ok(errorAt(allowed).get('code'));
      assert.ok(errorAt(await b2.follow(authUrl(third.client_id), app.base)).get('code'));
    });

    it('an unknown scope is invalid_scope at the client, with or without a session, not dropped in silence', async () => {
      const c = await app.client({ first_party: true });
      for (const scope of ['openid admin', 'openid profile write:all', 'reports']) {
        const r = await new Browser().follow(authUrl(c.client_id, { scope }), app.base);
        assert.ok(r.location, `${scope}: ${r.status} ${r.text.slice(0, 500)}`);
        const q = errorAt(r);
        assert.equal(q.get('error'), 'invalid_scope', scope);
        assert.equal(q.get('state'), 'st');
      }
      // Signed in already: still refused.
      const flow = await codeFlow(app, await oc.discovery(new URL(app.base), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), insecure), { scope: 'openid', username: 'riley' });
      const r = await flow.browser.follow(authUrl(c.client_id, { scope: 'openid admin' }), app.base);
      assert.equal(errorAt(r).get('error'), 'invalid_scope');
      // A malformed scope likewise; an unregistered redirect URI still gets the error page, never a redirect.
      assert.equal(errorAt(await new Browser().follow(authUrl(c.client_id, { scope: 'openid "x"' }), app.base)).get('error'), 'invalid_scope');
      const page = await new Browser().follow(authUrl(c.client_id, { scope: 'openid admin', redirect_uri: 'https://evil.example/cb' }), app.base);
      assert.equal(page.status, 400);
      assert.equal(page.location, undefined);
      assert.match(page.text, /Unknown return address/);
    });

    it('prompt=login asks for the password again, prompt=none answers login_required without a session and a code with one, max_age=0 asks again', async () => {
      const c = await app.client({ first_party: true });
      const none = await new Browser().follow(authUrl(c.client_id, { prompt: 'none' }), app.base);
      assert.equal(errorAt(none).get('error'), 'login_required');
      const b = new Browser();
      const first = await signIn(b, await b.follow(authUrl(c.client_id), app.base));
      assert.ok(errorAt(first).get('code'));
      // A session: no page at all, with or without prompt=none.
      assert.ok(errorAt(await b.follow(authUrl(c.client_id), app.base)).get('code'));
      assert.ok(errorAt(await b.follow(authUrl(c.client_id, { prompt: 'none' }), app.base)).get('code'));
      // prompt=login and max_age=0: the sign-in page again, though a session exists.
      for (const params of [{ prompt: 'login' }, { max_age: '0' }] as Array<Record<string, string>>) {
        const page = await b.follow(authUrl(c.client_id, params), app.base);
        assert.ok(isSignIn(page), JSON.stringify(params));
        const done = await signIn(b, page);
        assert.ok(errorAt(done).get('code'), JSON.stringify(params));
      }
      // max_age long enough: no page; the ID token says when the user signed in.
      const config = await oc.discovery(new URL(app.base), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), insecure);
      const flow = await codeFlow(app, config, { scope: 'openid', username: 'riley', browser: b, extra: { max_age: '3600' } });
      const tokens = await oc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state, maxAge: 3600 });
      noteSecret(tokens.access_token);
      assert.equal(typeof tokens.claims()!.auth_time, 'number');
      // prompt=none with a consent still owed (a third-party client): consent_required, no page.
      const third = await app.client({});
      assert.equal(errorAt(await b.follow(authUrl(third.client_id, { prompt: 'none' }), app.base)).get('error'), 'consent_required');
      // An unknown prompt value is invalid_request.
      assert.equal(errorAt(await b.follow(authUrl(c.client_id, { prompt: 'sideways' }), app.base)).get('error'), 'invalid_request');
    });

    it('login_hint fills in the name, escaped; ui_locales picks the pages\' language over Accept-Language', async () => {
      const c = await app.client({});
      const hinted = await new Browser().follow(authUrl(c.client_id, { login_hint: 'riley@example.com' }), app.base);
      assert.ok(isSignIn(hinted));
      assert.equal(formOf(hinted).fields.login, 'riley@example.com');
      assert.match(hinted.text, /id="f-password"[^>]*autofocus/, 'the focus goes to the password');
      const evil = await new Browser().follow(authUrl(c.client_id, { login_hint: '"><script>alert(1)</script>' }), app.base);
      assert.ok(!evil.text.includes('<script>'));
      assert.match(evil.text, /value="&quot;&gt;&lt;script&gt;alert\(1\)&lt;\/script&gt;"/);
      const fr = await new Browser().follow(authUrl(c.client_id, { ui_locales: 'fr-CA en' }), app.base);
      assert.match(fr.text, /<html lang="fr"/);
      assert.match(fr.text, /<h1>Connexion<\/h1>/);
      // A wrong password on the French page: the French message, the same for an unknown account.
      const b = new Browser();
      const page = await b.follow(authUrl(c.client_id, { ui_locales: 'fr' }), app.base);
      const wrong = await b.follow(formOf(page).action, app.base, { form: { ...formOf(page).fields, login: 'riley', password: 'not-it-at-all-1' } });
      const unknown = await b.follow(formOf(wrong).action, app.base, { form: { ...formOf(wrong).fields, login: 'nobody-here', password: 'not-it-at-all-1' } });
      const alert = (t: string) => /role="alert">([^<]*)</.exec(t)?.[1];
      assert.equal(wrong.status, 400);
      assert.ok(alert(wrong.text) && /mot de passe/.test(alert(wrong.text)!), wrong.text.slice(0, 400));
      assert.equal(alert(unknown.text), alert(wrong.text));
      // The error page of an unregistered redirect URI speaks the language asked for too.
      const bad = await new Browser().follow(authUrl(c.client_id, { ui_locales: 'fr', redirect_uri: 'https://evil.example/' }), app.base);
      assert.equal(bad.status, 400);
      assert.match(bad.text, /Adresse de retour inconnue/);
    });

    it('request objects (alg none, HS256 under a wrong key, an unknown kid) and request_uri get standard errors, never a 500', async () => {
      const c = await app.client({});
      const claims = { iss: c.client_id, aud: app.base, client_id: c.client_id, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, code_challenge: CHALLENGE, code_challenge_method: 'S256' };
      const hs = (key: string, header: object) => {
        const head = `${b64(header)}.${b64(claims)}`;
        return `${head}.${createHmac('sha256', key).update(head).digest('base64url')}`;
      };
      const objects = {
        none: `${b64({ alg: 'none', typ: 'oauth-authz-req+jwt' })}.${b64(claims)}.`,
        hs256: hs('not-the-client-secret-at-all-0123456789', { alg: 'HS256' }),
        kid: `${b64({ alg: 'ES256', kid: 'no-such-kid' })}.${b64(claims)}.${Buffer.alloc(64).toString('base64url')}`,
        garbage: 'not.a.jwt',
      };
      for (const [name, request] of Object.entries(objects)) {
        const r = await new Browser().request(authUrl(c.client_id, { request }));
        assert.ok(r.status < 500, `${name}: ${r.status}`);
        assert.equal(errorAt(r).get('error'), 'request_not_supported', name);
        // With an unregistered redirect URI: the error page, not a redirect.
        const page = await new Browser().request(authUrl(c.client_id, { request, redirect_uri: 'https://evil.example/' }));
        assert.equal(page.status, 400, name);
        assert.equal(page.location, undefined, name);
      }
      const uri = await new Browser().request(authUrl(c.client_id, { request_uri: 'https://evil.example/req.jwt' }));
      assert.equal(errorAt(uri).get('error'), 'request_uri_not_supported');
      // id_token_hint tricks at the logout endpoint: an error page, never a 500 and never a redirect.
      for (const hint of [objects.none, objects.hs256, objects.kid, 'garbage']) {
        const end = await new Browser().request(`${app.base}/oidc/session/end?${new URLSearchParams({ id_token_hint: hint, post_logout_redirect_uri: REDIRECT })}`);
        assert.equal(end.status, 400, hint.slice(0, 20));
        assert.equal(end.location, undefined);
        assert.match(end.text, /<html lang="en"/);
      }
      // And at the authorization endpoint with prompt=none.
      const hinted = await new Browser().request(authUrl(c.client_id, { id_token_hint: objects.none, prompt: 'none' }));
      assert.ok(hinted.status < 500);
      assert.equal(errorAt(hinted).get('error'), 'invalid_request');
    });

    it('RP-initiated logout asks on a hosted page (its theme and language), then says it is done or returns to the client', async () => {
      await app.t.core.tenants.create('acme', 'Acme Rockets');
      const acme = await app.t.core.tenants.resolve('acme');
      const boss = await app.t.core.credentials.accessToken((await app.t.login('boss', PASSWORD)).access);
      await app.t.core.settings.set(boss, acme.pk, 'accent_color', '#7a1fa2');
      await app.t.createUser({ username: 'wile', password: PASSWORD, tenant: 'acme' });
      const c = await app.client({ tenant: 'acme', name: 'Rocket tracker' });
      const config = await oc.discovery(new URL(app.issuer('acme')), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), insecure);
      const flow = await codeFlow(app, config, { scope: 'openid', username: 'wile', extra: { ui_locales: 'fr' } });
      const tokens = await oc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
      noteSecret(tokens.id_token);
      const end = oc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, ui_locales: 'fr' });
      const ask = await flow.browser.follow(end.href, app.base);
      assert.equal(ask.status, 200);
      assert.match(ask.text, /<html lang="fr"/);
      assert.match(ask.text, /<title>Déconnexion – Acme Rockets<\/title>/);
      assert.match(ask.text, /Rocket tracker demande à vous déconnecter de Acme Rockets/);
      assert.match(ask.text, /href="\/tenants\/acme\/account\/style\.css"/);
      assert.match(ask.text, /name="xsrf"/);
      // No post_logout_redirect_uri: the hosted "signed out" page, in English by the browser's default.
      const form = formOf(ask);
      const done = await flow.browser.follow(form.action, app.base, { form: { ...form.fields, logout: 'yes' } });
      assert.equal(done.status, 200);
      assert.match(done.text, /<h1>Vous êtes déconnecté<\/h1>|<h1>You are signed out<\/h1>/);
      assert.match(done.text, /Acme Rockets/);
      // The English page, and its form's xsrf is required (a forged confirmation is refused, not a 500).
      const flow2 = await codeFlow(app, config, { scope: 'openid', username: 'wile' });
      const t2 = await oc.authorizationCodeGrant(config, flow2.callback, { pkceCodeVerifier: flow2.verifier, expectedState: flow2.state });
      noteSecret(t2.id_token);
      const ask2 = await flow2.browser.follow(oc.buildEndSessionUrl(config, { id_token_hint: t2.id_token!, post_logout_redirect_uri: REDIRECT, state: 'bye' }).href, app.base);
      assert.match(ask2.text, /<title>Sign out – Acme Rockets<\/title>/);
      assert.match(ask2.text, /No, stay signed in/);
      const forged = await flow2.browser.follow(formOf(ask2).action, app.base, { form: { logout: 'yes', xsrf: 'forged' } });
      assert.ok(forged.status >= 400 && forged.status < 500, String(forged.status));
      assert.equal(forged.location, undefined);
      // "Stay signed in": back to the client; the provider's session is kept (no password asked
      // again), only this client's grant ends (the library's rule: its consent is asked again).
      const ask3 = await flow2.browser.follow(oc.buildEndSessionUrl(config, { id_token_hint: t2.id_token!, post_logout_redirect_uri: REDIRECT, state: 'bye' }).href, app.base);
      const stay = await flow2.browser.follow(formOf(ask3).action, app.base, { form: formOf(ask3).fields });
      assert.equal(stay.location, `${REDIRECT}?state=bye`);
      const still = await flow2.browser.follow(oc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: CHALLENGE, code_challenge_method: 'S256' }).href, app.base);
      assert.ok(!isSignIn(still), 'still signed in');
      assert.ok(isConsent(still), still.text.slice(0, 300));
    });
  });
}
