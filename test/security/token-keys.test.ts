// Threat: the REST-auth API's credentials — `Authorization: Token <key>`, HTTP Basic, and the
// session cookie its login sets — forged, guessed or replayed after they should have died. A
// made-up or altered key is refused everywhere a key is accepted; a key dies with its logout,
// with its user (deleted or disabled, and stays dead when the user comes back), with a
// password change made elsewhere or by an administrator, and with its tenant; a key or a Basic
// credential of one tenant does not open another; a disabled user's right password is refused
// like a wrong one. The session cookie is HttpOnly and SameSite, and nothing changes without
// the CSRF token.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import type { User } from '../../src/core/index.ts';
import { PASSWORD, startLive, v1Login, type Live, type Reply } from './support.ts';

const INVALID = 'Invalid token.';
const basic = (u: string, p: string) => ({ authorization: 'Basic ' + Buffer.from(`${u}:${p}`).toString('base64') });
const tokenHeader = (k: string) => ({ authorization: `Token ${k}` });

/** Every dialect's "who am I", and its body for a refused key. */
const probes: Array<{ dialect: string; path: (u: User) => string; invalid: (m: string) => unknown }> = [
  { dialect: 'rest-auth', path: () => '/api/auth/user/', invalid: (m) => ({ detail: m }) },
  { dialect: 'v1', path: (u) => `/api/users/${u.id}/`, invalid: (m) => ({ detail: m }) },
  { dialect: 'authn', path: () => '/user_info/', invalid: (m) => ({ errors: [], message: m, status: 401 }) },
  { dialect: 'oauth2-v2', path: () => '/api/v2/users/me', invalid: () => ({ detail: 'Not authenticated' }) },
];

for (const { engine, skip } of engines) {
  describe(`REST-auth credentials [${engine.name}]`, { skip }, () => {
    let live: Live;
    let staff: User;
    let n = 0;
    const fresh = async (tenant?: string) => {
      const username = `keyuser${++n}`;
      const user = await live.t.createUser({ username, password: PASSWORD, email: `${username}@example.com`, tenant });
      return user;
    };
    const login = async (u: User, tenant?: string) => {
      const r = await live.call('POST', '/api/auth/login/', { json: { username: u.username, password: PASSWORD }, headers: tenant ? { 'x-tenant': tenant } : {} });
      assert.equal(r.status, 200, r.text);
      return { key: r.body.key as string, cookies: r.headers.getSetCookie() };
    };
    async function refused(headers: Record<string, string>, u: User, message = INVALID) {
      for (const p of probes) {
        const r = await live.call('GET', p.path(u), { headers });
        assert.equal(r.status, 401, `${p.dialect}: ${r.text}`);
        assert.deepEqual(r.body, p.invalid(message), p.dialect);
      }
    }
    /** One Basic attempt (each failure counts towards the sign-in throttle, so one probe only). */
    async function basicRefused(user: string, password: string) {
      const r = await live.call('GET', '/api/auth/user/', { headers: basic(user, password) });
      assert.deepEqual([r.status, r.body], [401, { detail: 'Invalid username/password.' }], `${user} by Basic`);
    }
    async function accepted(headers: Record<string, string>, u: User) {
      for (const p of probes) {
        const r = await live.call('GET', p.path(u), { headers });
        assert.equal(r.status, 200, `${p.dialect}: ${r.text}`);
        assert.equal(r.body.username, u.username, p.dialect);
      }
    }
    const staffToken = async () => (await v1Login(live, staff.username)).access;

    before(async () => {
      live = await startLive(engine);
      staff = await live.t.createUser({ username: 'staff', password: PASSWORD, isStaff: true });
      await live.t.createUser({ username: 'root', password: PASSWORD, isStaff: true, isSuperuser: true });
      await live.t.core.tenants.create('acme', 'Acme');
    });
    after(async () => { await live?.close(); });

    it('control: a key from the login and HTTP Basic are accepted by every dialect', async () => {
      const u = await fresh();
      await accepted(tokenHeader((await login(u)).key), u);
      await accepted(basic(u.username, PASSWORD), u);
    });

    it('made-up, altered, truncated, hostile and oversized keys are refused everywhere', async () => {
      const u = await fresh();
      const { key } = await login(u);
      const flip = (k: string, i: number) => k.slice(0, i) + (k[i] === 'A' ? 'B' : 'A') + k.slice(i + 1);
      for (const bad of [flip(key, 0), flip(key, 63), key.slice(0, -1), `${key}x`, key.toLowerCase() === key ? key.toUpperCase() : key.toLowerCase(),
        'x'.repeat(64), "' OR '1'='1' --                                  ", '../../../../etc/passwd/../../../../etc/passwd', 'short', 'k'.repeat(5000)]) {
        await refused(tokenHeader(bad), u);
      }
      await accepted(tokenHeader(key), u); // the real key was never touched
    });

    it('a key dies with its logout (and its session with it)', async () => {
      const u = await fresh();
      const { key, cookies } = await login(u);
      const session = cookies.find((c) => c.startsWith('sessionid='))!.split(';')[0]!;
      const out = await live.call('POST', '/api/auth/logout/', { headers: tokenHeader(key) });
      assert.deepEqual([out.status, out.body], [200, { detail: 'Successfully logged out.' }]);
      await refused(tokenHeader(key), u);
      const viaCookie = await live.call('GET', '/api/auth/user/', { cookie: session });
      assert.deepEqual([viaCookie.status, viaCookie.body], [401, { detail: 'Session expired or invalid. Sign in again.' }]);
    });

    it('a key dies with its user: deleted, or disabled (and stays dead when the user is enabled again)', async () => {
      const gone = await fresh();
      const goneKey = (await login(gone)).key;
      const del = await live.call('DELETE', `/api/users/${gone.id}/`, { bearer: await staffToken() });
      assert.equal(del.status, 204);
      await refused(tokenHeader(goneKey), gone);
      await basicRefused(gone.username, PASSWORD);

      const paused = await fresh();
      const pausedKey = (await login(paused)).key;
      const off = await live.call('PATCH', `/user/${paused.pk}/`, { bearer: await staffToken(), json: { is_active: false } });
      assert.equal(off.status, 200, off.text);
      await refused(tokenHeader(pausedKey), paused);
      // The disabled user's right password is refused like a wrong one.
      await basicRefused(paused.username, PASSWORD);
      await basicRefused(paused.username, 'a-wrong-password');
      const on = await live.call('PATCH', `/user/${paused.pk}/`, { bearer: await staffToken(), json: { is_active: true } });
      assert.equal(on.status, 200, on.text);
      await refused(tokenHeader(pausedKey), paused);
      await accepted(basic(paused.username, PASSWORD), paused);
    });

    it('a password change through one key ends the other keys, sessions and JWTs; the key used stays', async () => {
      const u = await fresh();
      const a = await login(u);
      const b = await login(u);
      const jwt = await v1Login(live, u.username);
      const r = await live.call('POST', '/api/auth/password/change/', { headers: tokenHeader(a.key), json: { new_password1: 'another-long-passphrase', new_password2: 'another-long-passphrase' } });
      assert.deepEqual([r.status, r.body], [200, { detail: 'New password has been saved.' }]);
      await accepted(tokenHeader(a.key), u);
      await refused(tokenHeader(b.key), u);
      const bearer = await live.call('GET', '/api/auth/user/', { bearer: jwt.access });
      assert.deepEqual([bearer.status, bearer.body], [401, { detail: 'Token has been revoked', code: 'token_not_valid' }]);
      await basicRefused(u.username, PASSWORD);
      await accepted(basic(u.username, 'another-long-passphrase'), u);
    });

    it('a password set by an administrator ends every key of the user', async () => {
      const u = await fresh();
      const a = await login(u);
      const b = await login(u);
      const set = await live.call('PUT', `/api/v2/users/${u.pk}/password`, { bearer: await staffToken(), json: { password: 'set-by-the-admin-1' } });
      assert.equal(set.status, 200, set.text);
      await refused(tokenHeader(a.key), u);
      await refused(tokenHeader(b.key), u);
    });

    it('a key or Basic credential of one tenant opens nothing in another; a disabled tenant\'s keys stop', async () => {
      const eve = await fresh('acme');
      const { key } = await login(eve, 'acme');
      await accepted(tokenHeader(key), eve);
      const wrong = 'This credential does not belong to the requested tenant.';
      for (const p of probes) {
        const r = await live.call('GET', p.path(eve), { headers: { ...tokenHeader(key), 'x-tenant': 'default' } });
        assert.equal(r.status, 401, p.dialect);
        assert.deepEqual(r.body, p.dialect === 'oauth2-v2' ? { detail: 'Not authenticated' } : p.invalid(wrong), p.dialect);
      }
      // Basic names a user of the tenant the request is in: eve is nobody in `default`.
      await basicRefused(eve.username, PASSWORD);
      const inAcme = await live.call('GET', '/api/auth/user/', { headers: { ...basic(eve.username, PASSWORD), 'x-tenant': 'acme' } });
      assert.equal(inAcme.status, 200, inAcme.text);
      const root = (await v1Login(live, 'root')).access;
      assert.equal((await live.call('PATCH', '/api/tenants/acme/', { bearer: root, json: { is_active: false } })).status, 200);
      try {
        await refused(tokenHeader(key), eve);
      } finally {
        assert.equal((await live.call('PATCH', '/api/tenants/acme/', { bearer: root, json: { is_active: true } })).status, 200);
      }
      await accepted(tokenHeader(key), eve);
    });

    it('the session cookie is HttpOnly and SameSite=Lax; the CSRF cookie is readable by the page\'s script', async () => {
      const u = await fresh();
      const { cookies } = await login(u);
      const session = cookies.find((c) => c.startsWith('sessionid='))!;
      const csrf = cookies.find((c) => c.startsWith('csrftoken='))!;
      assert.match(session, /; HttpOnly/);
      assert.match(session, /; SameSite=Lax/);
      assert.match(session, /; Path=\//);
      assert.doesNotMatch(csrf, /HttpOnly/);
      assert.match(csrf, /; SameSite=Lax/);
    });

    it('with the login\'s cookie, unsafe requests need its X-CSRFToken; a cross-site logout changes nothing', async () => {
      const u = await fresh();
      const { cookies } = await login(u);
      const cookie = cookies.map((c) => c.split(';')[0]).join('; ');
      const csrf = cookies.find((c) => c.startsWith('csrftoken='))!.split(';')[0]!.slice('csrftoken='.length);
      const denied = { detail: 'CSRF Failed: CSRF token missing or incorrect.' };
      const tries: Array<[string, string, unknown]> = [
        ['PATCH', '/api/auth/user/', { first_name: 'Forged' }],
        ['PUT', '/api/auth/user/', { username: u.username, first_name: 'Forged' }],
        ['POST', '/api/auth/password/change/', { new_password1: 'forged-passphrase-1', new_password2: 'forged-passphrase-1' }],
        ['POST', '/api/auth/emails/', { email: 'attacker@evil.test' }],
      ];
      for (const [method, path, json] of tries) {
        for (const headers of [{}, { 'x-csrftoken': 'guessed' }, { 'x-csrftoken': '' }] as Array<Record<string, string>>) {
          const r = await live.call(method, path, { cookie, headers, json });
          assert.deepEqual([r.status, r.body], [403, denied], `${method} ${path} ${JSON.stringify(headers)}`);
        }
      }
      // A forged logout is refused (as DRF's SessionAuthentication does) and ends nothing: the
      // session still works, and the answer does not clear its cookie.
      const out = await live.call('POST', '/api/auth/logout/', { cookie });
      assert.deepEqual([out.status, out.body, out.headers.get('set-cookie')], [403, denied, null]);
      const me = await live.call('GET', '/api/auth/user/', { cookie });
      assert.deepEqual([me.status, me.body.first_name, me.body.email], [200, '', u.email]);
      await accepted(basic(u.username, PASSWORD), u);
      // With the token the same write succeeds.
      const ok = await live.call('PATCH', '/api/auth/user/', { cookie, headers: { 'x-csrftoken': csrf }, json: { first_name: 'Real' } });
      assert.deepEqual([ok.status, ok.body.first_name], [200, 'Real']);
    });
  });
}
