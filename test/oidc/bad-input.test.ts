// Threat: a relying party's mistakes or an attacker's requests at the provider's endpoints
// steering a code or token where it does not belong: a redirect to an unregistered address
// (an open redirector that leaks codes), a code redeemed without or with the wrong PKCE
// verifier, a stolen code replayed after its owner redeemed it, a code redeemed by another
// client, a wrong client secret. Each must get the standard OAuth2 error, never a redirect to an
// unregistered address, never a 500; a replayed code revokes what it had issued.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as oc from 'openid-client';
import { engines } from '../helpers/engines.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { Browser, codeFlow, oidcApp, PASSWORD, REDIRECT, type OidcApp } from './support.ts';

const insecure = { execute: [oc.allowInsecureRequests] };

/** A code-redeeming POST by hand (so the verifier and client can be anything). */
async function redeem(app: OidcApp, form: Record<string, string>, basic?: [string, string]) {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (basic) headers.authorization = `Basic ${Buffer.from(`${basic[0]}:${basic[1]}`).toString('base64')}`;
  const r = await fetch(`${app.base}/oidc/token`, { method: 'POST', headers, body: new URLSearchParams(form) });
  return { status: r.status, body: await r.json() as Record<string, unknown> };
}

for (const { engine, skip } of engines) {
  describe(`bad input at the provider (${engine.name})`, { skip }, () => {
    let app: OidcApp;
    before(async () => {
      app = await oidcApp(engine);
      await app.t.createUser({ username: 'riley', password: PASSWORD, email: 'riley@example.com' });
    });
    after(() => app.close());

    async function codeFor(c: { client_id: string; client_secret?: string }) {
      const config = await oc.discovery(new URL(app.base), c.client_id, undefined, c.client_secret ? oc.ClientSecretBasic(c.client_secret) : oc.None(), insecure);
      const flow = await codeFlow(app, config, { scope: 'openid', username: 'riley' });
      return { config, code: flow.callback.searchParams.get('code')!, verifier: flow.verifier, flow };
    }

    it('an unregistered redirect URI gets an error page, never a redirect to it', async () => {
      const c = await app.client({});
      for (const redirect of ['https://evil.example/cb', `${REDIRECT}/extra`, `${REDIRECT}?x=1`, REDIRECT.toUpperCase()]) {
        const url = new URL(`${app.base}/oidc/auth`);
        url.search = new URLSearchParams({ client_id: c.client_id, response_type: 'code', scope: 'openid', redirect_uri: redirect, code_challenge: 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM', code_challenge_method: 'S256' }).toString();
        const r = await new Browser().request(url.href);
        assert.equal(r.status, 400, redirect);
        assert.equal(r.location, undefined, redirect);
        assert.match(r.text, /<html/);
      }
    });

    it('a missing or wrong PKCE verifier is invalid_grant; a public client must send a challenge', async () => {
      const c = await app.client({});
      const a = await codeFor(c);
      const missing = await redeem(app, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT }, [c.client_id, c.client_secret!]);
      assert.equal(missing.status, 400);
      assert.equal(missing.body.error, 'invalid_grant');
      const b = await codeFor(c);
      const wrong = await redeem(app, { grant_type: 'authorization_code', code: b.code, redirect_uri: REDIRECT, code_verifier: oc.randomPKCECodeVerifier() }, [c.client_id, c.client_secret!]);
      assert.equal(wrong.body.error, 'invalid_grant');
      const pub = await app.client({ confidential: false });
      const url = new URL(`${app.base}/oidc/auth`);
      url.search = new URLSearchParams({ client_id: pub.client_id, response_type: 'code', scope: 'openid', redirect_uri: REDIRECT, state: 's' }).toString();
      const r = await new Browser().request(url.href);
      // The redirect URI is registered, so the error goes back to it, as RFC 6749 says.
      assert.ok(r.location?.startsWith(REDIRECT));
      assert.equal(new URL(r.location!).searchParams.get('error'), 'invalid_request');
    });

    it('a replayed code is invalid_grant and revokes the tokens the code gave', async () => {
      const c = await app.client({});
      const a = await codeFor(c);
      const tokens = await oc.authorizationCodeGrant(a.config, a.flow.callback, { pkceCodeVerifier: a.verifier, expectedState: a.flow.state });
      noteSecret(tokens.access_token);
      assert.equal((await oc.tokenIntrospection(a.config, tokens.access_token)).active, true);
      const again = await redeem(app, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT, code_verifier: a.verifier }, [c.client_id, c.client_secret!]);
      assert.equal(again.status, 400);
      assert.equal(again.body.error, 'invalid_grant');
      assert.equal((await oc.tokenIntrospection(a.config, tokens.access_token)).active, false);
      assert.equal((await fetch(`${app.base}/api/v2/users/me`, { headers: { authorization: `Bearer ${tokens.access_token}` } })).status, 401);
    });

    it("another client's code is invalid_grant", async () => {
      const owner = await app.client({});
      const thief = await app.client({});
      const a = await codeFor(owner);
      const r = await redeem(app, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT, code_verifier: a.verifier }, [thief.client_id, thief.client_secret!]);
      assert.equal(r.status, 400);
      assert.equal(r.body.error, 'invalid_grant');
    });

    it('a wrong client secret, an unknown client and a malformed request are the standard errors', async () => {
      const c = await app.client({});
      const a = await codeFor(c);
      const wrong = await redeem(app, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT, code_verifier: a.verifier }, [c.client_id, 'not-the-secret']);
      assert.equal(wrong.status, 401);
      assert.equal(wrong.body.error, 'invalid_client');
      // What the database holds (the secret's SHA-256) is not the secret.
      const stored = (await app.t.core.store.read.clients.find(c.client_id))!.secretHash!;
      const hashAsSecret = await redeem(app, { grant_type: 'authorization_code', code: a.code, redirect_uri: REDIRECT, code_verifier: a.verifier }, [c.client_id, stored]);
      assert.equal(hashAsSecret.status, 401);
      assert.equal(hashAsSecret.body.error, 'invalid_client');
      const unknown = await redeem(app, { grant_type: 'client_credentials' }, ['no-such-client', 'x']);
      assert.equal(unknown.status, 401);
      assert.equal(unknown.body.error, 'invalid_client');
      const noGrant = await redeem(app, {}, [c.client_id, c.client_secret!]);
      assert.equal(noGrant.status, 400);
      assert.equal(noGrant.body.error, 'invalid_request');
      const unsupported = await redeem(app, { grant_type: 'password', username: 'riley', password: 'x' }, [c.client_id, c.client_secret!]);
      assert.equal(unsupported.status, 400);
      assert.equal(unsupported.body.error, 'unsupported_grant_type');
      const notAllowed = await redeem(app, { grant_type: 'client_credentials' }, [c.client_id, c.client_secret!]);
      assert.equal(notAllowed.status, 400);
      assert.match(String(notAllowed.body.error), /^(unauthorized_client|invalid_request)$/);
      const garbage = await fetch(`${app.base}/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{not json' });
      assert.equal(garbage.status, 400);
      const introspectNoAuth = await fetch(`${app.base}/oidc/token/introspection`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: 'token=abc' });
      // No client authentication at all: RFC 7662 says the endpoint requires it.
      assert.ok([400, 401].includes(introspectNoAuth.status), String(introspectNoAuth.status));
      assert.match(String(((await introspectNoAuth.json()) as { error?: unknown }).error), /^(invalid_request|invalid_client)$/);
    });
  });
}
