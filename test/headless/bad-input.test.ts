// Bad input to the headless API: every refusal a clear 4xx in the specification's shape (its
// schema in the served document), never a 500, for both clients and both engines.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { AppClient, BrowserClient, PW, SchemaCheck } from './support.ts';

for (const { engine, skip } of engines) {
  describe(`allauth headless API: bad input [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let schemas: SchemaCheck;
    before(async () => {
      t = await startApp(engine);
      schemas = await SchemaCheck.of(t);
      await t.createUser({ username: 'alice', password: PW, email: 'alice@example.com' });
    });
    after(async () => { await t?.close(); });

    const raw = async (method: string, url: string, opts: { payload?: string; headers?: Record<string, string> } = {}) => {
      const r = await t.request({ method: method as any, url, payload: opts.payload, headers: opts.headers });
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `${method} ${url} ${opts.payload ?? ''}: ${r.statusCode} ${r.body}`);
      schemas.check(method, url, r);
      const body = r.json();
      if (r.statusCode === 400) assert.ok(Array.isArray(body.errors) && body.errors.every((e: any) => typeof e.message === 'string' && typeof e.code === 'string'));
      return r;
    };

    it('malformed bodies, wrong types, unknown tenants and tokens: 4xx in the shape, no 500', async () => {
      const json = { 'content-type': 'application/json' };
      for (const [path, payload] of [
        ['auth/login', '{'], ['auth/login', '[]'], ['auth/login', '{"username":5,"password":"x"}'], ['auth/login', '{"password":"x"}'],
        ['auth/login', JSON.stringify({ username: 'a'.repeat(5000), password: PW })], ['auth/login', JSON.stringify({ phone: '+1555', password: PW })],
        ['auth/signup', '{"password":"x"}'], ['auth/signup', JSON.stringify({ username: 'bob', email: 'bob@', password: PW })],
        ['auth/signup', JSON.stringify({ username: 'bob\u0000', password: PW })],
        ['auth/2fa/authenticate', '{"code":123456}'], ['auth/code/request', '{"email":"not an address"}'], ['auth/code/request', '{"phone":"+1555"}'],
        ['auth/code/confirm', '{"code":"ABCDEF"}'], ['auth/password/request', '{"email":"x"}'], ['auth/password/reset', '{"key":"nope","password":"x"}'],
        ['auth/email/verify', '{"key":"nope"}'], ['tokens/refresh', '{"refresh_token":"nope"}'], ['tokens/refresh', '{}'],
      ] as const) {
        await raw('POST', `/_allauth/app/v1/${path}`, { payload, headers: json });
      }
      await raw('POST', '/_allauth/app/v1/auth/login', { payload: 'username=alice', headers: { 'content-type': 'text/plain' } });
      await raw('GET', '/_allauth/app/v1/auth/session', { headers: { 'x-tenant': 'no-such-tenant' } });
      await raw('POST', '/_allauth/app/v1/auth/login', { payload: JSON.stringify({ username: 'alice', password: PW }), headers: { ...json, 'x-tenant': 'no-such-tenant' } });
      for (const token of ['', 'x', 'flow:', 'code:\u00e9', 'a.b.c', `${'z'.repeat(300)}.y`, 'flow:' + 'a'.repeat(500)]) {
        const r = await t.request({ method: 'GET', url: '/_allauth/app/v1/account/authenticators', headers: { 'x-session-token': token } });
        assert.ok([401, 410].includes(r.statusCode), `${JSON.stringify(token)}: ${r.statusCode} ${r.body}`);
        schemas.check('GET', '/_allauth/app/v1/account/authenticators', r);
      }
      await raw('GET', '/_allauth/app/v1/auth/email/verify', { headers: { 'x-email-verification-key': 'nope' } });
      await raw('GET', '/_allauth/app/v1/auth/password/reset', { headers: { 'x-password-reset-key': 'x'.repeat(40) } });
      await raw('GET', '/_allauth/app/v1/auth/email/verify');
      for (const url of ['/_allauth/app/v1/nope', '/_allauth/phone/v1/config', '/_allauth/app/v1/auth/phone/verify']) {
        const r = await t.request({ method: 'GET', url });
        assert.equal(r.statusCode, 404);
        assert.equal(r.json().status, 404);
      }
    });

    it('endpoints that need a session say so with the flows (401), and flow endpoints without their flow are 409', async () => {
      const c = new AppClient(t, schemas);
      for (const [method, path, body] of [
        ['GET', 'account/email'], ['POST', 'account/email', { email: 'x@example.com' }], ['GET', 'account/authenticators/totp'],
        ['POST', 'account/authenticators/recovery-codes'], ['POST', 'account/password/change', { new_password: 'x' }], ['GET', 'auth/sessions'],
        ['POST', 'auth/reauthenticate', { password: PW }], ['POST', 'auth/2fa/reauthenticate', { code: '123456' }], ['POST', 'auth/2fa/authenticate', { code: '123456' }],
      ] as const) {
        const r = await c.call({ method: method as any, path, body });
        assert.equal(r.statusCode, 401, `${method} ${path}: ${r.body}`);
        assert.equal(r.data.meta.is_authenticated, false);
      }
      for (const path of ['auth/code/confirm', 'auth/code/resend', 'auth/email/verify/resend']) {
        const r = await c.call({ method: 'POST', path, body: path.endsWith('confirm') ? { code: 'ABCDEF' } : undefined });
        assert.equal(r.statusCode, 409, `${path}: ${r.body}`);
      }
      const b = new BrowserClient(t, schemas);
      await b.call({ method: 'GET', path: 'config' });
      assert.equal((await b.call({ method: 'POST', path: 'auth/2fa/trust', body: { trust: true } })).statusCode, 401);
      b.jar.set('csrftoken', 'forged');
      const r = await b.call({ method: 'POST', path: 'auth/login', body: { username: 'alice', password: PW }, headers: { 'x-csrftoken': 'other' } });
      assert.equal(r.statusCode, 403);
    });
  });
}
