// The AuthN user API (seed 002): /user_info/ field by field, /user/ list, create, get, put,
// patch and delete with the documented status codes, permissions, and bad input answered in
// {errors, message, status} (never a 500).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import { ManualClock, type User, OPERATOR } from '../../src/core/index.ts';
import { assertError, basic, restAuthLogin, v1Pair, v2Pair } from '../tenancy/support.ts';

const PW = 'authn-suite-pass-1';
const START = Date.UTC(2026, 2, 14, 9, 26, 53, 589);
const FIELDS = ['email', 'emm', 'first_name', 'full_name', 'has_emm', 'id', 'is_active', 'is_email_verified', 'is_staff', 'is_superuser', 'last_login', 'last_name', 'profile', 'token', 'username'];
const json = { 'content-type': 'application/json' };

/** A user as the AuthN API shows it: exactly the documented fields, with their types. */
function assertUser(u: any, expected: Record<string, unknown> = {}) {
  assert.deepEqual(Object.keys(u).sort(), FIELDS);
  assert.ok(Number.isInteger(u.id) && u.id > 0, `integer id: ${u.id}`);
  for (const f of ['username', 'email', 'first_name', 'last_name', 'full_name', 'token']) assert.equal(typeof u[f], 'string', f);
  for (const f of ['is_staff', 'is_superuser', 'is_active', 'has_emm', 'is_email_verified']) assert.equal(typeof u[f], 'boolean', f);
  for (const f of ['profile', 'emm']) assert.ok(u[f] !== null && typeof u[f] === 'object' && !Array.isArray(u[f]), `${f} is an object`);
  assert.ok(u.last_login === null || typeof u.last_login === 'string');
  assert.equal(u.has_emm, Object.keys(u.emm).length > 0);
  assert.ok(!JSON.stringify(u).includes('$argon2') && !('password' in u));
  for (const [k, v] of Object.entries(expected)) assert.deepEqual(u[k], v, k);
}

for (const { engine, skip } of engines) {
  describe(`AuthN user API [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    const clock = new ManualClock(START);
    let staff: { bearer: { authorization: string }; access: string };
    let staffUser: User;
    let ada: User;
    let adaAuth: { bearer: { authorization: string }; access: string; refresh: string };
    let n = 0;
    const uniq = (p = 'u') => `${p}${++n}`;

    before(async () => {
      t = await startApp(engine, { clock });
      staffUser = await t.createUser({ username: 'staff', password: PW, isStaff: true, email: 'staff@example.com' });
      ada = await t.createUser({ username: 'ada', password: PW, email: 'ada@example.com' });
      staff = await v1Pair(t, undefined, 'staff', PW);
      adaAuth = await v1Pair(t, undefined, 'ada', PW);
    });
    after(async () => { await t?.close(); });

    it('GET /user_info/ answers every documented field of the caller', async () => {
      const u = await t.core.users.create(OPERATOR, {
        username: 'grace', password: PW, email: 'Grace@Example.COM', firstName: 'Grace', lastName: 'Hopper', isStaff: true,
        profile: { title: 'Rear Admiral', langs: ['COBOL', 'FLOW-MATIC'], born: 1906 }, emm: { device: { os: 'ios', managed: true } },
      });
      assert.equal(u.lastLogin, null);
      clock.advance(61_000);
      const signedInAt = clock.now();
      const { access, bearer } = await v1Pair(t, undefined, 'grace', PW);
      clock.advance(5_000);
      const r = await t.request({ method: 'GET', url: '/user_info/', headers: bearer });
      assert.equal(r.statusCode, 200);
      assert.match(String(r.headers['content-type']), /^application\/json/);
      assertUser(r.json(), {
        id: u.pk, username: 'grace', email: 'Grace@example.com', first_name: 'Grace', last_name: 'Hopper', full_name: 'Grace Hopper',
        is_staff: true, is_superuser: false, is_active: true,
        profile: { title: 'Rear Admiral', langs: ['COBOL', 'FLOW-MATIC'], born: 1906 }, emm: { device: { os: 'ios', managed: true } },
        last_login: new Date(signedInAt).toISOString(), token: access, has_emm: true, is_email_verified: false,
      });
      // A plain user without names or emm; a verified address shows.
      await t.store.db.updateTable('users').set({ email_verified: 1 as any }).where('pk', '=', ada.pk).execute();
      const a = await t.request({ method: 'GET', url: '/user_info/', headers: adaAuth.bearer });
      assertUser(a.json(), { id: ada.pk, full_name: '', first_name: '', is_staff: false, is_superuser: false, profile: {}, emm: {}, has_emm: false, is_email_verified: true, token: adaAuth.access });
      await t.store.db.updateTable('users').set({ email_verified: 0 as any }).where('pk', '=', ada.pk).execute();
      // X-Tenant naming the caller's own tenant is fine.
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: { ...bearer, 'x-tenant': 'default' } })).statusCode, 200);
    });

    it('`token` is exactly the credential presented: this JWT, this token key, this session cookie; never another one', async () => {
      const name = uniq('tok');
      await t.createUser({ username: name, password: PW });
      const one = await v1Pair(t, undefined, name, PW);
      const two = await v2Pair(t, undefined, name, PW);
      const rest = await restAuthLogin(t, undefined, name, PW);
      const seen = new Set<string>();
      for (const [what, headers, expected] of [
        ['first JWT', one.bearer, one.access],
        ['second JWT', two.bearer, two.access_token],
        ['token key', rest.token, rest.key],
        ['session cookie', { cookie: `sessionid=${rest.sessionid}` }, rest.sessionid],
      ] as const) {
        const r = await t.request({ method: 'GET', url: '/user_info/', headers });
        assert.equal(r.statusCode, 200, what);
        assert.equal(r.json().token, expected, what);
        seen.add(r.json().token);
        const self = await t.request({ method: 'GET', url: `/user/${r.json().id}/`, headers });
        assert.equal(self.json().token, expected, `${what}: /user/{own id}/ too`);
      }
      assert.equal(seen.size, 4);
      for (const s of seen) assert.ok(![one.refresh, two.refresh_token].includes(s), 'never a refresh token');
      // Basic presents no token: empty, never one of the user's tokens.
      const b = await t.request({ method: 'GET', url: '/user_info/', headers: basic(name, PW) });
      assert.equal(b.statusCode, 200);
      assert.equal(b.json().token, '');
      // Someone else's record never carries a token.
      const other = await t.request({ method: 'GET', url: `/user/${ada.pk}/`, headers: staff.bearer });
      assert.equal(other.json().token, '');
      const list = await t.request({ method: 'GET', url: '/user/', headers: staff.bearer });
      for (const u of list.json().results) assert.equal(u.token, u.username === 'staff' ? staff.access : '', u.username);
    });

    it('refuses /user_info/ without a valid credential (401 in the AuthN shape)', async () => {
      for (const headers of [{}, { authorization: 'Bearer nope' }, { authorization: 'Token nope' }, { cookie: 'sessionid=nope.nope' }, basic('ada', 'wrong-password'), { authorization: 'Bearer ' }]) {
        const r = await t.request({ method: 'GET', url: '/user_info/', headers });
        assertError(r, 401, 'authn', JSON.stringify(headers));
      }
    });

    it('lists users with count/previous/next/results: staff see the tenant, 100 a page; others see themselves', async () => {
      // Enough users for three pages (no password: nothing to hash).
      const existing = (await t.request({ method: 'GET', url: '/user/', headers: staff.bearer })).json().count;
      for (let i = existing; i < 205; i++) await t.core.users.create(OPERATOR, { username: `bulk${String(i).padStart(3, '0')}`, password: null });
      const p1 = await t.request({ method: 'GET', url: '/user/', headers: staff.bearer });
      assert.equal(p1.statusCode, 200);
      const b1 = p1.json();
      assert.deepEqual(Object.keys(b1).sort(), ['count', 'next', 'previous', 'results']);
      assert.equal(b1.count, 205);
      assert.equal(b1.previous, null);
      assert.equal(b1.next, 'http://latchkey.test/user/?page=2');
      assert.equal(b1.results.length, 100);
      for (const u of b1.results) assertUser(u);
      const p2 = (await t.request({ method: 'GET', url: '/user/?page=2', headers: staff.bearer })).json();
      assert.equal(p2.previous, 'http://latchkey.test/user/');
      assert.equal(p2.next, 'http://latchkey.test/user/?page=3');
      const p3 = (await t.request({ method: 'GET', url: '/user/?page=3', headers: staff.bearer })).json();
      assert.equal(p3.next, null);
      assert.equal(p3.results.length, 5);
      const ids = [...b1.results, ...p2.results, ...p3.results].map((u: any) => u.id);
      assert.equal(new Set(ids).size, 205, 'each user once');
      const last = (await t.request({ method: 'GET', url: '/user/?page=last', headers: staff.bearer })).json();
      assert.deepEqual(last.results.map((u: any) => u.id), p3.results.map((u: any) => u.id));
      for (const page of ['4', '0', 'abc', '-1', '99999999999']) {
        assertError(await t.request({ method: 'GET', url: `/user/?page=${page}`, headers: staff.bearer }), 404, 'authn', `page ${page}`);
      }
      const mine = (await t.request({ method: 'GET', url: '/user/', headers: adaAuth.bearer })).json();
      assert.equal(mine.count, 1);
      assert.deepEqual(mine.results.map((u: any) => u.id), [ada.pk]);
      assertError(await t.request({ method: 'GET', url: '/user/' }), 401, 'authn', 'anonymous list');
      for (let i = existing; i < 205; i++) {
        const u = await t.store.read.users.findByUsername((await t.core.tenants.resolve(undefined)).pk, `bulk${String(i).padStart(3, '0')}`);
        if (u) await t.store.transaction((r) => r.users.delete(u.pk));
      }
    });

    it('creates a user (staff): profile required, 201 with the record; the password works; 403 for others, 401 anonymous', async () => {
      const name = uniq('new');
      const r = await t.request({
        method: 'POST', url: '/user/', headers: staff.bearer,
        payload: { username: name, password: PW, first_name: 'Alan', last_name: 'Turing', is_active: true, email: `${name}@example.com`, profile: { dept: 'Hut 8' }, emm: { mdm: 'on' } },
      });
      assert.equal(r.statusCode, 201, r.body);
      assertUser(r.json(), { username: name, first_name: 'Alan', last_name: 'Turing', full_name: 'Alan Turing', email: `${name}@example.com`, profile: { dept: 'Hut 8' }, emm: { mdm: 'on' }, has_emm: true, is_staff: false, is_superuser: false, is_active: true, last_login: null, token: '', is_email_verified: false });
      const pair = await v1Pair(t, undefined, name, PW);
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: pair.bearer })).json().id, r.json().id);

      const noPw = await t.request({ method: 'POST', url: '/user/', headers: staff.bearer, payload: { username: uniq('nopw'), profile: {} } });
      assert.equal(noPw.statusCode, 201, noPw.body);
      const inactive = await t.request({ method: 'POST', url: '/user/', headers: staff.bearer, payload: { username: uniq('off'), password: PW, is_active: false, profile: {} } });
      assert.equal(inactive.json().is_active, false);
      assert.equal((await t.request({ method: 'POST', url: '/api/token', payload: { username: inactive.json().username, password: PW } })).statusCode, 401);

      const missing = assertError(await t.request({ method: 'POST', url: '/user/', headers: staff.bearer, payload: { username: uniq() } }), 400, 'authn', 'no profile');
      assert.deepEqual(missing.errors.map((e: any) => e.field), ['profile']);
      const dup = assertError(await t.request({ method: 'POST', url: '/user/', headers: staff.bearer, payload: { username: 'ada', profile: {} } }), 400, 'authn', 'taken name');
      assert.deepEqual(dup.errors.map((e: any) => e.field), ['username']);
      assertError(await t.request({ method: 'POST', url: '/user/', headers: adaAuth.bearer, payload: { username: uniq(), profile: {} } }), 403, 'authn', 'plain user creates');
      assertError(await t.request({ method: 'POST', url: '/user/', payload: { username: uniq(), profile: {} } }), 401, 'authn', 'anonymous creates');
    });

    it('gets, puts, patches and deletes by integer id with the documented status codes', async () => {
      const name = uniq('target');
      const created = (await t.request({ method: 'POST', url: '/user/', headers: staff.bearer, payload: { username: name, password: PW, profile: { a: 1 } } })).json();
      const id = created.id;
      const got = await t.request({ method: 'GET', url: `/user/${id}/`, headers: staff.bearer });
      assert.equal(got.statusCode, 200);
      assert.deepEqual(got.json(), created);
      assert.equal((await t.request({ method: 'GET', url: `/user/${id}`, headers: staff.bearer })).statusCode, 200, 'without the trailing slash too');

      // PUT: username and profile required; replaces the profile.
      const putMissing = assertError(await t.request({ method: 'PUT', url: `/user/${id}/`, headers: staff.bearer, payload: { first_name: 'X' } }), 400, 'authn', 'put without required');
      assert.deepEqual(putMissing.errors.map((e: any) => e.field).sort(), ['profile', 'username']);
      const put = await t.request({ method: 'PUT', url: `/user/${id}/`, headers: staff.bearer, payload: { username: `${name}x`, profile: { b: 2 }, first_name: 'Kat', last_name: 'Johnson', email: 'kat@example.com' } });
      assert.equal(put.statusCode, 200, put.body);
      assertUser(put.json(), { id, username: `${name}x`, profile: { b: 2 }, full_name: 'Kat Johnson', email: 'kat@example.com', emm: {} });
      // PATCH: only what is sent.
      const patch = await t.request({ method: 'PATCH', url: `/user/${id}/`, headers: staff.bearer, payload: { emm: { enrolled: true } } });
      assert.equal(patch.statusCode, 200, patch.body);
      assertUser(patch.json(), { username: `${name}x`, profile: { b: 2 }, emm: { enrolled: true }, has_emm: true, full_name: 'Kat Johnson' });
      assert.equal((await t.request({ method: 'PATCH', url: `/user/${id}/`, headers: staff.bearer, payload: {} })).statusCode, 200, 'an empty patch');
      // A password set by staff works at once and ends the user's other sign-ins.
      const before = await v1Pair(t, undefined, `${name}x`, PW);
      const pw = await t.request({ method: 'PATCH', url: `/user/${id}/`, headers: staff.bearer, payload: { password: 'brand-new-pass-2' } });
      assert.equal(pw.statusCode, 200, pw.body);
      assertError(await t.request({ method: 'GET', url: '/user_info/', headers: before.bearer }), 401, 'authn', 'old sign-in after a password change');
      assert.equal((await t.request({ method: 'POST', url: '/api/token', payload: { username: `${name}x`, password: PW } })).statusCode, 401);
      await v1Pair(t, undefined, `${name}x`, 'brand-new-pass-2');
      // is_active false ends sign-ins and refuses new ones.
      const off = await t.request({ method: 'PATCH', url: `/user/${id}/`, headers: staff.bearer, payload: { is_active: false } });
      assert.equal(off.json().is_active, false);
      assert.equal((await t.request({ method: 'POST', url: '/api/token', payload: { username: `${name}x`, password: 'brand-new-pass-2' } })).statusCode, 401);

      const del = await t.request({ method: 'DELETE', url: `/user/${id}/`, headers: staff.bearer });
      assert.equal(del.statusCode, 204);
      assert.equal(del.body, '');
      for (const method of ['GET', 'PUT', 'PATCH', 'DELETE'] as const) {
        const payload = method === 'PUT' ? { username: 'x', profile: {} } : method === 'PATCH' ? {} : undefined;
        assertError(await t.request({ method, url: `/user/${id}/`, headers: staff.bearer, payload }), 404, 'authn', `${method} deleted`);
      }
    });

    it('permissions: a plain user sees and edits itself only (403 for others), cannot activate itself; staff cannot touch a superuser', async () => {
      const me = await t.request({ method: 'GET', url: `/user/${ada.pk}/`, headers: adaAuth.bearer });
      assert.equal(me.statusCode, 200);
      const own = await t.request({ method: 'PATCH', url: `/user/${ada.pk}/`, headers: adaAuth.bearer, payload: { first_name: 'Ada', last_name: 'Lovelace', profile: { math: true } } });
      assert.equal(own.statusCode, 200, own.body);
      assert.equal(own.json().full_name, 'Ada Lovelace');
      assert.equal(own.json().token, adaAuth.access);
      for (const [method, payload] of [['GET', undefined], ['PUT', { username: 'x', profile: {} }], ['PATCH', { first_name: 'x' }], ['DELETE', undefined]] as const) {
        assertError(await t.request({ method, url: `/user/${staffUser.pk}/`, headers: adaAuth.bearer, payload }), 403, 'authn', `${method} someone else`);
      }
      assertError(await t.request({ method: 'PATCH', url: `/user/${ada.pk}/`, headers: adaAuth.bearer, payload: { is_active: false } }), 403, 'authn', 'deactivate self');
      assertError(await t.request({ method: 'DELETE', url: `/user/${ada.pk}/`, headers: adaAuth.bearer }), 403, 'authn', 'delete self');
      for (const method of ['GET', 'PATCH', 'DELETE'] as const) {
        assertError(await t.request({ method, url: `/user/${ada.pk}/`, payload: method === 'PATCH' ? {} : undefined }), 401, 'authn', `${method} anonymous`);
      }
      const su = await t.createUser({ username: uniq('su'), password: PW, isStaff: true, isSuperuser: true });
      assertError(await t.request({ method: 'PATCH', url: `/user/${su.pk}/`, headers: staff.bearer, payload: { first_name: 'x' } }), 403, 'authn', 'staff edits a superuser');
      assertError(await t.request({ method: 'DELETE', url: `/user/${su.pk}/`, headers: staff.bearer }), 403, 'authn', 'staff deletes a superuser');
      // Cookie sessions need the CSRF token for writes.
      const rest = await restAuthLogin(t, undefined, 'ada', PW);
      assertError(await t.request({ method: 'PATCH', url: `/user/${ada.pk}/`, headers: { cookie: `sessionid=${rest.sessionid}` }, payload: { first_name: 'x' } }), 403, 'authn', 'no CSRF token');
      assert.equal((await t.request({ method: 'PATCH', url: `/user/${ada.pk}/`, headers: rest.session, payload: { first_name: 'Ada' } })).statusCode, 200);
    });

    it('ids that are not numbers or out of range are 404 in every method', async () => {
      for (const id of ['abc', '1.5', '-1', '0', '01', '1e3', '0x10', '99999999999', '9999999999', '2147483648', '%20', 'null']) {
        for (const method of ['GET', 'PUT', 'PATCH', 'DELETE'] as const) {
          const payload = method === 'PUT' ? { username: 'x', profile: {} } : method === 'PATCH' ? {} : undefined;
          assertError(await t.request({ method, url: `/user/${id}/`, headers: staff.bearer, payload }), 404, 'authn', `${method} /user/${id}/`);
        }
      }
      assertError(await t.request({ method: 'GET', url: '/user/2147483647/', headers: staff.bearer }), 404, 'authn', 'the largest id, unknown');
    });

    it('bad bodies are 400 by field, 413 or 415, in the AuthN shape, never a 500', async () => {
      const fieldsOf = (body: any) => body.errors.map((e: any) => e.field).sort();
      const deep = (depth: number): unknown => (depth === 0 ? 'x' : { d: deep(depth - 1) });
      const cases: Array<[string, unknown, string[]]> = [
        ['oversize profile', { username: uniq(), profile: { blob: 'x'.repeat(16 * 1024) } }, ['profile']],
        ['many-key profile', { username: uniq(), profile: Object.fromEntries(Array.from({ length: 2000 }, (_, i) => [`k${i}`, i])) }, ['profile']],
        ['emm six levels deep', { username: uniq(), profile: {}, emm: deep(6) }, ['emm']],
        ['profile six levels deep', { username: uniq(), profile: deep(6) }, ['profile']],
        ['emm nested in arrays', { username: uniq(), profile: {}, emm: { a: [[[[[[1]]]]]] } }, ['emm']],
        ['profile an array', { username: uniq(), profile: [1, 2] }, ['profile']],
        ['profile a string', { username: uniq(), profile: 'x' }, ['profile']],
        ['profile null', { username: uniq(), profile: null }, ['profile']],
        ['emm a number', { username: uniq(), profile: {}, emm: 5 }, ['emm']],
        ['username a number', { username: 5, profile: {} }, ['username']],
        ['is_active a string', { username: uniq(), profile: {}, is_active: 'yes' }, ['is_active']],
        ['unknown field', { username: uniq(), profile: {}, is_staff: true }, ['is_staff']],
        ['bad e-mail', { username: uniq(), profile: {}, email: 'not-an-address' }, ['email']],
        ['bad username', { username: 'has space', profile: {} }, ['username']],
        ['long username', { username: 'x'.repeat(151), profile: {} }, ['username']],
        ['short password', { username: uniq(), profile: {}, password: 'short' }, ['password']],
      ];
      for (const [what, payload, fields] of cases) {
        const r = await t.request({ method: 'POST', url: '/user/', headers: staff.bearer, payload: payload as any });
        const body = assertError(r, 400, 'authn', what);
        assert.deepEqual(fieldsOf(body), fields, `${what}: ${r.body.slice(0, 300)}`);
        for (const e of body.errors) assert.ok(e.message.length > 0);
      }
      // The limits hold for updates too, and a profile at the limit is fine.
      const patchBad = await t.request({ method: 'PATCH', url: `/user/${ada.pk}/`, headers: staff.bearer, payload: { emm: deep(6) } });
      assert.deepEqual(fieldsOf(assertError(patchBad, 400, 'authn', 'patch deep emm')), ['emm']);
      const fits = await t.request({ method: 'PATCH', url: `/user/${ada.pk}/`, headers: staff.bearer, payload: { profile: { blob: 'x'.repeat(16 * 1024 - 20) }, emm: deep(5) } });
      assert.equal(fits.statusCode, 200, fits.body.slice(0, 300));
      assert.equal(fits.json().profile.blob.length, 16 * 1024 - 20);
      // Very deep junk: refused, not a stack overflow.
      const abyss = '{"username":"abyss","profile":{},"emm":' + '['.repeat(50_000) + ']'.repeat(50_000) + '}';
      const r = await t.request({ method: 'POST', url: '/user/', headers: { ...staff.bearer, ...json }, payload: abyss });
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `deep junk: ${r.statusCode}`);
      assertError(r, r.statusCode, 'authn', 'deep junk');
      // Wrong content types, broken JSON, too large.
      for (const [type, body] of [['text/plain', 'username=x'], ['application/x-www-form-urlencoded', 'username=x&profile=y'], ['application/xml', '<u/>'], ['multipart/form-data; boundary=x', '--x--']]) {
        for (const [method, url] of [['POST', '/user/'], ['PUT', `/user/${ada.pk}/`], ['PATCH', `/user/${ada.pk}/`]] as const) {
          assertError(await t.request({ method, url, headers: { ...staff.bearer, 'content-type': type }, payload: body }), 415, 'authn', `${method} ${url} ${type}`);
        }
      }
      assertError(await t.request({ method: 'POST', url: '/user/', headers: { ...staff.bearer, ...json }, payload: '{"username": ' }), 400, 'authn', 'broken JSON');
      assertError(await t.request({ method: 'POST', url: '/user/', headers: { ...staff.bearer, ...json }, payload: '[]' }), 400, 'authn', 'a JSON array');
      assertError(await t.request({ method: 'POST', url: '/user/', headers: { ...staff.bearer, ...json }, payload: JSON.stringify({ username: 'big', profile: { x: 'y'.repeat(1_100_000) } }) }), 413, 'authn', 'over the body limit');
      // The user was not changed by any of it.
      const after = (await t.request({ method: 'GET', url: `/user/${ada.pk}/`, headers: staff.bearer })).json();
      assert.equal(after.username, 'ada');
    });
  });
}
