// Real OAuth 2.0 client libraries against a listening server: Debian's requests-oauthlib and
// authlib (Python), and simple-oauth2 (npm) get tokens by the password grant, call
// /api/v2/users/me, refresh, and read the server's errors. Secrets go through the environment.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { claims } from '../tenancy/support.ts';

// simple-oauth2 ships no type declarations (and adding @types is not this suite's call).
const simpleOauth2 = 'simple-oauth2';
const { ResourceOwnerPassword } = (await import(simpleOauth2)) as { ResourceOwnerPassword: new (config: unknown) => any };

const PYTHON = '/usr/bin/python3';
const PW = 'interop-pass-phrase-1';

// One scenario per library; everything it learns goes to stdout as JSON.
const SCRIPT = String.raw`
import json, os, sys
import requests
env = os.environ
base, cid, user, pw = env['LK_BASE'], env['LK_CLIENT_ID'], env['LK_USERNAME'], env['LK_PASSWORD']
sec = env.get('LK_CLIENT_SECRET') or None
headers = {'X-Tenant': env['LK_TENANT']}
out = {}

def me(token):
    r = requests.get(base + '/api/v2/users/me', headers={'Authorization': 'Bearer ' + token, **headers})
    return {'status': r.status_code, 'body': r.json()}

if env['LK_LIB'] == 'requests-oauthlib':
    from oauthlib.oauth2 import LegacyApplicationClient
    from oauthlib.oauth2.rfc6749 import errors
    from requests_oauthlib import OAuth2Session
    session = OAuth2Session(client=LegacyApplicationClient(client_id=cid), scope=['read'])
    tok = session.fetch_token(token_url=base + '/token', username=user, password=pw, client_id=cid, client_secret=sec, headers=headers)
    out['token'] = {k: tok.get(k) for k in ('token_type', 'expires_in', 'scope')}
    out['access'] = tok['access_token']
    r = session.get(base + '/api/v2/users/me', headers=headers)
    out['me'] = {'status': r.status_code, 'body': r.json()}
    first_refresh = tok['refresh_token']
    new = session.refresh_token(base + '/token', auth=requests.auth.HTTPBasicAuth(cid, sec or ''), headers=headers)
    out['refreshed_differs'] = new['refresh_token'] != first_refresh and new['access_token'] != out['access']
    out['refreshed_access'] = new['access_token']
    out['me_after_refresh'] = me(new['access_token'])
    def error_of(fn):
        try:
            fn()
            return None
        except errors.OAuth2Error as e:
            return {'class': type(e).__name__, 'error': e.error, 'description': e.description, 'status': e.status_code}
    out['bad_password'] = error_of(lambda: OAuth2Session(client=LegacyApplicationClient(client_id=cid)).fetch_token(
        token_url=base + '/token', username=user, password='wrong-' + pw, client_id=cid, client_secret=sec, headers=headers))
    out['bad_secret'] = error_of(lambda: OAuth2Session(client=LegacyApplicationClient(client_id=cid)).fetch_token(
        token_url=base + '/token', username=user, password=pw, client_id=cid, client_secret='not-the-secret', headers=headers))
    # The session's scope is not sent with the password grant: name it in the call.
    out['bad_scope'] = error_of(lambda: OAuth2Session(client=LegacyApplicationClient(client_id=cid)).fetch_token(
        token_url=base + '/token', username=user, password=pw, client_id=cid, client_secret=sec, headers=headers, scope='admin'))
    out['reused_refresh'] = error_of(lambda: session.refresh_token(base + '/token', refresh_token=first_refresh,
        auth=requests.auth.HTTPBasicAuth(cid, sec or ''), headers=headers))
else:
    from authlib.integrations.requests_client import OAuth2Session
    from authlib.integrations.base_client import OAuthError
    method = env['LK_AUTH_METHOD']
    session = OAuth2Session(client_id=cid, client_secret=sec, scope='read write', token_endpoint_auth_method=method)
    tok = session.fetch_token(base + '/token', username=user, password=pw, headers=headers)
    out['token'] = {k: tok.get(k) for k in ('token_type', 'expires_in', 'scope')}
    out['access'] = tok['access_token']
    r = session.get(base + '/api/v2/users/me', headers=headers)
    out['me'] = {'status': r.status_code, 'body': r.json()}
    first_refresh = tok['refresh_token']
    new = session.refresh_token(base + '/token', headers=headers)
    out['refreshed_differs'] = new['refresh_token'] != first_refresh and new['access_token'] != out['access']
    out['refreshed_access'] = new['access_token']
    r = session.get(base + '/api/v2/users/me', headers=headers)
    out['me_after_refresh'] = {'status': r.status_code, 'body': r.json()}
    def error_of(fn):
        try:
            fn()
            return None
        except OAuthError as e:
            return {'class': type(e).__name__, 'error': e.error, 'description': e.description}
    out['bad_password'] = error_of(lambda: OAuth2Session(client_id=cid, client_secret=sec, token_endpoint_auth_method=method).fetch_token(
        base + '/token', username=user, password='wrong-' + pw, headers=headers))
    out['bad_scope'] = error_of(lambda: OAuth2Session(client_id=cid, client_secret=sec, scope='admin', token_endpoint_auth_method=method).fetch_token(
        base + '/token', username=user, password=pw, headers=headers))
    out['reused_refresh'] = error_of(lambda: session.refresh_token(base + '/token', refresh_token=first_refresh, headers=headers))
print(json.dumps(out))
`;
import { OPERATOR } from '../../src/core/index.ts';

function python(env: Record<string, string>): Promise<any> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-c', SCRIPT], {
      // No proxy settings from the outside: the server is on the loopback.
      env: { PATH: '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', OAUTHLIB_INSECURE_TRANSPORT: '1', AUTHLIB_INSECURE_TRANSPORT: '1', ...env },
      timeout: 60_000,
    }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`python failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`python printed: ${stdout}\n${stderr}`));
      }
    });
  });
}

const hasPythonLibs = fs.existsSync(PYTHON);

for (const { engine, skip } of engines) {
  describe(`OAuth client libraries [${engine.name}]`, { skip: skip || (!hasPythonLibs && 'no /usr/bin/python3') }, () => {
    let t: TestApp;
    let base: string;
    let user: { pk: number; username: string };
    const tenant = 'interop';
    const clients: Record<string, { id: string; secret: string | null }> = {};

    before(async () => {
      t = await startApp(engine);
      await t.core.tenants.adminCreate(OPERATOR, tenant, 'Interop');
      const tn = (await t.core.tenants.findByName(tenant))!;
      const u = await t.createUser({ tenant, username: 'libby', password: PW, email: 'libby@example.com' });
      user = { pk: u.pk, username: u.username };
      for (const [key, confidential] of [['conf', true], ['pub', false]] as const) {
        const { client, secret } = await t.core.clients.create(OPERATOR, tn, { name: `Interop ${key}`, clientId: `interop.${key}~1`, scopes: ['read', 'write'], confidential });
        noteSecret(secret);
        clients[key] = { id: client.clientId, secret };
      }
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
    });
    after(async () => { await t?.close(); });

    const env = (lib: string, client: { id: string; secret: string | null }, extra: Record<string, string> = {}) => ({
      LK_LIB: lib, LK_BASE: base, LK_TENANT: tenant, LK_CLIENT_ID: client.id, LK_CLIENT_SECRET: client.secret ?? '', LK_USERNAME: 'libby', LK_PASSWORD: PW, ...extra,
    });

    /** `scope`: of the first token and of the refreshed one. */
    const checkCommon = (out: any, clientId: string, scope: string | undefined, refreshedScope = scope) => {
      assert.equal(out.token.token_type, 'bearer');
      assert.ok(Number.isInteger(out.token.expires_in) && out.token.expires_in > 0);
      assert.deepEqual(out.me, { status: 200, body: out.me.body });
      assert.equal(out.me.body.id, user.pk);
      assert.equal(out.me.body.username, 'libby');
      assert.equal(out.refreshed_differs, true);
      assert.equal(out.me_after_refresh.status, 200);
      assert.equal(out.me_after_refresh.body.id, user.pk);
      const c = claims(out.access);
      assert.equal(c.client_id, clientId);
      assert.equal(c.tenant, tenant);
      assert.equal(c.scope, scope);
      const r = claims(out.refreshed_access);
      assert.equal(r.client_id, clientId);
      assert.equal(r.sub, c.sub);
      assert.equal(r.scope, refreshedScope);
    };

    it('requests-oauthlib (LegacyApplicationClient): confidential client by Basic, refresh, and its errors', async () => {
      const out = await python(env('requests-oauthlib', clients.conf!));
      // requests-oauthlib sends the session's scope when refreshing, not with the password grant.
      checkCommon(out, clients.conf!.id, undefined, 'read');
      assert.deepEqual(out.bad_password, { class: 'InvalidGrantError', error: 'invalid_grant', description: 'Incorrect username or password', status: 400 });
      assert.equal(out.bad_secret.class, 'InvalidClientError');
      assert.equal(out.bad_secret.status, 401);
      assert.equal(out.bad_scope.class, 'InvalidScopeError');
      assert.equal(out.reused_refresh.class, 'InvalidGrantError');
    });

    it('requests-oauthlib with a public client: its id by Basic with an empty secret', async () => {
      const out = await python(env('requests-oauthlib', clients.pub!));
      checkCommon(out, clients.pub!.id, undefined, 'read');
      assert.equal(out.bad_password.error, 'invalid_grant');
      // A public client given a secret is refused.
      assert.equal(out.bad_secret.class, 'InvalidClientError');
    });

    for (const method of ['client_secret_basic', 'client_secret_post'] as const) {
      it(`authlib OAuth2Session (${method}): token, /me, refresh, and its errors`, async () => {
        const out = await python(env('authlib', clients.conf!, { LK_AUTH_METHOD: method }));
        checkCommon(out, clients.conf!.id, 'read write');
        assert.equal(out.token.scope, 'read write');
        assert.equal(out.bad_password.error, 'invalid_grant');
        assert.equal(out.bad_password.description, 'Incorrect username or password');
        assert.equal(out.bad_scope.error, 'invalid_scope');
        assert.equal(out.reused_refresh.error, 'invalid_grant');
      });
    }

    it('authlib with a public client (token_endpoint_auth_method none)', async () => {
      const out = await python(env('authlib', clients.pub!, { LK_AUTH_METHOD: 'none' }));
      checkCommon(out, clients.pub!.id, 'read write');
    });

    for (const authorizationMethod of ['header', 'body'] as const) {
      it(`simple-oauth2 ResourceOwnerPassword (credentials in the ${authorizationMethod}): getToken, /me, refresh`, async () => {
        const client = new ResourceOwnerPassword({
          client: { id: clients.conf!.id, secret: clients.conf!.secret! },
          auth: { tokenHost: base, tokenPath: '/token' },
          options: { authorizationMethod },
        });
        const http = { headers: { 'x-tenant': tenant } };
        const accessToken = await client.getToken({ username: 'libby', password: PW, scope: 'read' }, http);
        const tok = accessToken.token as Record<string, any>;
        assert.equal(tok.token_type, 'bearer');
        assert.equal(tok.scope, 'read');
        assert.ok(tok.expires_at instanceof Date && tok.expires_at.getTime() > Date.now());
        assert.equal(claims(tok.access_token).client_id, clients.conf!.id);
        const me = await fetch(`${base}/api/v2/users/me`, { headers: { authorization: `Bearer ${tok.access_token}`, 'x-tenant': tenant } });
        assert.equal(me.status, 200);
        assert.equal((await me.json()).id, user.pk);

        const refreshed = await accessToken.refresh({}, http);
        const next = refreshed.token as Record<string, any>;
        assert.notEqual(next.refresh_token, tok.refresh_token);
        assert.equal(claims(next.access_token).scope, 'read', 'the scope granted at sign-in stays');
        const me2 = await fetch(`${base}/api/v2/users/me`, { headers: { authorization: `Bearer ${next.access_token}` } });
        assert.equal(me2.status, 200);

        // Errors arrive as Boom errors carrying the server's RFC 6749 body.
        await assert.rejects(client.getToken({ username: 'libby', password: 'wrong-password' }, http), (err: any) => {
          assert.equal(err.output.statusCode, 400);
          assert.equal(err.data.payload.error, 'invalid_grant');
          return true;
        });
        const wrong = new ResourceOwnerPassword({ client: { id: clients.conf!.id, secret: 'not-the-secret' }, auth: { tokenHost: base, tokenPath: '/token' }, options: { authorizationMethod } });
        await assert.rejects(wrong.getToken({ username: 'libby', password: PW }, http), (err: any) => {
          assert.equal(err.output.statusCode, 401);
          assert.equal(err.data.payload.error, 'invalid_client');
          return true;
        });
        await assert.rejects(accessToken.refresh({}, http), (err: any) => {
          assert.equal(err.data.payload.error, 'invalid_grant', 'a spent refresh token');
          return true;
        });
      });
    }
  });
}
