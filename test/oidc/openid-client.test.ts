// openid-client (npm) as a relying party of each tenant's OpenID provider, over real HTTP:
// discovery, the code flow with PKCE through the sign-in and consent forms as a browser without
// JavaScript posts them, userinfo, refresh with rotation and reuse detection, introspection,
// revocation, client credentials, RP-initiated logout; the access tokens are the service's own
// JWTs, accepted as Bearer by its other APIs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oc from 'openid-client';
import { decodeJwt, decodeProtectedHeader } from 'jose';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { Browser, codeFlow, formOf, oidcApp, PASSWORD, REDIRECT, type OidcApp } from './support.ts';

for (const { engine, skip } of engines) {
  describe(`openid-client against the provider (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let userId: string;
    before(async () => {
      app = await oidcApp(engine);
      const u = await app.t.createUser({ username: 'riley', password: PASSWORD, email: 'riley@example.com' });
      userId = u.id;
      const boss = await app.t.core.credentials.accessToken((await app.t.login('boss', PASSWORD)).access);
      const g = await app.t.core.groups.create(boss, 'readers');
      await app.t.core.groups.addMember(boss, g.id, { username: 'riley' });
    });
    after(() => app.close());

    it('discovery of the default tenant names PUBLIC_URL as the issuer and endpoints under /oidc/', async () => {
      const c = await app.client({});
      const config = await oc.discovery(new URL(app.issuer()), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
      const meta = config.serverMetadata();
      assert.equal(meta.issuer, app.base);
      assert.equal(meta.token_endpoint, `${app.base}/oidc/token`);
      assert.equal(meta.jwks_uri, `${app.base}/oidc/jwks`);
      assert.ok(meta.code_challenge_methods_supported?.includes('S256'));
    });

    it('the code flow with PKCE signs the user in through the form and gives an ID token, a JWT access token, userinfo and groups', async () => {
      const c = await app.client({});
      const config = await oc.discovery(new URL(app.issuer()), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
      const { callback, verifier, state } = await codeFlow(app, config, { scope: 'openid profile email offline_access', username: 'riley', extra: { prompt: 'consent' } });
      const tokens = await oc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      noteSecret(tokens.access_token);
      noteSecret(tokens.refresh_token);
      const id = tokens.claims()!;
      assert.equal(id.sub, userId);
      assert.equal(id.iss, app.base);
      assert.deepEqual(id.groups, ['readers']);
      const header = decodeProtectedHeader(tokens.access_token);
      assert.equal(header.typ, 'at+jwt');
      assert.equal(header.alg, 'ES256');
      const at = decodeJwt(tokens.access_token);
      assert.equal(at.iss, app.base);
      assert.equal(at.token_type, 'access');
      assert.equal(at.tenant, 'default');
      assert.deepEqual(at.groups, ['readers']);
      assert.equal(at.aud, undefined);
      const info = await oc.fetchUserInfo(config, tokens.access_token, userId);
      assert.equal(info.email, 'riley@example.com');
      assert.equal(info.preferred_username, 'riley');
      // The same token is a Bearer credential of the service's own APIs.
      const me = await fetch(`${app.base}/api/v2/users/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } });
      assert.equal(me.status, 200);
      assert.equal((await me.json()).username, 'riley');
    });

    it('a named tenant is its own issuer: discovery under /tenants/NAME, its users only, its issuer in the tokens', async () => {
      const r = await app.t.request({ method: 'POST', url: '/api/tenants/', headers: app.admin, payload: { name: 'acme', display_name: 'Acme' } });
      assert.equal(r.statusCode, 201, r.body);
      const u = await app.t.createUser({ username: 'ana', password: PASSWORD, email: 'ana@acme.example', tenant: 'acme' });
      const c = await app.client({ tenant: 'acme' });
      const config = await oc.discovery(new URL(app.issuer('acme')), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
      assert.equal(config.serverMetadata().issuer, `${app.base}/tenants/acme`);
      assert.equal(config.serverMetadata().authorization_endpoint, `${app.base}/tenants/acme/oidc/auth`);
      const { callback, verifier, state } = await codeFlow(app, config, { scope: 'openid', username: 'ana' });
      const tokens = await oc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      noteSecret(tokens.access_token);
      assert.equal(tokens.claims()!.sub, u.id);
      const at = decodeJwt(tokens.access_token);
      assert.equal(at.iss, `${app.base}/tenants/acme`);
      assert.equal(at.tenant, 'acme');
      // The default tenant's client is unknown to this issuer.
      const other = await app.client({});
      const wrong = await oc.discovery(new URL(app.issuer('acme')), other.client_id, undefined, oc.ClientSecretBasic(other.client_secret!), { execute: [oc.allowInsecureRequests] });
      const page = await new Browser().follow(oc.buildAuthorizationUrl(wrong, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oc.calculatePKCECodeChallenge(oc.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).href, app.base);
      assert.equal(page.status, 400);
      assert.equal(page.location, undefined);
      // A user of another tenant cannot sign in here.
      const b = new Browser();
      const start = await b.follow(oc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oc.calculatePKCECodeChallenge(oc.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).href, app.base);
      const form = formOf(start);
      const refused = await b.follow(form.action, app.base, { form: { ...form.fields, login: 'riley', password: PASSWORD } });
      assert.equal(refused.status, 400);
      assert.match(refused.text, /role="alert"/);
      // The existing APIs' tokens carry their tenant's issuer too, and stay accepted.
      noteSecret(PASSWORD);
      const v1 = await app.t.request({ method: 'POST', url: '/api/token', headers: { 'x-tenant': 'acme' }, payload: { username: 'ana', password: PASSWORD } });
      assert.equal(v1.statusCode, 200, v1.body);
      noteSecret(v1.json().access);
      assert.equal(decodeJwt(v1.json().access).iss, `${app.base}/tenants/acme`);
      const me = await app.t.request({ method: 'GET', url: '/api/v2/users/me', headers: { 'x-tenant': 'acme', authorization: `Bearer ${v1.json().access}` } });
      assert.equal(me.statusCode, 200, me.body);
      // An unknown tenant has no issuer.
      assert.equal((await fetch(`${app.base}/tenants/nosuch/.well-known/openid-configuration`)).status, 404);
    });

    it('refresh tokens rotate; reusing a rotated one revokes the grant (its newer tokens too)', async () => {
      const c = await app.client({});
      const config = await oc.discovery(new URL(app.issuer()), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
      const { callback, verifier, state } = await codeFlow(app, config, { scope: 'openid offline_access', username: 'riley', extra: { prompt: 'consent' } });
      const first = await oc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      noteSecret(first.refresh_token);
      const second = await oc.refreshTokenGrant(config, first.refresh_token!);
      noteSecret(second.refresh_token);
      noteSecret(second.access_token);
      assert.notEqual(second.refresh_token, first.refresh_token);
      assert.equal((await oc.tokenIntrospection(config, second.access_token)).active, true);
      await assert.rejects(oc.refreshTokenGrant(config, first.refresh_token!), (e: any) => e.error === 'invalid_grant');
      await assert.rejects(oc.refreshTokenGrant(config, second.refresh_token!), (e: any) => e.error === 'invalid_grant');
      assert.equal((await oc.tokenIntrospection(config, second.access_token)).active, false);
      const me = await fetch(`${app.base}/api/v2/users/me`, { headers: { authorization: `Bearer ${second.access_token}` } });
      assert.equal(me.status, 401);
    });

    it('introspection says active for a live token and false after revocation; the API refuses the revoked token', async () => {
      const c = await app.client({});
      const config = await oc.discovery(new URL(app.issuer()), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
      const { callback, verifier, state } = await codeFlow(app, config, { scope: 'openid offline_access', username: 'riley', extra: { prompt: 'consent' } });
      const tokens = await oc.authorizationCodeGrant(config, callback, { pkceCodeVerifier: verifier, expectedState: state });
      noteSecret(tokens.access_token);
      noteSecret(tokens.refresh_token);
      const live = await oc.tokenIntrospection(config, tokens.access_token);
      assert.equal(live.active, true);
      assert.equal(live.sub, userId);
      assert.equal((await oc.tokenIntrospection(config, tokens.refresh_token!)).active, true);
      await oc.tokenRevocation(config, tokens.access_token);
      assert.equal((await oc.tokenIntrospection(config, tokens.access_token)).active, false);
      assert.equal((await fetch(`${app.base}/api/v2/users/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 401);
      await oc.tokenRevocation(config, tokens.refresh_token!);
      assert.equal((await oc.tokenIntrospection(config, tokens.refresh_token!)).active, false);
      assert.equal((await oc.tokenIntrospection(config, 'not-a-token')).active, false);
    });

    it('client credentials give a JWT access token of the client, introspectable', async () => {
      const c = await app.client({ grant_types: ['client_credentials'], redirect_uris: [], scopes: ['reports'] });
      const config = await oc.discovery(new URL(app.issuer()), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
      const tokens = await oc.clientCredentialsGrant(config, { scope: 'reports' });
      noteSecret(tokens.access_token);
      const at = decodeJwt(tokens.access_token);
      assert.equal(at.sub, c.client_id);
      assert.equal(at.client_id, c.client_id);
      assert.equal(at.token_type, 'access');
      assert.equal(at.iss, app.base);
      assert.equal(decodeProtectedHeader(tokens.access_token).typ, 'at+jwt');
      assert.equal((await oc.tokenIntrospection(config, tokens.access_token)).active, true);
      await assert.rejects(oc.clientCredentialsGrant(config, { scope: 'admin' }), (e: any) => e.error === 'invalid_scope', 'an unregistered scope');
      const wrong = await oc.discovery(new URL(app.issuer()), c.client_id, undefined, oc.ClientSecretBasic('not-the-secret'), { execute: [oc.allowInsecureRequests] });
      await assert.rejects(oc.clientCredentialsGrant(wrong, { scope: 'reports' }), (e: any) => e.status === 401 && JSON.stringify(e.cause).includes('invalid_client'), 'a wrong secret');
    });

    it('RP-initiated logout ends the provider session: the next authorization asks for the password again', async () => {
      const c = await app.client({});
      const config = await oc.discovery(new URL(app.issuer()), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
      const first = await codeFlow(app, config, { scope: 'openid', username: 'riley' });
      const tokens = await oc.authorizationCodeGrant(config, first.callback, { pkceCodeVerifier: first.verifier, expectedState: first.state });
      // Signed in: a second authorization goes straight to the callback.
      const again = await first.browser.follow(oc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oc.calculatePKCECodeChallenge(oc.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).href, app.base);
      assert.ok(again.location?.startsWith(REDIRECT));
      const end = oc.buildEndSessionUrl(config, { id_token_hint: tokens.id_token!, post_logout_redirect_uri: REDIRECT, state: 'bye' });
      const confirm = await first.browser.follow(end.href, app.base);
      assert.equal(confirm.status, 200);
      const form = formOf(confirm);
      const done = await first.browser.follow(form.action, app.base, { form: { ...form.fields, logout: 'yes' } });
      assert.equal(done.location, `${REDIRECT}?state=bye`);
      const after = await first.browser.follow(oc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', code_challenge: await oc.calculatePKCECodeChallenge(oc.randomPKCECodeVerifier()), code_challenge_method: 'S256' }).href, app.base);
      assert.equal(after.status, 200);
      assert.match(after.text, /name="password"/);
    });
  });
}
