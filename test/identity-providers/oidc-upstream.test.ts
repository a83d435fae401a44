// An OpenID client of Latchkey (openid-client) whose sign-in goes upstream and back: the
// authorization request carries login_hint `idp:<id>`, Latchkey's interaction sends the browser to
// the upstream (panva's oidc-provider, through its own forms), the upstream comes back to
// Latchkey's callback, the interaction completes with the account the upstream identity stands
// for, and the client gets Latchkey's own tokens.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oc from 'openid-client';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { oidcApp, REDIRECT, type OidcApp } from '../oidc/support.ts';
import { Browser, browse, startOidcProvider } from './support.ts';

const SECRET = 'oidc-upstream-secret-0123456789abc';
noteSecret(SECRET);

for (const { engine, skip } of engines) {
  describe(`an OpenID client of Latchkey signing in upstream (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    let op: Awaited<ReturnType<typeof startOidcProvider>>;
    let config: oc.Configuration;
    before(async () => {
      app = await oidcApp(engine);
      op = await startOidcProvider({ clientId: 'latchkey', clientSecret: SECRET, redirectUris: [`${app.base}/api/auth/social/corp/callback/`], accounts: { frank: { email: 'frank@corp.example', email_verified: true, name: 'Frank' } } });
      const r = await app.t.request({ method: 'POST', url: '/api/identity-providers/', headers: app.admin, payload: { id: 'corp', kind: 'oidc', issuer: op.issuer, client_id: 'latchkey', client_secret: SECRET, jit: true } });
      assert.equal(r.statusCode, 201, r.body);
      const c = await app.client({ first_party: true });
      config = await oc.discovery(new URL(app.issuer()), c.client_id, undefined, oc.ClientSecretBasic(c.client_secret!), { execute: [oc.allowInsecureRequests] });
    });
    after(async () => {
      await op?.close();
      await app?.close();
    });

    const authorize = async (loginHint: string) => {
      const verifier = oc.randomPKCECodeVerifier();
      const state = oc.randomState();
      const nonce = oc.randomNonce();
      const url = oc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid email', state, nonce, code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256', login_hint: loginHint });
      return { url, verifier, state, nonce };
    };

    it('login_hint idp:corp goes upstream and back; the client gets Latchkey\'s ID token for the linked account', async () => {
      const a = await authorize('idp:corp');
      const browser = new Browser();
      const r = await browse(browser, a.url.href, { login: 'frank', stop: (u) => u.startsWith(REDIRECT) });
      assert.ok(r.location?.startsWith(REDIRECT), `${r.status} ${r.location} ${browser.lastUrl} ${r.text.replace(/\s+/g, " ").slice(0, 3000)}`);
      const tokens = await oc.authorizationCodeGrant(config, new URL(r.location!), { pkceCodeVerifier: a.verifier, expectedState: a.state, expectedNonce: a.nonce });
      const claims = tokens.claims()!;
      assert.equal(claims.iss, app.base);
      const user = (await app.t.store.read.users.findOneByEmail((await app.t.core.tenants.resolve(undefined)).pk, 'frank@corp.example'))!;
      assert.equal(claims.sub, user.id, 'Latchkey\'s own subject, not the upstream\'s');
      assert.ok((claims.amr as string[]).includes('fed'), JSON.stringify(claims.amr));
    });

    it('the tenant\'s oidc_upstream_provider sends a sign-in without login_hint upstream; a username hint still gets the sign-in page', async () => {
      const set = (value: string) => app.t.request({ method: 'POST', url: '/api/configuration/', headers: app.admin, payload: { key: 'oidc_upstream_provider', value } });
      assert.equal((await set('corp')).statusCode, 201);
      try {
        const verifier = oc.randomPKCECodeVerifier();
        const state = oc.randomState();
        const url = oc.buildAuthorizationUrl(config, { redirect_uri: REDIRECT, scope: 'openid', state, code_challenge: await oc.calculatePKCECodeChallenge(verifier), code_challenge_method: 'S256' });
        const browser = new Browser();
        const r = await browse(browser, url.href, { login: 'frank', stop: (u) => u.startsWith(REDIRECT) });
        assert.ok(r.location?.startsWith(REDIRECT), `${r.status} ${r.text.slice(0, 200)}`);
        const tokens = await oc.authorizationCodeGrant(config, new URL(r.location!), { pkceCodeVerifier: verifier, expectedState: state });
        assert.ok((tokens.claims()!.amr as string[]).includes('fed'));
        const hinted = await authorize('frank');
        const b2 = new Browser();
        const toPage = await browse(b2, hinted.url.href, { stop: (u) => u.includes('/interaction/') });
        const page = await b2.request(toPage.location!);
        assert.equal(page.status, 200);
        assert.ok(page.text.includes('name="password"'), 'a login_hint that names a user: the sign-in page');
      } finally {
        await set('');
      }
    });

    it('an unknown provider in login_hint: the sign-in page with a message, no redirect', async () => {
      const a = await authorize('idp:nope');
      const browser = new Browser();
      const r = await browse(browser, a.url.href, { stop: (u) => !u.startsWith(app.base) });
      assert.equal(r.status, 400);
      assert.ok(r.text.includes('name="password"'));
    });
  });
}
