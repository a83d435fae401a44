// Ending a session ends the tokens handed out with it. Threat: a stolen phone's app session is
// ended from another device (DELETE auth/sessions), yet the access and refresh tokens the app got
// with that session keep working, so the thief stays in through tokens/refresh. Both engines,
// every answer checked against the served OpenAPI document.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { AppClient, PW, SchemaCheck } from './support.ts';

for (const { engine, skip } of engines) {
  describe(`allauth headless API: ending a session ends its tokens [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let schemas: SchemaCheck;
    const bearer = (access: string) => t.request({ method: 'GET', url: '/api/auth/user/', headers: { authorization: `Bearer ${access}` } });

    before(async () => {
      noteSecret(PW);
      t = await startApp(engine);
      schemas = await SchemaCheck.of(t);
      await t.createUser({ username: 'ann', password: PW, email: 'ann@example.com' });
    });
    after(async () => {
      await t?.close();
    });

    it('DELETE auth/sessions of another session: its refresh token is refused at tokens/refresh, its access token and session token stop; the caller\'s own go on', async () => {
      const phone = new AppClient(t, schemas);
      const laptop = new AppClient(t, schemas);
      for (const c of [phone, laptop]) assert.equal((await c.call({ method: 'POST', path: 'auth/login', body: { username: 'ann', password: PW } })).statusCode, 200);
      // The phone refreshed once: the family, not only the first token, must end.
      const rotated = await phone.call({ method: 'POST', path: 'tokens/refresh', body: { refresh_token: phone.refresh } });
      assert.equal(rotated.statusCode, 200);
      const phoneRefresh = rotated.data.data.refresh_token as string;
      const phoneAccess = rotated.data.data.access_token as string;
      const phoneToken = phone.token!;
      const list = await laptop.call({ method: 'GET', path: 'auth/sessions' });
      const other = list.data.data.find((s: any) => !s.is_current);
      assert.ok(other);
      const ended = await laptop.call({ method: 'DELETE', path: 'auth/sessions', body: { sessions: [other.id] } });
      assert.equal(ended.statusCode, 200, ended.body);
      assert.equal(ended.data.data.length, 1);
      const refused = await phone.call({ method: 'POST', path: 'tokens/refresh', body: { refresh_token: phoneRefresh } });
      assert.equal(refused.statusCode, 400, refused.body);
      assert.equal(refused.data.errors[0].param, 'refresh_token');
      assert.equal((await bearer(phoneAccess)).statusCode, 401, 'its access token is revoked too');
      phone.token = phoneToken;
      assert.equal((await phone.call({ method: 'GET', path: 'auth/session' })).statusCode, 410);
      // The laptop's own session and tokens are untouched.
      assert.equal((await laptop.call({ method: 'GET', path: 'auth/session' })).statusCode, 200);
      assert.equal((await bearer(laptop.access!)).statusCode, 200);
      assert.equal((await laptop.call({ method: 'POST', path: 'tokens/refresh', body: { refresh_token: laptop.refresh } })).statusCode, 200);
    });

    it('signing out ends the session\'s tokens even when the session token does not name its family', async () => {
      const c = new AppClient(t, schemas);
      await c.call({ method: 'POST', path: 'auth/login', body: { username: 'ann', password: PW } });
      const { refresh } = c;
      c.token = c.token!.split('~')[0];
      assert.equal((await c.call({ method: 'DELETE', path: 'auth/session' })).statusCode, 401);
      assert.equal((await c.call({ method: 'POST', path: 'tokens/refresh', body: { refresh_token: refresh } })).statusCode, 400);
    });
  });
}
