// The OpenID provider's machine-to-machine endpoints, answered through the core (ClientGrants):
// the client-credentials grant, and introspection and revocation of the service's access JWTs
// (client-credentials tokens, the code flow's, the legacy APIs'). The threats: a client getting a
// token it is not registered for, or with scopes it may not have; a client learning of or
// revoking another's token; a forged, expired, revoked or other tenant's token reported active;
// malformed client authentication answered with anything but the standard errors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oc from 'openid-client';
import { decodeJwt } from 'jose';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { codeFlow, oidcApp, PASSWORD, type OidcApp } from './support.ts';

const insecure = { execute: [oc.allowInsecureRequests] };
const basic = (id: string, secret: string) => `Basic ${Buffer.from(`${encodeURIComponent(id)}:${encodeURIComponent(secret)}`).toString('base64')}`;

for (const { engine, skip } of engines) {
  describe(`client credentials, introspection and revocation (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let m2m: { client_id: string; client_secret?: string };
    before(async () => {
      app = await oidcApp(engine);
      await app.t.createUser({ username: 'riley', password: PASSWORD, email: 'riley@example.com' });
      m2m = await app.client({ grant_types: ['client_credentials'], redirect_uris: [], scopes: ['api:read', 'api:write'] });
    });
    after(() => app.close());

    const post = async (path: string, form: Record<string, string>, headers: Record<string, string> = {}) => {
      const r = await fetch(`${app.base}${path}`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', ...headers }, body: new URLSearchParams(form) });
      const text = await r.text();
      return { status: r.status, headers: r.headers, body: (text ? JSON.parse(text) : {}) as Record<string, unknown> };
    };
    const grant = (scope?: string, c = m2m) => post('/oidc/token', { grant_type: 'client_credentials', ...(scope ? { scope } : {}) }, { authorization: basic(c.client_id, c.client_secret!) });
    const introspect = (token: string, c = m2m) => post('/oidc/token/introspection', { token }, { authorization: basic(c.client_id, c.client_secret!) });

    it('the grant: a JWT naming the client, the scope echoed as asked, no-store; by Basic or in the form', async () => {
      const r = await grant('api:write api:read');
      assert.equal(r.status, 200, JSON.stringify(r.body));
      assert.equal(r.headers.get('cache-control'), 'no-store');
      assert.equal(r.body.token_type, 'Bearer');
      assert.equal(r.body.scope, 'api:write api:read');
      assert.equal(r.body.expires_in, 300);
      const token = String(r.body.access_token);
      noteSecret(token);
      const claims = decodeJwt(token);
      assert.equal(claims.sub, m2m.client_id);
      assert.equal(claims.client_id, m2m.client_id);
      assert.equal(claims.iss, app.base);
      assert.equal(claims.token_type, 'access');
      assert.equal(claims.username, undefined);
      const form = await post('/oidc/token', { grant_type: 'client_credentials', client_id: m2m.client_id, client_secret: m2m.client_secret! });
      assert.equal(form.status, 200);
      assert.equal(form.body.scope, undefined, 'no scope asked, none granted');
      noteSecret(String(form.body.access_token));
      // openid-client as a relying party of it.
      const config = await oc.discovery(new URL(app.base), m2m.client_id, undefined, oc.ClientSecretBasic(m2m.client_secret!), insecure);
      assert.ok(config.serverMetadata().grant_types_supported?.includes('client_credentials'));
      const t = await oc.clientCredentialsGrant(config, { scope: 'api:read' });
      noteSecret(t.access_token);
      assert.equal((await oc.tokenIntrospection(config, t.access_token)).active, true);
      // A client-credentials token names no user: the user APIs refuse it.
      assert.equal((await fetch(`${app.base}/api/v2/users/me`, { headers: { authorization: `Bearer ${t.access_token}` } })).status, 401);
    });

    it('refusals are the standard errors: unknown or wrong client (401, WWW-Authenticate by Basic), public client, grant not registered, scopes', async () => {
      const wrong = await grant(undefined, { client_id: m2m.client_id, client_secret: 'not-the-secret' });
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_client');
      assert.equal(typeof wrong.body.detail, 'string');
      assert.match(wrong.headers.get('www-authenticate') ?? '', /^Basic /);
      const unknown = await post('/oidc/token', { grant_type: 'client_credentials', client_id: 'no-such', client_secret: 'x' });
      assert.equal(unknown.status, 401);
      assert.equal(unknown.headers.get('www-authenticate'), null, 'not by Basic: no challenge');
      assert.equal((await post('/oidc/token', { grant_type: 'client_credentials' })).status, 401, 'no client at all');
      assert.equal((await post('/oidc/token', { grant_type: 'client_credentials', client_id: '' })).body.error, 'invalid_client', 'an empty client_id is no client');
      const malformed = await post('/oidc/token', { grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from('no-colon').toString('base64')}` });
      assert.equal(malformed.status, 401);
      const badEscape = await post('/oidc/token', { grant_type: 'client_credentials' }, { authorization: `Basic ${Buffer.from('%E0%A4%A:x').toString('base64')}` });
      assert.equal(badEscape.status, 401);
      const both = await post('/oidc/token', { grant_type: 'client_credentials', client_secret: m2m.client_secret! }, { authorization: basic(m2m.client_id, m2m.client_secret!) });
      assert.equal(both.status, 400);
      assert.equal(both.body.error, 'invalid_request');
      const twice = await fetch(`${app.base}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(m2m.client_id, m2m.client_secret!) }, body: 'grant_type=client_credentials&scope=api:read&scope=admin' });
      assert.equal(twice.status, 400);
      const scope = await grant('api:read admin');
      assert.equal(scope.status, 400);
      assert.equal(scope.body.error, 'invalid_scope');
      const pub = await app.client({ confidential: false, grant_types: ['client_credentials'] });
      const p = await post('/oidc/token', { grant_type: 'client_credentials', client_id: pub.client_id });
      assert.equal(p.status, 400);
      assert.equal(p.body.error, 'unauthorized_client');
      const codeClient = await app.client({});
      const notAllowed = await grant(undefined, codeClient);
      assert.equal(notAllowed.status, 400);
      assert.equal(notAllowed.body.error, 'unauthorized_client');
      // Another tenant's issuer does not know this client; an unknown issuer is a 404.
      await app.t.core.tenants.create('other', 'Other');
      const elsewhere = await fetch(`${app.base}/tenants/other/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(m2m.client_id, m2m.client_secret!) }, body: 'grant_type=client_credentials' });
      assert.equal(elsewhere.status, 401);
      assert.equal((await fetch(`${app.base}/tenants/nosuch/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'grant_type=client_credentials' })).status, 404);
      // The provider's own errors (other grants) carry `detail` as well.
      const other = await post('/oidc/token', { grant_type: 'authorization_code', code: 'nope', redirect_uri: 'http://127.0.0.1:9/callback' }, { authorization: basic(codeClient.client_id, codeClient.client_secret!) });
      assert.equal(other.body.error, 'invalid_grant');
      assert.equal(typeof other.body.detail, 'string');
    });

    it('introspection: every access token of the service, active exactly while it would be accepted; revocation of client tokens', async () => {
      const cc = String((await grant('api:read')).body.access_token);
      noteSecret(cc);
      const live = await introspect(cc);
      assert.equal(live.status, 200);
      assert.equal(live.headers.get('cache-control'), 'no-store');
      assert.deepEqual({ ...live.body, exp: 0, iat: 0, jti: '' }, { active: true, sub: m2m.client_id, client_id: m2m.client_id, scope: 'api:read', exp: 0, iat: 0, iss: app.base, jti: '', token_type: 'Bearer' });
      // The legacy API's token of a user: active, with its username; not after its sign-out.
      const v1 = await app.t.login('riley', PASSWORD);
      noteSecret(v1.access);
      const user = await introspect(v1.access);
      assert.equal(user.body.active, true);
      assert.equal(user.body.username, 'riley');
      await app.t.request({ method: 'POST', url: '/api/token/blacklist', payload: { refresh: v1.refresh } });
      const out = await introspect(v1.access);
      assert.equal(out.body.active, (await app.t.request({ method: 'GET', url: '/api/v2/users/me', headers: v1.headers })).statusCode === 200, 'introspection says what the APIs do');
      // The code flow's token: active while the provider holds it (test/oidc/openid-client.test.ts revokes it).
      const web = await app.client({});
      const config = await oc.discovery(new URL(app.base), web.client_id, undefined, oc.ClientSecretBasic(web.client_secret!), insecure);
      const flow = await codeFlow(app, config, { scope: 'openid', username: 'riley' });
      const tokens = await oc.authorizationCodeGrant(config, flow.callback, { pkceCodeVerifier: flow.verifier, expectedState: flow.state });
      noteSecret(tokens.access_token);
      assert.equal((await introspect(tokens.access_token)).body.active, true);
      // Not ours, forged, tampered: inactive, never an error.
      const [h, p] = cc.split('.');
      const forged = `${h}.${Buffer.from(JSON.stringify({ ...decodeJwt(cc), scope: 'api:write' })).toString('base64url')}.${cc.split('.')[2]}`;
      for (const token of [forged, `${h}.${p}.AAAA`, 'eyJhbGciOiJub25lIn0.e30.', 'a.b.c']) {
        const r = await introspect(token);
        assert.equal(r.status, 200, token);
        assert.deepEqual(r.body, { active: false }, token);
      }
      // A public client learns only of its own tokens.
      const pub = await app.client({ confidential: false });
      const asPublic = await post('/oidc/token/introspection', { token: cc, client_id: pub.client_id });
      assert.deepEqual(asPublic.body, { active: false });
      // Another client cannot revoke it (RFC 7009: 200, nothing changes); its own client can.
      const other = await app.client({ grant_types: ['client_credentials'], redirect_uris: [] });
      const notYours = await post('/oidc/token/revocation', { token: cc }, { authorization: basic(other.client_id, other.client_secret!) });
      assert.equal(notYours.status, 200);
      assert.equal((await introspect(cc)).body.active, true);
      const revoked = await post('/oidc/token/revocation', { token: cc, token_type_hint: 'access_token' }, { authorization: basic(m2m.client_id, m2m.client_secret!) });
      assert.equal(revoked.status, 200);
      assert.deepEqual((await introspect(cc)).body, { active: false });
      assert.equal((await post('/oidc/token/revocation', { token: cc }, { authorization: basic(m2m.client_id, 'wrong') })).status, 401);
      // A deleted client's tokens stop being active.
      const gone = await app.client({ grant_types: ['client_credentials'], redirect_uris: [] });
      const t = String((await grant(undefined, gone)).body.access_token);
      noteSecret(t);
      assert.equal((await introspect(t)).body.active, true);
      assert.equal((await app.t.request({ method: 'DELETE', url: `/api/clients/${gone.client_id}/`, headers: app.admin })).statusCode, 204);
      app.t.core.clients.invalidate(gone.client_id);
      assert.deepEqual((await introspect(t)).body, { active: false });
      // Another tenant's issuer: the same token is not active there.
      const acme = await app.t.core.tenants.create('acme-m2m', 'Acme');
      void acme;
      const theirs = await app.client({ tenant: 'acme-m2m', grant_types: ['client_credentials'], redirect_uris: [] });
      const there = await fetch(`${app.base}/tenants/acme-m2m/oidc/token/introspection`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded', authorization: basic(theirs.client_id, theirs.client_secret!) }, body: new URLSearchParams({ token: tokens.access_token }) });
      assert.deepEqual(await there.json(), { active: false });
    });
  });
}
