// The OAuth2 password-grant API (seed 003) as FastAPI shapes it: POST /token (form-encoded,
// RFC 6749 answers and errors), /api/v2/users/me, /api/v2/users/{uid} and its password, with
// FastAPI's 422 validation errors.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { ManualClock, type User } from '../../src/core/index.ts';
import { assertError, claims, FORM, form, ISO, v1Pair, v2Pair, v2Token } from '../tenancy/support.ts';

const PW = 'v2-suite-pass-phrase';
const START = Date.UTC(2026, 4, 2, 10, 0, 0, 250);
const USER_FIELDS = ['avatar', 'created_at', 'enabled', 'id', 'is_admin', 'updated_at', 'username'];
const NOT_ENOUGH = { detail: 'Not enough permissions' };
const json = { 'content-type': 'application/json' };

function assertV2User(u: any, expected: Record<string, unknown> = {}) {
  assert.deepEqual(Object.keys(u).sort(), USER_FIELDS);
  assert.ok(Number.isInteger(u.id) && u.id > 0);
  assert.equal(typeof u.username, 'string');
  assert.equal(typeof u.enabled, 'boolean');
  assert.equal(typeof u.is_admin, 'boolean');
  assert.ok(u.avatar === null || typeof u.avatar === 'string');
  assert.match(u.created_at, ISO);
  assert.match(u.updated_at, ISO);
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(u[k], v, k);
}

for (const { engine, skip } of engines) {
  describe(`OAuth2 v2 API [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    const clock = new ManualClock(START);
    let admin: User;
    let adminAuth: { authorization: string };
    let n = 0;
    const uniq = (p = 'v') => `${p}${++n}`;
    /** A fresh plain user and its v2 sign-in. */
    const person = async (extra: { isStaff?: boolean } = {}) => {
      const username = uniq();
      const user = await t.createUser({ username, password: PW, ...extra });
      return { user, username, ...(await v2Pair(t, undefined, username, PW)) };
    };

    before(async () => {
      t = await startApp(engine, { clock });
      admin = await t.createUser({ username: 'admin', password: PW, isStaff: true });
      adminAuth = (await v2Pair(t, undefined, 'admin', PW)).bearer;
    });
    after(async () => { await t?.close(); });

    it('POST /token answers access_token, token_type "bearer", expires_in, refresh_token, with no-store', async () => {
      await t.createUser({ username: 'tess', password: PW });
      for (const fields of [{ grant_type: 'password', username: 'tess', password: PW }, { username: 'tess', password: PW }]) {
        const r = await v2Token(t, fields);
        assert.equal(r.statusCode, 200, r.body);
        assert.match(String(r.headers['content-type']), /^application\/json/);
        assert.equal(r.headers['cache-control'], 'no-store');
        assert.equal(r.headers.pragma, 'no-cache');
        const body = r.json();
        assert.deepEqual(Object.keys(body).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
        assert.equal(body.token_type, 'bearer');
        const c = claims(body.access_token);
        assert.equal(body.expires_in, c.exp - c.iat);
        assert.equal(c.iat, Math.floor(clock.now() / 1000));
        assert.equal(typeof body.refresh_token, 'string');
        assert.ok(body.refresh_token.length >= 40);
        const me = await t.request({ method: 'GET', url: '/api/v2/users/me', headers: { authorization: `Bearer ${body.access_token}` } });
        assert.equal(me.json().username, 'tess');
      }
      // Scope, when asked, comes back as asked; the charset parameter and a non-ASCII password are fine.
      const r = await v2Token(t, { username: 'tess', password: PW, scope: 'profile email' });
      assert.equal(r.json().scope, 'profile email');
      await t.createUser({ username: 'zoë', password: 'pässwörd-ünïcode-1' });
      const u = await t.request({ method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded; charset=utf-8' }, payload: form({ username: 'zoë', password: 'pässwörd-ünïcode-1' }) });
      assert.equal(u.statusCode, 200, u.body);
    });

    it('refuses a bad password or unknown user alike (400 invalid_grant with detail), and a disabled user', async () => {
      await t.createUser({ username: 'walt', password: PW });
      const bad = await v2Token(t, { username: 'walt', password: 'wrong-password' });
      const body = assertError(bad, 400, 'oauth', 'bad password');
      assert.deepEqual(body, { error: 'invalid_grant', error_description: 'Incorrect username or password', detail: 'Incorrect username or password' });
      const unknown = await v2Token(t, { username: 'nobody-here', password: 'wrong-password' });
      assert.deepEqual(assertError(unknown, 400, 'oauth', 'unknown user'), body);
      await t.createUser({ username: 'idle', password: PW, isActive: false });
      assert.deepEqual(assertError(await v2Token(t, { username: 'idle', password: PW }), 400, 'oauth', 'inactive user'), body);
      assert.deepEqual(assertError(await v2Token(t, { username: 'walt', password: '' }), 400, 'oauth', 'empty password'), body);
    });

    it('missing fields are FastAPI 422s; JSON or no body is 400 invalid_request; unknown grant types 400 unsupported_grant_type', async () => {
      let r = await v2Token(t, { password: PW });
      assert.deepEqual(assertError(r, 422, 'oauth', 'no username'), { detail: [{ loc: ['body', 'username'], msg: 'Field required', type: 'missing' }] });
      r = await v2Token(t, { grant_type: 'password' });
      assert.deepEqual(r.json().detail.map((d: any) => d.loc), [['body', 'username'], ['body', 'password']]);
      r = await v2Token(t, { username: 'x', password: PW, client_id: 'c'.repeat(201) });
      assert.deepEqual(assertError(r, 422, 'oauth', 'long client_id').detail[0].loc, ['body', 'client_id']);

      for (const [what, headers, payload] of [
        ['JSON', json, JSON.stringify({ username: 'tess', password: PW })],
        ['text', { 'content-type': 'text/plain' }, `username=tess&password=${PW}`],
        ['multipart', { 'content-type': 'multipart/form-data; boundary=xyz' }, '--xyz--'],
        ['no body', {}, undefined],
      ] as const) {
        const res = await t.request({ method: 'POST', url: '/token', headers, payload });
        assert.ok([400, 415].includes(res.statusCode), `${what}: ${res.statusCode} ${res.body}`);
        const e = assertError(res, res.statusCode, 'oauth', what);
        assert.equal(e.error, 'invalid_request', what);
      }
      for (const grant of ['client_credentials', 'authorization_code', 'implicit', 'urn:ietf:params:oauth:grant-type:jwt-bearer', 'PASSWORD', '']) {
        const res = await v2Token(t, { grant_type: grant, username: 'tess', password: PW });
        if (grant === '') {
          // An empty grant_type is no grant_type: FastAPI's form default applies... or it is refused; never a 500.
          assert.ok(res.statusCode < 500, res.body);
          continue;
        }
        const e = assertError(res, 400, 'oauth', `grant ${grant}`);
        assert.equal(e.error, 'unsupported_grant_type', grant);
      }
      r = await v2Token(t, { grant_type: 'refresh_token' });
      assert.equal(assertError(r, 400, 'oauth', 'refresh without a token').error, 'invalid_request');
      r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: 'not-a-real-token' });
      assert.equal(assertError(r, 400, 'oauth', 'refresh with junk').error, 'invalid_grant');
    });

    it('the refresh_token grant rotates: a new pair each time; the old refresh token, used again, ends the whole family', async () => {
      const p = await person();
      clock.advance(10_000);
      const r1 = await v2Token(t, { grant_type: 'refresh_token', refresh_token: p.refresh_token });
      assert.equal(r1.statusCode, 200, r1.body);
      const b1 = r1.json();
      assert.deepEqual(Object.keys(b1).sort(), ['access_token', 'expires_in', 'refresh_token', 'token_type']);
      assert.equal(b1.token_type, 'bearer');
      assert.notEqual(b1.refresh_token, p.refresh_token);
      assert.notEqual(b1.access_token, p.access_token);
      assert.equal(claims(b1.access_token).sub, claims(p.access_token).sub);
      assert.equal(r1.headers['cache-control'], 'no-store');
      const r2 = await v2Token(t, { grant_type: 'refresh_token', refresh_token: b1.refresh_token });
      assert.equal(r2.statusCode, 200);
      const b2 = r2.json();
      // Reuse of a spent token: refused, and the family (every token of this sign-in) ends.
      const reuse = await v2Token(t, { grant_type: 'refresh_token', refresh_token: p.refresh_token });
      assert.equal(assertError(reuse, 400, 'oauth', 'reuse').error, 'invalid_grant');
      assert.equal((await v2Token(t, { grant_type: 'refresh_token', refresh_token: b2.refresh_token })).json().error, 'invalid_grant');
      assertError(await t.request({ method: 'GET', url: '/api/v2/users/me', headers: { authorization: `Bearer ${b2.access_token}` } }), 401, 'v2', 'access token of a revoked family');
    });

    it('GET /api/v2/users/me: the documented fields, ISO 8601 times; 401 without or with a bad token', async () => {
      const p = await person();
      const r = await t.request({ method: 'GET', url: '/api/v2/users/me', headers: p.bearer });
      assert.equal(r.statusCode, 200);
      assertV2User(r.json(), { id: p.user.pk, username: p.username, enabled: true, is_admin: false, avatar: null, created_at: new Date(p.user.createdAt).toISOString(), updated_at: new Date(p.user.updatedAt).toISOString() });
      assert.equal(Date.parse(r.json().created_at), p.user.createdAt);
      let e = await t.request({ method: 'GET', url: '/api/v2/users/me' });
      assert.deepEqual(assertError(e, 401, 'v2', 'anonymous'), { detail: 'Not authenticated' });
      assert.equal(e.headers['www-authenticate'], 'Bearer');
      e = await t.request({ method: 'GET', url: '/api/v2/users/me', headers: { authorization: 'Bearer abc.def.ghi' } });
      assert.deepEqual(assertError(e, 401, 'v2', 'bad token'), { detail: 'Could not validate credentials' });
      const me = await t.request({ method: 'GET', url: '/api/v2/users/me', headers: adminAuth });
      assertV2User(me.json(), { id: admin.pk, is_admin: true });
    });

    it('GET /api/v2/users/{uid}: oneself or an admin; others 403 "Not enough permissions"; 422 for a non-number, 404 for an unknown id', async () => {
      const a = await person();
      const b = await person();
      assertV2User((await t.request({ method: 'GET', url: `/api/v2/users/${a.user.pk}`, headers: a.bearer })).json(), { id: a.user.pk, username: a.username });
      assertV2User((await t.request({ method: 'GET', url: `/api/v2/users/${a.user.pk}`, headers: adminAuth })).json(), { id: a.user.pk });
      const denied = await t.request({ method: 'GET', url: `/api/v2/users/${b.user.pk}`, headers: a.bearer });
      assert.deepEqual(assertError(denied, 403, 'v2', 'other user'), NOT_ENOUGH);
      assert.deepEqual(assertError(await t.request({ method: 'GET', url: `/api/v2/users/${admin.pk}`, headers: a.bearer }), 403, 'v2', 'the admin'), NOT_ENOUGH);
      for (const uid of ['abc', '1.5', '1e3', 'me2', '%20', 'true']) {
        for (const [method, url, payload] of [['GET', `/api/v2/users/${uid}`, undefined], ['PUT', `/api/v2/users/${uid}`, { username: 'x', enabled: true, is_admin: false }], ['PUT', `/api/v2/users/${uid}/password`, { password: 'whatever-pass-1' }]] as const) {
          const r = await t.request({ method, url, headers: adminAuth, payload });
          const body = assertError(r, 422, 'v2', `${method} ${url}`);
          assert.deepEqual(body.detail[0].loc, ['path', 'uid']);
          assert.equal(body.detail[0].type, 'int_parsing');
        }
      }
      for (const uid of ['999999', '0', '-5', '2147483648', '99999999999999999999']) {
        for (const [method, url, payload] of [['GET', `/api/v2/users/${uid}`, undefined], ['PUT', `/api/v2/users/${uid}`, { username: 'x', enabled: true, is_admin: false }], ['PUT', `/api/v2/users/${uid}/password`, { password: 'whatever-pass-1' }]] as const) {
          const r = await t.request({ method, url, headers: adminAuth, payload });
          assert.deepEqual(assertError(r, 404, 'v2', `${method} ${url}`), { detail: 'User not found' });
        }
      }
    });

    it('PUT /api/v2/users/{uid}: username, enabled, is_admin, avatar; a non-admin cannot change enabled or is_admin (403)', async () => {
      const p = await person();
      const url = `/api/v2/users/${p.user.pk}`;
      clock.advance(60_000);
      let r = await t.request({ method: 'PUT', url, headers: p.bearer, payload: { username: `${p.username}-r`, enabled: true, is_admin: false, avatar: 'https://img.example/a.png' } });
      assert.equal(r.statusCode, 200, r.body);
      assertV2User(r.json(), { username: `${p.username}-r`, avatar: 'https://img.example/a.png', enabled: true, is_admin: false, updated_at: new Date(clock.now()).toISOString(), created_at: new Date(p.user.createdAt).toISOString() });
      assert.notEqual(r.json().updated_at, r.json().created_at);
      // The avatar stays when not sent, and null clears it.
      r = await t.request({ method: 'PUT', url, headers: p.bearer, payload: { username: `${p.username}-r`, enabled: true, is_admin: false } });
      assert.equal(r.json().avatar, 'https://img.example/a.png');
      r = await t.request({ method: 'PUT', url, headers: p.bearer, payload: { username: `${p.username}-r`, enabled: true, is_admin: false, avatar: null } });
      assert.equal(r.json().avatar, null);
      for (const payload of [{ username: `${p.username}-r`, enabled: true, is_admin: true }, { username: `${p.username}-r`, enabled: false, is_admin: false }]) {
        assert.deepEqual(assertError(await t.request({ method: 'PUT', url, headers: p.bearer, payload }), 403, 'v2', JSON.stringify(payload)), NOT_ENOUGH);
      }
      const other = await person();
      assert.deepEqual(assertError(await t.request({ method: 'PUT', url: `/api/v2/users/${other.user.pk}`, headers: p.bearer, payload: { username: 'x', enabled: true, is_admin: false } }), 403, 'v2', 'another user'), NOT_ENOUGH);
      const still = await t.request({ method: 'GET', url: '/api/v2/users/me', headers: p.bearer });
      assertV2User(still.json(), { is_admin: false, enabled: true });

      // An admin makes the user an admin (staff), then disables it: its sign-ins end and it cannot sign in.
      r = await t.request({ method: 'PUT', url, headers: adminAuth, payload: { username: `${p.username}-r`, enabled: true, is_admin: true } });
      assert.equal(r.json().is_admin, true);
      assert.equal((await t.store.read.users.findByPk(p.user.pk))?.isStaff, true);
      r = await t.request({ method: 'PUT', url, headers: adminAuth, payload: { username: `${p.username}-r`, enabled: false, is_admin: true } });
      assert.equal(r.json().enabled, false);
      assertError(await t.request({ method: 'GET', url: '/api/v2/users/me', headers: p.bearer }), 401, 'v2', 'disabled user\'s token');
      assert.equal((await v2Token(t, { username: `${p.username}-r`, password: PW })).json().error, 'invalid_grant');
      const taken = await t.request({ method: 'PUT', url, headers: adminAuth, payload: { username: 'admin', enabled: true, is_admin: true } });
      assert.deepEqual(assertError(taken, 422, 'v2', 'taken name').detail[0].loc, ['body', 'username']);
    });

    it('PUT validation: missing, extra and mistyped fields, bad avatars and form bodies are 422 in FastAPI\'s shape', async () => {
      const p = await person();
      const url = `/api/v2/users/${p.user.pk}`;
      const base = { username: p.username, enabled: true, is_admin: false };
      const cases: Array<[string, unknown, string[], string]> = [
        ['missing enabled', { username: p.username, is_admin: false }, ['body', 'enabled'], 'missing'],
        ['missing all', {}, ['body', 'username'], 'missing'],
        ['extra field', { ...base, role: 'root' }, ['body', 'role'], 'extra_forbidden'],
        ['enabled a string', { ...base, enabled: 'yes' }, ['body', 'enabled'], 'bool_type'],
        ['username a number', { ...base, username: 5 }, ['body', 'username'], 'string_type'],
        ['long username', { ...base, username: 'x'.repeat(151) }, ['body', 'username'], 'string_too_long'],
        ['avatar not a URL', { ...base, avatar: 'not a url' }, ['body', 'avatar'], 'value_error'],
        ['avatar javascript:', { ...base, avatar: 'javascript:alert(1)' }, ['body', 'avatar'], 'value_error'],
        ['avatar too long', { ...base, avatar: 'https://x.example/' + 'a'.repeat(2100) }, ['body', 'avatar'], 'string_too_long'],
        ['bad username', { ...base, username: 'has space' }, ['body', 'username'], 'value_error'],
      ];
      for (const [what, payload, loc, type] of cases) {
        const r = await t.request({ method: 'PUT', url, headers: p.bearer, payload: payload as any });
        const body = assertError(r, 422, 'v2', what);
        assert.ok(body.detail.some((d: any) => JSON.stringify(d.loc) === JSON.stringify(loc) && d.type === type), `${what}: ${r.body}`);
      }
      let r = await t.request({ method: 'PUT', url, headers: { ...p.bearer, ...FORM }, payload: form({ username: p.username, enabled: 'true', is_admin: 'false' }) });
      assert.deepEqual(assertError(r, 422, 'v2', 'form body').detail[0].loc, ['body']);
      r = await t.request({ method: 'PUT', url: `${url}/password`, headers: { ...p.bearer, ...FORM }, payload: form({ password: 'another-pass-phrase' }) });
      assertError(r, 422, 'v2', 'form body to password');
      r = await t.request({ method: 'PUT', url, headers: { ...p.bearer, ...json }, payload: '{"username": ' });
      assert.ok(r.statusCode === 400 || r.statusCode === 422, r.body);
      assert.ok(r.json().detail);
      r = await t.request({ method: 'PUT', url, headers: { ...p.bearer, 'content-type': 'application/xml' }, payload: '<x/>' });
      assert.ok([415, 422].includes(r.statusCode), `${r.statusCode} ${r.body}`);
      assert.ok(r.json().detail);
      assert.equal((await t.request({ method: 'GET', url: '/api/v2/users/me', headers: p.bearer })).json().username, p.username, 'unchanged');
    });

    it('PUT /api/v2/users/{uid}/password: the new password works, the old fails, the user\'s other tokens are revoked', async () => {
      const p = await person();
      const second = await v2Pair(t, undefined, p.username, PW);
      const v1 = await v1Pair(t, undefined, p.username, PW);
      const url = `/api/v2/users/${p.user.pk}/password`;
      const weak = await t.request({ method: 'PUT', url, headers: p.bearer, payload: { password: 'short' } });
      assert.deepEqual(assertError(weak, 422, 'v2', 'weak').detail[0].loc, ['body', 'password']);
      assert.deepEqual(assertError(await t.request({ method: 'PUT', url, headers: p.bearer, payload: {} }), 422, 'v2', 'no password').detail, [{ loc: ['body', 'password'], msg: 'Field required', type: 'missing' }]);
      const other = await person();
      assert.deepEqual(assertError(await t.request({ method: 'PUT', url, headers: other.bearer, payload: { password: 'taken-over-pass-1' } }), 403, 'v2', 'someone else'), NOT_ENOUGH);

      const r = await t.request({ method: 'PUT', url, headers: p.bearer, payload: { password: 'fresh-pass-phrase-2' } });
      assert.equal(r.statusCode, 200, r.body);
      assertV2User(r.json(), { id: p.user.pk, username: p.username });
      assert.ok(!r.body.includes('fresh-pass-phrase-2'));
      assert.equal((await v2Token(t, { username: p.username, password: PW })).json().error, 'invalid_grant');
      assert.equal((await v2Token(t, { username: p.username, password: 'fresh-pass-phrase-2' })).statusCode, 200);
      // The caller's own sign-in stays; every other one ends (access and refresh).
      assert.equal((await t.request({ method: 'GET', url: '/api/v2/users/me', headers: p.bearer })).statusCode, 200);
      assertError(await t.request({ method: 'GET', url: '/api/v2/users/me', headers: second.bearer }), 401, 'v2', 'second token');
      assertError(await t.request({ method: 'GET', url: '/api/v2/users/me', headers: v1.bearer }), 401, 'v2', 'v1 token');
      assert.equal((await v2Token(t, { grant_type: 'refresh_token', refresh_token: second.refresh_token })).json().error, 'invalid_grant');

      // Set by an admin: every sign-in of the user ends.
      const a = await t.request({ method: 'PUT', url, headers: adminAuth, payload: { password: 'admin-set-pass-3' } });
      assert.equal(a.statusCode, 200);
      assertError(await t.request({ method: 'GET', url: '/api/v2/users/me', headers: p.bearer }), 401, 'v2', 'own token after an admin reset');
      assert.equal((await v2Token(t, { username: p.username, password: 'admin-set-pass-3' })).statusCode, 200);
    });
  });
}
