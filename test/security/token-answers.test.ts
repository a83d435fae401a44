// Threat: a token answer kept by a cache. A shared proxy, a CDN or the browser's own history and
// back-forward cache that stores an answer carrying a credential hands it to the next person who
// asks (RFC 6749 §5.1, RFC 9700 §4.14.2). Every answer that carries a token, a token key, a
// client secret or an echoed credential, and every refusal of those endpoints, says
// `Cache-Control: no-store` and `Pragma: no-cache`; an ordinary answer does not, so the check
// cannot pass by a blanket header.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecretsIn } from '../helpers/secret-log.ts';
import { call, PASSWORD, type CallOptions, type Reply } from './support.ts';

for (const { engine, skip } of engines) {
  describe(`token answers are never cached [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let base: string;
    const send = async (method: string, path: string, o: CallOptions = {}) => {
      const r = await call(base, method, path, o);
      noteSecretsIn(r.body);
      return r;
    };
    const uncached = (r: Reply, what: string, status: number) => {
      assert.equal(r.status, status, `${what}: ${r.text}`);
      assert.equal(r.headers.get('cache-control'), 'no-store', `${what}: Cache-Control`);
      assert.equal(r.headers.get('pragma'), 'no-cache', `${what}: Pragma`);
    };

    before(async () => {
      t = await startApp(engine);
      await t.app.listen({ host: '127.0.0.1', port: 0 });
      base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
      await t.createUser({ username: 'cached', password: PASSWORD, email: 'cached@example.com' });
      await t.createUser({ username: 'staffer', password: PASSWORD, isStaff: true });
    });
    after(async () => t?.close());

    it('a token answer (JWT pairs, OAuth2 tokens, token keys, client secrets, AuthN\'s echoed credential) is no-store and no-cache', async () => {
      const pair = await send('POST', '/api/token', { json: { username: 'cached', password: PASSWORD } });
      uncached(pair, 'v1 POST /api/token', 200);
      uncached(await send('POST', '/api/token/refresh', { json: { refresh: pair.body.refresh } }), 'v1 POST /api/token/refresh', 200);
      const v2 = await send('POST', '/token', { form: { username: 'cached', password: PASSWORD } });
      uncached(v2, 'POST /token (password)', 200);
      uncached(await send('POST', '/token', { form: { grant_type: 'refresh_token', refresh_token: v2.body.refresh_token } }), 'POST /token (refresh)', 200);
      const login = await send('POST', '/api/auth/login/', { json: { username: 'cached', password: PASSWORD } });
      uncached(login, 'REST-auth login', 200);
      assert.equal(typeof login.body.key, 'string');
      const reg = await send('POST', '/api/auth/registration/', { json: { username: 'newcomer', password1: PASSWORD, password2: PASSWORD } });
      uncached(reg, 'REST-auth registration', 201);
      assert.equal(typeof reg.body.key, 'string', reg.text);
      const me = await send('GET', '/user_info/', { headers: { authorization: `Token ${login.body.key}` } });
      uncached(me, 'AuthN /user_info/ (echoes the credential)', 200);
      assert.equal(me.body.token, login.body.key);
      const staff = await send('POST', '/api/token', { json: { username: 'staffer', password: PASSWORD } });
      const client = await send('POST', '/api/clients/', { bearer: staff.body.access, json: { name: 'Cached app' } });
      uncached(client, 'v1 POST /api/clients/ (client secret)', 201);
      assert.equal(typeof client.body.client_secret, 'string');
    });

    it('the refusals of those endpoints are no-store and no-cache too', async () => {
      uncached(await send('POST', '/api/token', { json: { username: 'cached', password: 'wrong-password-1' } }), 'v1 token, wrong password', 401);
      uncached(await send('POST', '/api/token', { json: {} }), 'v1 token, no fields', 400);
      uncached(await send('POST', '/api/token/refresh', { json: { refresh: 'made-up.refresh-token' } }), 'v1 refresh, made up', 401);
      uncached(await send('POST', '/token', { form: { username: 'cached', password: 'wrong-password-1' } }), '/token, wrong password', 400);
      uncached(await send('POST', '/token', { raw: 'x', headers: { 'content-type': 'text/plain' } }), '/token, not a form', 400);
      uncached(await send('POST', '/api/auth/login/', { json: { username: 'cached', password: 'wrong-password-1' } }), 'REST-auth login, wrong password', 400);
      uncached(await send('POST', '/api/auth/registration/', { json: { username: 'cached', password1: PASSWORD, password2: PASSWORD } }), 'REST-auth registration, name taken', 400);
      uncached(await send('GET', '/user_info/', { headers: { authorization: 'Token made-up' } }), 'AuthN /user_info/, bad key', 401);
    });

    it('an answer without a credential keeps ordinary caching rules (the header is not blanket)', async () => {
      for (const path of ['/healthz', '/api/auth/providers/', '/.well-known/jwks.json']) {
        const r = await send('GET', path);
        assert.equal(r.status, 200, path);
        assert.notEqual(r.headers.get('cache-control'), 'no-store', path);
        assert.equal(r.headers.get('pragma'), null, path);
      }
    });
  });
}
