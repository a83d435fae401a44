// Threat: hostile input. Strings that look like SQL or script must be stored and returned as
// the data they are (never executed, never mangled); look-alike usernames (full-width letters,
// ligatures, superscripts, decomposed accents) must not register a second account that reads
// like an existing one, so usernames are NFKC-normalised; oversized, deeply nested, malformed,
// prototype-polluting and NUL-carrying bodies, headers and paths must each get a 4xx in the
// dialect's shape, never a 5xx and never a partial write.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import type { User } from '../../src/core/index.ts';
import { PASSWORD, startLive, v1Login, type Live, type Reply } from './support.ts';

const SQL = "'); DROP TABLE users; --";
const SCRIPT = '<script>alert(1)</script>';
const TAKEN = 'A user with that username already exists.';
const NUL = 'Null characters are not allowed.';
const TOO_LARGE = 'Request body is too large (the limit is 1 MiB).';

const nestedArray = (depth: number) => '['.repeat(depth) + ']'.repeat(depth);
const nestedObject = (depth: number) => '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);

function expect(r: Reply, status: number, body: unknown, what: string) {
  assert.equal(r.status, status, `${what}: ${r.text.slice(0, 300)}`);
  assert.deepEqual(r.body, body, what);
}

for (const { engine, skip } of engines) {
  describe(`hostile input [${engine.name}]`, { skip }, () => {
    let live: Live;
    let staff: User, admin: User;
    let t: string;
    const json = (method: string, path: string, raw: string) =>
      live.call(method, path, { raw, bearer: t, headers: { 'content-type': 'application/json' } });
    const userCount = async () => (await live.t.store.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n;

    before(async () => {
      live = await startLive(engine);
      staff = await live.t.createUser({ username: 'staff', password: PASSWORD, isStaff: true });
      admin = await live.t.createUser({ username: 'admin', password: PASSWORD });
      t = (await v1Login(live, 'staff')).access;
    });
    after(async () => { await live?.close(); });

    it('SQL- and script-looking strings round-trip unchanged through v1, AuthN and the store', async () => {
      const before = Number(await userCount());
      const created = await live.call('POST', '/api/users/', {
        bearer: t, json: { username: 'robert', password: PASSWORD, first_name: SQL, last_name: SCRIPT, email: "o'brien@example.com" },
      });
      assert.equal(created.status, 201, created.text);
      assert.equal(created.headers.get('content-type'), 'application/json; charset=utf-8');
      assert.deepEqual({ ...created.body, id: undefined }, { id: undefined, username: 'robert', tenant_id: 'default', email: "o'brien@example.com", first_name: SQL, last_name: SCRIPT });
      const read = await live.call('GET', `/api/users/${created.body.id}/`, { bearer: t });
      assert.equal(read.body.first_name, SQL);
      assert.equal(read.body.last_name, SCRIPT);
      const stored = (await live.t.store.read.users.findById(created.body.id))!;
      assert.equal(stored.firstName, SQL);
      assert.equal(stored.lastName, SCRIPT);
      const authn = await live.call('GET', `/user/${stored.pk}/`, { bearer: t });
      assert.equal(authn.body.full_name, `${SQL} ${SCRIPT}`);
      // JSON kept with the user, and a group name, likewise.
      const profile = { note: '<img src=x onerror=alert(1)>', sql: '1; DELETE FROM users WHERE 1=1', [SQL]: SCRIPT };
      const patched = await live.call('PATCH', `/user/${stored.pk}/`, { bearer: t, json: { profile, first_name: '" OR ""="' } });
      assert.equal(patched.status, 200, patched.text);
      assert.deepEqual(patched.body.profile, profile);
      assert.equal(patched.body.first_name, '" OR ""="');
      const group = await live.call('POST', '/api/groups/', { bearer: t, json: { name: SQL } });
      assert.equal(group.status, 201, group.text);
      assert.equal((await live.call('GET', `/api/groups/${group.body.id}/`, { bearer: t })).body.name, SQL);
      // The tables are all still there, and nothing else was touched.
      assert.equal(Number(await userCount()), before + 1);
      assert.equal((await v1Login(live, 'admin')).access.split('.').length, 3);
    });

    it('SQL in query strings, tenant headers and login names matches nothing', async () => {
      const audit = await live.call('GET', `/api/audit-events/?user_id=${encodeURIComponent("' OR '1'='1")}`, { bearer: t });
      expect(audit, 200, { count: 0, next: null, previous: null, resources: [] }, 'audit user_id');
      const type = await live.call('GET', `/api/audit-events/?type=${encodeURIComponent("x' OR 1=1 --")}`, { bearer: t });
      assert.equal(type.status, 400);
      assert.deepEqual(Object.keys(type.body), ['type']);
      const tenant = await live.call('POST', '/api/token', { json: { username: 'admin', password: PASSWORD }, headers: { 'x-tenant': "' OR 1=1 --" } });
      expect(tenant, 400, { detail: 'Unknown tenant "\' OR 1=1 --".' }, 'X-Tenant');
      const list = await live.call('GET', `/api/users/?tenant_id=${encodeURIComponent("default' OR '1'='1")}`, { bearer: t });
      expect(list, 404, { detail: 'Not found.' }, 'tenant_id');
      const badName = await live.call('POST', '/api/users/', { bearer: t, json: { username: "x' OR '1'='1", password: PASSWORD } });
      expect(badName, 400, { username: ['Enter a valid username. This value may contain only letters, numbers, and @/./+/-/_ characters.'] }, 'username');
    });

    describe('look-alike usernames are normalised (NFKC)', () => {
      it('a full-width "ａｄｍｉｎ" collides with "admin" in every dialect that creates or renames users', async () => {
        const fullWidth = 'ａｄｍｉｎ';
        assert.notEqual(fullWidth, 'admin');
        expect(await live.call('POST', '/api/users/', { bearer: t, json: { username: fullWidth, password: PASSWORD } }), 400, { username: [TAKEN] }, 'v1 create');
        expect(await live.call('POST', '/user/', { bearer: t, json: { username: fullWidth, profile: {} } }), 400,
          { errors: [{ field: 'username', message: TAKEN }], message: 'Validation failed.', status: 400 }, 'AuthN create');
        const other = await live.t.createUser({ username: 'other', password: PASSWORD });
        expect(await live.call('PATCH', `/user/${other.pk}/`, { bearer: t, json: { username: fullWidth } }), 400,
          { errors: [{ field: 'username', message: TAKEN }], message: 'Validation failed.', status: 400 }, 'AuthN rename');
        expect(await live.call('PUT', `/api/v2/users/${other.pk}`, { bearer: t, json: { username: fullWidth, enabled: true, is_admin: false } }), 422,
          { detail: [{ loc: ['body', 'username'], msg: TAKEN, type: 'value_error' }] }, 'v2 rename');
        assert.equal((await live.t.store.read.users.findByPk(other.pk))!.username, 'other');
        const reg = await live.call('POST', '/api/auth/registration/', { json: { username: fullWidth, password1: 'a-long-passphrase-9', password2: 'a-long-passphrase-9' } });
        expect(reg, 400, { username: [TAKEN] }, 'REST-auth registration');
        const rename = await live.call('PATCH', '/api/auth/user/', { headers: { authorization: `Token ${(await live.call('POST', '/api/auth/login/', { json: { username: 'other', password: PASSWORD } })).body.key}` }, json: { username: fullWidth } });
        expect(rename, 400, { username: [TAKEN] }, 'REST-auth rename');
      });

      it('ligatures, superscripts, decomposed accents and full-width digits fold to one spelling', async () => {
        for (const [plain, lookAlike] of [['finance', '\ufb01nance'], ['user2', 'user\u00b2'], ['jos\u00e9', 'jose\u0301'], ['agent007', 'agent\uff10\uff10\uff17'], ['\u03a9-team', '\u2126-team']]) {
          const first = await live.call('POST', '/api/users/', { bearer: t, json: { username: plain, password: PASSWORD } });
          assert.equal(first.status, 201, `${plain}: ${first.text}`);
          expect(await live.call('POST', '/api/users/', { bearer: t, json: { username: lookAlike, password: PASSWORD } }), 400, { username: [TAKEN] }, lookAlike);
        }
      });

      it('a look-alike name is stored in its normal form, and signs in as the one account', async () => {
        const r = await live.call('POST', '/api/users/', { bearer: t, json: { username: 'Ｃａｒｏｌ', password: PASSWORD } });
        assert.equal(r.status, 201, r.text);
        assert.equal(r.body.username, 'Carol');
        const viaPlain = await live.call('POST', '/api/token', { json: { username: 'Carol', password: PASSWORD } });
        const viaWide = await live.call('POST', '/api/token', { json: { username: 'Ｃａｒｏｌ', password: PASSWORD } });
        assert.equal(viaPlain.status, 200);
        assert.equal(viaWide.status, 200);
        const me = await live.call('GET', '/user_info/', { bearer: viaWide.body.access });
        assert.equal(me.body.username, 'Carol');
        assert.equal(me.body.id, (await live.call('GET', '/user_info/', { bearer: viaPlain.body.access })).body.id);
      });
    });

    describe('oversized and deeply nested input', () => {
      it('a 2 MiB body is 413 at every dialect, signed in or not', async () => {
        const big = JSON.stringify({ username: 'x'.repeat(2 * 1024 * 1024), password: 'y' });
        expect(await json('POST', '/api/token', big), 413, { detail: TOO_LARGE }, 'v1 login');
        expect(await json('POST', '/api/auth/login/', big), 413, { detail: TOO_LARGE }, 'REST-auth login');
        expect(await json('POST', '/api/auth/registration/', big), 413, { detail: TOO_LARGE }, 'REST-auth registration');
        expect(await json('POST', '/api/users/', big), 413, { detail: TOO_LARGE }, 'v1 create');
        expect(await json('PATCH', `/user/${admin.pk}/`, big), 413, { errors: [], message: TOO_LARGE, status: 413 }, 'AuthN');
        expect(await json('PUT', `/api/v2/users/${admin.pk}`, big), 413, { detail: TOO_LARGE }, 'v2 users');
        const form = await live.call('POST', '/token', { raw: `username=${'x'.repeat(2 * 1024 * 1024)}&password=y`, headers: { 'content-type': 'application/x-www-form-urlencoded' } });
        expect(form, 413, { error: 'invalid_request', error_description: TOO_LARGE, detail: TOO_LARGE }, 'v2 token');
        assert.equal(await live.t.store.read.users.findByUsername(staff.tenantPk, 'x'.repeat(150)), undefined);
      });

      it('over-long fields within the body limit are field errors', async () => {
        expect(await live.call('POST', '/api/users/', { bearer: t, json: { username: 'u'.repeat(151), password: PASSWORD } }), 400,
          { username: ['Ensure this field has no more than 150 characters.'] }, 'username');
        expect(await live.call('POST', '/api/users/', { bearer: t, json: { username: 'longpw', password: 'p'.repeat(4097) } }), 400,
          { password: ['Ensure this field has no more than 4096 characters.'] }, 'password');
        expect(await live.call('POST', '/api/token', { json: { username: 'admin', password: 'p'.repeat(8193) } }), 400,
          { password: ['Ensure this field has no more than 8192 characters.'] }, 'login password');
        const profile = Object.fromEntries(Array.from({ length: 3000 }, (_, i) => [`k${i}`, 'v'.repeat(10)]));
        expect(await live.call('PATCH', `/user/${admin.pk}/`, { bearer: t, json: { profile } }), 400,
          { errors: [{ field: 'profile', message: 'Must be at most 16384 bytes of JSON.' }], message: 'Validation failed.', status: 400 }, 'profile size');
      });

      it('10,000-level and 300,000-level nested JSON is a 400, never a stack overflow', async () => {
        for (const depth of [10_000, 300_000]) {
          expect(await json('POST', '/api/token', `{"username":${nestedArray(depth)},"password":"x"}`), 400, { username: ['Not a valid string.'] }, `v1 login ${depth}`);
          expect(await json('POST', '/api/users/', nestedArray(depth)), 400, { non_field_errors: ['Invalid data. Expected a dictionary (JSON object).'] }, `v1 root ${depth}`);
          for (const field of ['profile', 'emm']) {
            expect(await json('PATCH', `/user/${admin.pk}/`, `{"${field}":{"x":${nestedArray(depth)}}}`), 400,
              { errors: [{ field, message: 'Must be nested at most 5 levels deep.' }], message: 'Validation failed.', status: 400 }, `AuthN ${field} ${depth}`);
          }
          const v2 = await json('PUT', `/api/v2/users/${admin.pk}`, `{"username":"admin","enabled":true,"is_admin":false,"avatar":${nestedArray(depth)}}`);
          assert.equal(v2.status, 422, `v2 ${depth}`);
          assert.deepEqual(v2.body.detail.map((d: any) => d.loc), [['body', 'avatar'], ['body', 'avatar'], ['body', 'avatar']]);
        }
        const objects = await json('PATCH', `/user/${admin.pk}/`, `{"emm":${nestedObject(10_000)}}`);
        expect(objects, 400, { errors: [{ field: 'emm', message: 'Must be nested at most 5 levels deep.' }], message: 'Validation failed.', status: 400 }, 'AuthN nested objects');
        // Five levels are fine (the documented limit), six are not.
        const five = { a: { b: { c: { d: { e: 1 } } } } };
        assert.equal((await live.call('PATCH', `/user/${admin.pk}/`, { bearer: t, json: { profile: five } })).status, 200);
        const six = await live.call('PATCH', `/user/${admin.pk}/`, { bearer: t, json: { profile: { z: five } } });
        assert.equal(six.status, 400);
        assert.deepEqual((await live.call('GET', `/user/${admin.pk}/`, { bearer: t })).body.profile, five);
      });

      it('malformed JSON, numbers out of range and prototype-polluting keys are 400s', async () => {
        const bad = await json('POST', '/api/token', '{"username": "admin", "password": ');
        assert.equal(bad.status, 400);
        assert.match(bad.body.detail, /^JSON parse error - /);
        expect(await json('POST', '/api/token', '{"username": 1e999, "password": "x"}'), 400, { username: ['Not a valid string.'] }, 'Infinity');
        for (const raw of ['{"username":"pp","profile":{"__proto__":{"isStaff":true}}}', '{"username":"pp","profile":{"constructor":{"prototype":{"isStaff":true}}}}']) {
          const r = await json('POST', '/user/', raw);
          expect(r, 400, { errors: [], message: "JSON parse error - Body is not valid JSON but content-type is set to 'application/json'", status: 400 }, raw);
        }
        assert.equal(({} as any).isStaff, undefined, 'Object.prototype is untouched');
        assert.equal(await live.t.store.read.users.findByUsername(staff.tenantPk, 'pp'), undefined);
      });

      it('over-long tokens, headers and path parameters are 4xx', async () => {
        const long = await live.call('GET', '/user_info/', { bearer: 'a'.repeat(9000) });
        expect(long, 401, { errors: [], message: 'Given token not valid for any token type', status: 401 }, 'long bearer');
        const huge = await live.call('GET', '/user_info/', { bearer: 'a'.repeat(20_000) });
        assert.equal(huge.status, 431); // Node's own header limit
        const param = await live.call('GET', `/api/users/${'a'.repeat(300)}/`, { bearer: t });
        assert.equal(param.status, 414);
        assert.equal(param.body.code, 'FST_ERR_MAX_PARAM_LENGTH');
        expect(await live.call('GET', `/user/${'9'.repeat(30)}/`, { bearer: t }), 404, { errors: [], message: 'Not found.', status: 404 }, 'AuthN huge id');
        expect(await live.call('GET', `/api/v2/users/${'9'.repeat(30)}`, { bearer: t }), 404, { detail: 'User not found' }, 'v2 huge id');
      });
    });

    describe('NUL characters (PostgreSQL cannot store them; DRF refuses them)', () => {
      it('in bodies and query strings they are field errors in each dialect\'s shape, signed in or not', async () => {
        expect(await live.call('POST', '/api/token', { json: { username: 'ad\0min', password: PASSWORD } }), 400, { username: [NUL] }, 'v1 login');
        expect(await live.call('POST', '/api/token', { json: { username: 'admin', password: `${PASSWORD}\0` } }), 400, { password: [NUL] }, 'v1 login password');
        expect(await live.call('POST', '/api/auth/login/', { json: { email: 'ad\0min@example.com', password: PASSWORD } }), 400, { email: [NUL] }, 'REST-auth login');
        expect(await live.call('POST', '/api/auth/password/reset/', { json: { email: 'a\0@example.com' } }), 400, { email: [NUL] }, 'REST-auth reset');
        const form = await live.call('POST', '/token', { form: { grant_type: 'password', username: 'ad\0min', password: PASSWORD } });
        expect(form, 400, { error: 'invalid_request', error_description: 'Invalid input.', detail: 'Invalid input.' }, 'v2 token');
        expect(await live.call('POST', '/api/users/', { bearer: t, json: { username: 'nul', password: PASSWORD, first_name: 'a\0b' } }), 400, { first_name: [NUL] }, 'v1 create');
        expect(await live.call('PATCH', `/user/${admin.pk}/`, { bearer: t, json: { profile: { note: 'a\0b' } } }), 400,
          { errors: [{ field: 'profile', message: NUL }], message: 'Validation failed.', status: 400 }, 'AuthN profile');
        expect(await live.call('PUT', `/api/v2/users/${admin.pk}`, { bearer: t, json: { username: 'admin', enabled: true, is_admin: false, avatar: 'https://x.test/\0' } }), 422,
          { detail: [{ loc: ['body', 'avatar'], msg: NUL, type: 'value_error' }] }, 'v2 avatar');
        expect(await live.call('POST', '/api/groups/', { bearer: t, json: { name: 'g\0' } }), 400, { name: [NUL] }, 'group');
        expect(await live.call('POST', '/api/clients/', { bearer: t, json: { name: 'c\0' } }), 400, { name: [NUL] }, 'client');
        expect(await live.call('GET', '/api/audit-events/?user_id=a%00b', { bearer: t }), 400, { user_id: [NUL] }, 'audit query');
        expect(await live.call('GET', '/api/users/?tenant_id=a%00b', { bearer: t }), 400, { tenant_id: [NUL] }, 'users query');
        assert.equal(await live.t.store.read.users.findByUsername(staff.tenantPk, 'nul'), undefined);
      });

      it('a field named after an Object.prototype member is reported under its own name (found by the fuzzer: it was a 500)', async () => {
        for (const key of ['constructor', 'toString', '__proto__', 'hasOwnProperty']) {
          expect(await live.call('GET', `/api/users/?${key}=%00`, { bearer: t }), 400, JSON.parse(`{"${key}": ["${NUL}"]}`), `query ${key}`);
          if (key === '__proto__') continue; // a JSON body with it is refused by the parser (see above)
          expect(await live.call('POST', '/api/token', { json: { username: 'admin', password: PASSWORD, [key]: 1 } }), 400, JSON.parse(`{"${key}": ["Unknown field."]}`), `body ${key}`);
        }
        expect(await live.call('PATCH', `/user/${admin.pk}/`, { bearer: t, json: { constructor: 'x' } }), 400,
          { errors: [{ field: 'constructor', message: 'Unknown field.' }], message: 'Validation failed.', status: 400 }, 'AuthN');
      });

      it('in path parameters and session cookies they name nothing', async () => {
        expect(await live.call('GET', '/api/clients/a%00b/', { bearer: t }), 404, { detail: 'Not found.' }, 'client id');
        expect(await live.call('DELETE', '/api/sign-ins/jwt:a%00b/', { bearer: t }), 404, { detail: 'Not found.' }, 'sign-in id');
        const su = await live.t.createUser({ username: 'root', password: PASSWORD, isStaff: true, isSuperuser: true });
        expect(await live.call('GET', '/api/tenants/a%00b/', { bearer: (await v1Login(live, su.username)).access }), 404, { detail: 'Not found.' }, 'tenant name');
        expect(await live.call('GET', '/user_info/', { cookie: 'sessionid=a%00b.secret' }), 401,
          { errors: [], message: 'Session expired or invalid. Sign in again.', status: 401 }, 'cookie');
      });
    });
  });
}
