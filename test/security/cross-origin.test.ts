// Threat: a cookie write sent by another site's page. The CSRF token proves that a page once
// read it; a script injected on, or a page served by, another origin that got hold of it (a
// leaked page, a sibling subdomain, an old copy) could still send writes that the victim's
// browser signs with the `sessionid` cookie. So an unsafe request authenticated by the cookie
// must also come from a trusted origin: PUBLIC_URL's, or one named in CSRF_TRUSTED_ORIGINS
// (Django 4's semantics: full origins, `https://*.domain` for subdomains). Its `Origin` header
// decides; without one, the `Referer`; without either, the Referer is required only when
// PUBLIC_URL is https (as Django requires it only on secure requests). Refusals are 403 in each
// dialect's shape with Django's words and change nothing; Bearer, Token and Basic requests are
// not affected (browsers do not add them by themselves).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { AddressInfo } from 'node:net';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import type { User } from '../../src/core/index.ts';
import { ConfigError, loadConfig } from '../../src/config/env.ts';
import { call, PASSWORD, type CallOptions } from './support.ts';

const TRUSTED = ['https://app.example.com', 'https://*.partner.example'];
const originFailed = (o: string) => `CSRF Failed: Origin checking failed - ${o} does not match any trusted origins.`;

interface Site {
  t: TestApp;
  call(method: string, path: string, o?: CallOptions): Promise<Awaited<ReturnType<typeof call>>>;
}

async function site(engine: Parameters<typeof startApp>[0], publicUrl: string, trusted?: string[]): Promise<Site> {
  const t = await startApp(engine, { publicUrl, csrfTrustedOrigins: trusted });
  await t.app.listen({ host: '127.0.0.1', port: 0 });
  const base = `http://127.0.0.1:${(t.app.server.address() as AddressInfo).port}`;
  return { t, call: (m, p, o) => call(base, m, p, o) };
}

/** A cookie write in every dialect that accepts the cookie, and its refusal body for `message`. */
const writes = (u: User) => [
  { dialect: 'v1', method: 'PATCH', path: `/api/users/${u.id}/`, json: { first_name: 'Forged' }, refused: (m: string) => ({ detail: m }) },
  { dialect: 'AuthN', method: 'PATCH', path: `/user/${u.pk}/`, json: { first_name: 'Forged' }, refused: (m: string) => ({ errors: [], message: m, status: 403 }) },
  { dialect: 'OAuth2 v2', method: 'PUT', path: `/api/v2/users/${u.pk}`, json: { username: u.username, enabled: true, is_admin: false, avatar: 'https://evil.example/a.png' }, refused: (m: string) => ({ detail: m }) },
  { dialect: 'REST-auth', method: 'PATCH', path: '/api/auth/user/', json: { first_name: 'Forged' }, refused: (m: string) => ({ detail: m }) },
];

for (const { engine, skip } of engines) {
  describe(`cookie writes from another origin [${engine.name}]`, { skip }, () => {
    let plain: Site;
    let secure: Site;
    let n = 0;

    before(async () => {
      plain = await site(engine, 'http://latchkey.test', TRUSTED);
      secure = await site(engine, 'https://login.latchkey.example');
    });
    after(async () => {
      await plain?.t.close();
      await secure?.t.close();
    });

    const fresh = async (s: Site) => {
      const user = await s.t.createUser({ username: `origin${++n}`, password: PASSWORD, email: `origin${n}@example.com` });
      const session = await s.t.core.sessions.create(user);
      noteSecret(session.cookie);
      noteSecret(session.csrfToken);
      return { user, cookie: `sessionid=${session.cookie}`, csrf: { 'x-csrftoken': session.csrfToken } };
    };
    const firstName = async (s: Site, u: User) => (await s.t.store.read.users.findByPk(u.pk))?.firstName;

    it('a cookie write with a valid CSRF token but a foreign or null Origin is 403 in every dialect, and changes nothing', async () => {
      const { user, cookie, csrf } = await fresh(plain);
      for (const origin of ['https://evil.example', 'http://latchkey.test.evil.example', 'https://latchkey.test', 'http://latchkey.test:8080', 'null', 'https://x.app.example.com', 'http://app.example.com', 'not a url']) {
        for (const w of writes(user)) {
          const r = await plain.call(w.method, w.path, { cookie, json: w.json, headers: { ...csrf, origin } });
          assert.deepEqual([r.status, r.body], [403, w.refused(originFailed(origin))], `${w.dialect}, Origin ${origin}`);
        }
      }
      assert.equal(await firstName(plain, user), '');
    });

    it('a cookie write without Origin whose Referer is foreign is 403 (Referer checking failed); a malformed one too', async () => {
      const { user, cookie, csrf } = await fresh(plain);
      for (const w of writes(user)) {
        let r = await plain.call(w.method, w.path, { cookie, json: w.json, headers: { ...csrf, referer: 'https://evil.example/page?x=1' } });
        assert.deepEqual([r.status, r.body], [403, w.refused('CSRF Failed: Referer checking failed - https://evil.example does not match any trusted origins.')], w.dialect);
        r = await plain.call(w.method, w.path, { cookie, json: w.json, headers: { ...csrf, referer: 'not a url' } });
        assert.deepEqual([r.status, r.body], [403, w.refused('CSRF Failed: Referer checking failed - Referer is malformed.')], w.dialect);
      }
      assert.equal(await firstName(plain, user), '');
    });

    it('PUBLIC_URL\'s origin, a listed origin and a listed wildcard subdomain are accepted (Origin or Referer); over http, neither header is needed', async () => {
      const { user, cookie, csrf } = await fresh(plain);
      const allowed: Array<Record<string, string>> = [
        { origin: 'http://latchkey.test' }, { origin: 'https://app.example.com' }, { origin: 'https://partner.example' },
        { origin: 'https://eu.shop.partner.example' }, { referer: 'http://latchkey.test/account/' }, { referer: 'https://app.example.com/settings' }, {},
      ];
      for (const headers of allowed) {
        for (const w of writes(user)) {
          const r = await plain.call(w.method, w.path, { cookie, json: { ...w.json, ...(w.dialect === 'OAuth2 v2' ? {} : { first_name: 'Real' }) }, headers: { ...csrf, ...headers } });
          assert.equal(r.status, 200, `${w.dialect} ${JSON.stringify(headers)}: ${r.text}`);
        }
      }
      assert.equal(await firstName(plain, user), 'Real');
      // The origin is checked in addition to the token, not instead of it.
      const r = await plain.call('PATCH', '/api/auth/user/', { cookie, json: { first_name: 'x' }, headers: { origin: 'http://latchkey.test' } });
      assert.deepEqual([r.status, r.body], [403, { detail: 'CSRF Failed: CSRF token missing or incorrect.' }]);
    });

    it('when PUBLIC_URL is https, a cookie write needs an Origin or an https Referer of a trusted origin', async () => {
      const { user, cookie, csrf } = await fresh(secure);
      const cases: Array<[Record<string, string>, string | undefined]> = [
        [{}, 'CSRF Failed: Referer checking failed - no Referer.'],
        [{ referer: 'http://login.latchkey.example/' }, 'CSRF Failed: Referer checking failed - Referer is insecure while host is secure.'],
        [{ origin: 'http://login.latchkey.example' }, originFailed('http://login.latchkey.example')],
        [{ referer: 'https://login.latchkey.example/account/' }, undefined],
        [{ origin: 'https://login.latchkey.example' }, undefined],
      ];
      for (const [headers, refusal] of cases) {
        for (const w of writes(user)) {
          const r = await secure.call(w.method, w.path, { cookie, json: w.json, headers: { ...csrf, ...headers } });
          if (refusal) assert.deepEqual([r.status, r.body], [403, w.refused(refusal)], `${w.dialect} ${JSON.stringify(headers)}`);
          else assert.equal(r.status, 200, `${w.dialect} ${JSON.stringify(headers)}: ${r.text}`);
        }
      }
    });

    it('a logout with the cookie from another origin is 403 and ends nothing; from PUBLIC_URL it ends the session', async () => {
      const { cookie, csrf } = await fresh(plain);
      for (const path of ['/api/auth/logout/', '/api/token/logout']) {
        const r = await plain.call('POST', path, { cookie, json: {}, headers: { ...csrf, origin: 'https://evil.example' } });
        assert.deepEqual([r.status, r.body, r.headers.get('set-cookie')], [403, { detail: originFailed('https://evil.example') }, null], path);
      }
      assert.equal((await plain.call('GET', '/api/auth/user/', { cookie })).status, 200, 'the session survived');
      const out = await plain.call('POST', '/api/auth/logout/', { cookie, json: {}, headers: { ...csrf, origin: 'http://latchkey.test' } });
      assert.equal(out.status, 200, out.text);
      assert.equal((await plain.call('GET', '/api/auth/user/', { cookie })).status, 401, 'the session ended');
    });

    it('Bearer, Token and Basic writes are not affected by a foreign Origin', async () => {
      const { user } = await fresh(plain);
      const pair = (await plain.call('POST', '/api/token', { json: { username: user.username, password: PASSWORD } })).body;
      const key = (await plain.call('POST', '/api/auth/login/', { json: { username: user.username, password: PASSWORD } })).body.key;
      noteSecret(pair.access);
      noteSecret(pair.refresh);
      noteSecret(key);
      const origin = { origin: 'https://evil.example' };
      for (const [label, authorization, method, path] of [
        ['Bearer', `Bearer ${pair.access}`, 'PATCH', `/api/users/${user.id}/`],
        ['Token', `Token ${key}`, 'PATCH', '/api/auth/user/'],
        ['Basic', 'Basic ' + Buffer.from(`${user.username}:${PASSWORD}`).toString('base64'), 'PATCH', `/user/${user.pk}/`],
      ] as const) {
        const r = await plain.call(method, path, { json: { first_name: label }, headers: { ...origin, authorization } });
        assert.equal(r.status, 200, `${label}: ${r.text}`);
      }
      assert.equal(await firstName(plain, user), 'Basic');
    });

    it('CSRF_TRUSTED_ORIGINS is checked at start with a clear message', () => {
      const env = (v: string) => loadConfig({ PUBLIC_URL: 'https://login.example.com', CSRF_TRUSTED_ORIGINS: v });
      assert.deepEqual(env(' https://app.example.com , https://*.example.org ').csrfTrustedOrigins, ['https://app.example.com', 'https://*.example.org']);
      assert.deepEqual(loadConfig({}).csrfTrustedOrigins, []);
      for (const bad of ['app.example.com', 'https://app.example.com/path', 'ftp://files.example.com', 'https://*', 'https://a.*.example.com', '*.example.com', 'https://user@app.example.com']) {
        assert.throws(() => env(bad), (err: unknown) => err instanceof ConfigError && err.message.startsWith(`CSRF_TRUSTED_ORIGINS: "${bad}" is not an origin`), bad);
      }
    });
  });
}
