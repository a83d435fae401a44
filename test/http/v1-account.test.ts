// Signing in and out through the v1 API: the JWT pair, refresh rotation with reuse detection,
// logout, change-password, and the `sessionid` cookie with CSRF protection on unsafe methods.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startV1, assertDetail, assertFieldErrors, countRows, jwtPayload, PASSWORD, PUBLIC_URL, type V1App } from './v1-support.ts';

for (const { engine, skip } of engines) {
  describe(`v1 tokens [${engine.name}]`, { skip }, () => {
    let t: V1App;
    before(async () => { t = await startV1(engine); });
    after(async () => { await t?.close(); });

    const obtain = (username: string, password = PASSWORD) => t.request({ method: 'POST', url: '/api/token', payload: { username, password } });
    const refresh = (token: string) => t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: token } });
    const me = (access: string, id: string) => t.request({ method: 'GET', url: `/api/users/${id}/`, headers: { authorization: `Bearer ${access}` } });

    it('POST /api/token gives an access JWT with the documented claims and a refresh JWT (simplejwt\'s claims) of its sign-in', async () => {
      const u = await t.createUser({ username: 'claimant', password: PASSWORD });
      const r = await obtain('claimant');
      assert.equal(r.statusCode, 200);
      const { access, refresh: rt } = r.json();
      const claims = jwtPayload(access);
      assert.equal(claims.iss, PUBLIC_URL);
      assert.equal(claims.sub, u.id);
      assert.equal(claims.tenant, 'default');
      assert.equal(claims.token_type, 'access');
      assert.deepEqual(claims.groups, []);
      for (const c of ['jti', 'iat', 'exp']) assert.ok(claims[c] !== undefined, c);
      const header = JSON.parse(Buffer.from(access.split('.')[0], 'base64url').toString());
      assert.equal(header.typ, 'at+jwt');
      const jwks = (await t.request({ method: 'GET', url: '/.well-known/jwks.json' })).json();
      assert.ok(jwks.keys.some((k: any) => k.kid === header.kid), 'the kid is published');
      // A JWT as simplejwt's (front-ends read its `exp`), of type "refresh": it cannot be taken for an access token. It names its sign-in.
      const rc = jwtPayload(rt);
      assert.equal(rc.token_type, 'refresh');
      assert.equal(rc.user_id, u.id);
      assert.equal(rc.fam, jwtPayload(access).fam);
      assert.equal(rc.exp - rc.iat, 86_400);
      assert.equal(JSON.parse(Buffer.from(rt.split('.')[0], 'base64url').toString()).alg, 'HS256');
      assert.equal((await me(access, u.id)).statusCode, 200);
      // Form-encoded sign-in works too (DRF's FormParser).
      const form = await t.request({ method: 'POST', url: '/api/token', headers: { 'content-type': 'application/x-www-form-urlencoded' }, payload: `username=claimant&password=${PASSWORD}` });
      assert.equal(form.statusCode, 200, form.body);
    });

    it('wrong credentials: 401 with simplejwt\'s message, the same for unknown users and inactive ones', async () => {
      await t.createUser({ username: 'sleeper', password: PASSWORD, isActive: false });
      const message = 'No active account found with the given credentials';
      assertDetail(await obtain('joe', 'wrong-password'), 401, message);
      assertDetail(await obtain('no-such-user'), 401, message);
      assertDetail(await obtain('sleeper'), 401, message);
      assertFieldErrors(await t.request({ method: 'POST', url: '/api/token', payload: { username: 'joe' } }), ['password']);
      assertFieldErrors(await t.request({ method: 'POST', url: '/api/token', payload: {} }), ['password', 'username']);
    });

    it('refresh rotates; reusing a rotated token revokes the family (newest refresh and access fail)', async () => {
      const u = await t.createUser({ username: 'rotating', password: PASSWORD });
      const bystander = (await obtain('rotating')).json();
      const first = (await obtain('rotating')).json();
      const r2 = await refresh(first.refresh);
      assert.equal(r2.statusCode, 200);
      const second = r2.json();
      assert.deepEqual(Object.keys(second).sort(), ['access', 'refresh']);
      assert.notEqual(second.refresh, first.refresh);
      assert.equal((await me(second.access, u.id)).statusCode, 200);

      const reuse = await refresh(first.refresh);
      assertDetail(reuse, 401);
      assert.equal(reuse.json().code, 'token_not_valid');
      assertDetail(await refresh(second.refresh), 401);
      assertDetail(await me(second.access, u.id), 401);
      assertDetail(await me(first.access, u.id), 401);
      // Another sign-in of the same user is not touched.
      assert.equal((await me(bystander.access, u.id)).statusCode, 200);
      assert.equal((await refresh(bystander.refresh)).statusCode, 200);
    });

    it('refresh garbage and wrong types', async () => {
      for (const bad of ['garbage', '', 'x'.repeat(4096), t.joe.access]) {
        const r = await refresh(bad);
        assertDetail(r, 401);
        assert.equal(r.json().code, 'token_not_valid');
      }
      assertFieldErrors(await t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: 5 } }), ['refresh']);
      assertFieldErrors(await t.request({ method: 'POST', url: '/api/token/refresh', payload: {} }), ['refresh']);
      assertFieldErrors(await t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: 'x'.repeat(4097) } }), ['refresh']);
    });

    it('logout: 200 with no body; the access token and its refresh stop working', async () => {
      const u = await t.createUser({ username: 'leaving', password: PASSWORD });
      const other = (await obtain('leaving')).json();
      const pair = (await obtain('leaving')).json();
      const out = await t.request({ method: 'POST', url: '/api/token/logout', headers: { authorization: `Bearer ${pair.access}` } });
      assert.equal(out.statusCode, 200);
      assert.equal(out.body, '');
      assertDetail(await me(pair.access, u.id), 401);
      assertDetail(await refresh(pair.refresh), 401);
      assertDetail(await t.request({ method: 'POST', url: '/api/token/logout', headers: { authorization: `Bearer ${pair.access}` } }), 401);
      assert.equal((await me(other.access, u.id)).statusCode, 200, 'other sign-ins stay');
      // A refresh token in the body is revoked as well.
      const third = (await obtain('leaving')).json();
      const out2 = await t.request({ method: 'POST', url: '/api/token/logout', headers: { authorization: `Bearer ${other.access}` }, payload: { refresh: third.refresh } });
      assert.equal(out2.statusCode, 200);
      assertDetail(await refresh(third.refresh), 401);
      assertDetail(await me(third.access, u.id), 401);
    });

    it('disabling or deleting a user through the API ends its tokens', async () => {
      const gone = (await t.request({ method: 'POST', url: '/api/users/', headers: t.staff.headers, payload: { username: 'gone', password: PASSWORD } })).json();
      const pair = (await obtain('gone')).json();
      assert.equal((await t.request({ method: 'DELETE', url: `/api/users/${gone.id}/`, headers: t.staff.headers })).statusCode, 204);
      assertDetail(await me(pair.access, gone.id), 401);
      assertDetail(await refresh(pair.refresh), 401);
    });
  });

  describe(`v1 change-password [${engine.name}]`, { skip }, () => {
    let t: V1App;
    before(async () => { t = await startV1(engine); });
    after(async () => { await t?.close(); });

    const change = (headers: Record<string, string>, body: object) => t.request({ method: 'POST', url: '/api/auth/change-password', headers, payload: body });

    it('201; the old password no longer signs in, the new one does; the answer holds neither', async () => {
      const s = await t.signed('changer');
      const elsewhere = await t.login('changer', PASSWORD);
      const r = await change(s.headers, { current_password: PASSWORD, new_password: 'shiny-new-password' });
      assert.equal(r.statusCode, 201, r.body);
      assert.ok(!r.body.includes(PASSWORD) && !r.body.includes('shiny-new-password'), r.body);
      assertDetail(await t.request({ method: 'POST', url: '/api/token', payload: { username: 'changer', password: PASSWORD } }), 401);
      assert.equal((await t.request({ method: 'POST', url: '/api/token', payload: { username: 'changer', password: 'shiny-new-password' } })).statusCode, 200);
      // The caller's own sign-in stays; the others end.
      assert.equal((await t.request({ method: 'GET', url: `/api/users/${s.user.id}/`, headers: s.headers })).statusCode, 200);
      assert.equal((await t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: s.refresh } })).statusCode, 200);
      assertDetail(await t.request({ method: 'GET', url: `/api/users/${s.user.id}/`, headers: elsewhere.headers }), 401);
      assertDetail(await t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: elsewhere.refresh } }), 401);
    });

    it('a wrong current password is a 400 on current_password and changes nothing', async () => {
      const s = await t.signed('careful');
      const before = (await t.store.read.users.findById(s.user.id))!.passwordHash;
      const r = await change(s.headers, { current_password: 'not-my-password', new_password: 'shiny-new-password' });
      assertFieldErrors(r, ['current_password']);
      assert.ok(!r.body.includes('not-my-password') && !r.body.includes('shiny-new-password'));
      assert.equal((await t.store.read.users.findById(s.user.id))!.passwordHash, before);
      assert.equal((await t.request({ method: 'POST', url: '/api/token', payload: { username: 'careful', password: PASSWORD } })).statusCode, 200);
    });

    it('the password policy applies to new_password (400 on new_password, nothing changed)', async () => {
      const s = await t.signed('policy', { password: PASSWORD });
      const before = (await t.store.read.users.findById(s.user.id))!.passwordHash;
      for (const bad of ['short', 'policy', 'policy@example.com', 'x'.repeat(4097)]) {
        assertFieldErrors(await change(s.headers, { current_password: PASSWORD, new_password: bad }), ['new_password']);
      }
      // Both wrong: both reported at once.
      assertFieldErrors(await change(s.headers, { current_password: 'nope-nope', new_password: 'short' }), ['current_password', 'new_password']);
      assertFieldErrors(await change(s.headers, {}), ['current_password', 'new_password']);
      assertFieldErrors(await change(s.headers, { current_password: PASSWORD, new_password: 12345678 }), ['new_password']);
      assertFieldErrors(await change(s.headers, { current_password: PASSWORD, new_password: 'ok-password-9', old_password: 'x' }), ['old_password']);
      assert.equal((await t.store.read.users.findById(s.user.id))!.passwordHash, before);
    });
  });

  describe(`v1 session cookie [${engine.name}]`, { skip }, () => {
    let t: V1App;
    before(async () => { t = await startV1(engine); });
    after(async () => { await t?.close(); });

    const session = async (username: string) => {
      const user = await t.createUser({ username, password: PASSWORD });
      const s = await t.core.sessions.create(user);
      return { user, ...s, cookie: `sessionid=${s.cookie}` };
    };

    it('authenticates safe methods by the cookie alone', async () => {
      const s = await session('cookie-reader');
      const r = await t.request({ method: 'GET', url: `/api/users/${s.user.id}/`, headers: { cookie: s.cookie } });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().username, 'cookie-reader');
      const list = await t.request({ method: 'GET', url: '/api/users/', headers: { cookie: s.cookie } });
      assert.equal(list.json().count, 1);
    });

    it('unsafe methods need the session\'s CSRF token in X-CSRFToken (403 otherwise, nothing written)', async () => {
      const s = await session('cookie-writer');
      const url = `/api/users/${s.user.id}/`;
      const missing = await t.request({ method: 'PATCH', url, headers: { cookie: s.cookie }, payload: { first_name: 'Mallory' } });
      assertDetail(missing, 403, /CSRF/);
      const other = await session('someone-else');
      for (const token of ['wrong', other.csrfToken, '']) {
        assertDetail(await t.request({ method: 'PATCH', url, headers: { cookie: s.cookie, 'x-csrftoken': token }, payload: { first_name: 'Mallory' } }), 403, /CSRF/);
      }
      assert.equal((await t.store.read.users.findById(s.user.id))!.firstName, '');
      const ok = await t.request({ method: 'PATCH', url, headers: { cookie: s.cookie, 'x-csrftoken': s.csrfToken }, payload: { first_name: 'Carol' } });
      assert.equal(ok.statusCode, 200, ok.body);
      assert.equal(ok.json().first_name, 'Carol');
      // Change-password by cookie follows the same rule.
      assertDetail(await t.request({ method: 'POST', url: '/api/auth/change-password', headers: { cookie: s.cookie }, payload: { current_password: PASSWORD, new_password: 'another-password' } }), 403);
      const changed = await t.request({ method: 'POST', url: '/api/auth/change-password', headers: { cookie: s.cookie, 'x-csrftoken': s.csrfToken }, payload: { current_password: PASSWORD, new_password: 'another-password' } });
      assert.equal(changed.statusCode, 201, changed.body);
      assert.equal((await t.request({ method: 'GET', url, headers: { cookie: s.cookie } })).statusCode, 200, 'the session used to change the password stays');
    });

    it('a bad, unknown or ended session cookie is 401', async () => {
      const s = await session('cookie-bad');
      const [id] = s.cookie.slice('sessionid='.length).split('.');
      for (const cookie of [`sessionid=${id}.wrong`, 'sessionid=unknown.secret', 'sessionid=garbage', `sessionid=${id}`]) {
        assertDetail(await t.request({ method: 'GET', url: `/api/users/${s.user.id}/`, headers: { cookie } }), 401);
      }
    });

    it('an Authorization header decides alone, even beside a valid cookie', async () => {
      const s = await session('cookie-and-header');
      assertDetail(await t.request({ method: 'GET', url: `/api/users/${s.user.id}/`, headers: { cookie: s.cookie, authorization: 'Bearer garbage' } }), 401);
    });

    it('logout with a session ends it and clears the cookie', async () => {
      const s = await session('cookie-leaver');
      const sessions = await countRows(t, 'sessions');
      assertDetail(await t.request({ method: 'POST', url: '/api/token/logout', headers: { cookie: s.cookie } }), 403, /CSRF/);
      const out = await t.request({ method: 'POST', url: '/api/token/logout', headers: { cookie: s.cookie, 'x-csrftoken': s.csrfToken } });
      assert.equal(out.statusCode, 200, out.body);
      const setCookie = String(out.headers['set-cookie']);
      assert.match(setCookie, /sessionid=;/);
      assert.match(setCookie, /Expires=Thu, 01 Jan 1970/i);
      assert.equal(await countRows(t, 'sessions'), sessions - 1);
      assertDetail(await t.request({ method: 'GET', url: `/api/users/${s.user.id}/`, headers: { cookie: s.cookie } }), 401);
    });

    it('a session past its lifetime is 401', async () => {
      await t.request({ method: 'POST', url: '/api/configuration/', headers: t.staff.headers, payload: { key: 'session_lifetime', value: '60' } });
      const user = await t.createUser({ username: 'cookie-old', password: PASSWORD });
      const s = await t.core.sessions.create(user);
      // Make it old in the database: the server's clock is the real one here.
      await t.store.db.updateTable('sessions').set({ expires_at: Date.now() - 1 }).where('id', '=', s.id).execute();
      assertDetail(await t.request({ method: 'GET', url: `/api/users/${user.id}/`, headers: { cookie: `sessionid=${s.cookie}` } }), 401);
    });
  });
}
