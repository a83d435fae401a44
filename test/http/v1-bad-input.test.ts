// Bad input to the v1 API. Each case must get a clear 4xx in Django REST framework's shape
// (`{"detail": ...}` or `{"field": ["message"]}`), never a 500, and must write nothing: the
// database is checked after every refused request.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import { SignJWT, exportSPKI, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import { engines } from '../helpers/engines.ts';
import { ManualClock } from '../../src/core/index.ts';
import { startV1, assertDetail, assertFieldErrors, countRows, PASSWORD, PUBLIC_URL, type V1App } from './v1-support.ts';

const MiB = 1024 * 1024;
const b64 = (v: unknown) => Buffer.from(typeof v === 'string' ? v : JSON.stringify(v)).toString('base64url');

for (const { engine, skip } of engines) {
  describe(`v1 bad request bodies [${engine.name}]`, { skip }, () => {
    let t: V1App;
    before(async () => { t = await startV1(engine); });
    after(async () => { await t?.close(); });

    const raw = (method: string, url: string, body: string | Buffer, contentType = 'application/json', auth = true) =>
      t.request({ method: method as InjectOptions['method'], url, payload: body, headers: { ...(auth ? t.staff.headers : {}), 'content-type': contentType } });
    const post = (payload: unknown) => t.request({ method: 'POST', url: '/api/users/', headers: t.staff.headers, payload: payload as any });

    /** Runs a refused request and checks that no table it could touch changed. */
    async function refusedWithoutWrites(run: () => Promise<LightMyRequestResponse>): Promise<LightMyRequestResponse> {
      const tables = ['users', 'groups', 'group_members', 'settings', 'token_families'] as const;
      const before = await Promise.all(tables.map((x) => countRows(t, x)));
      const r = await run();
      assert.ok(r.statusCode >= 400 && r.statusCode < 500, `a 4xx, got ${r.statusCode}: ${r.body.slice(0, 300)}`);
      assert.deepEqual(await Promise.all(tables.map((x) => countRows(t, x))), before, `nothing written by a ${r.statusCode}`);
      return r;
    }

    it('malformed JSON: 400 {"detail": "JSON parse error - ..."} on every body-taking endpoint', async () => {
      for (const [method, url, auth] of [
        ['POST', '/api/users/', true], ['PATCH', `/api/users/${t.joe.user.id}/`, true], ['POST', '/api/groups/', true],
        ['POST', '/api/configuration/', true], ['POST', '/api/token', false], ['POST', '/api/token/refresh', false],
        ['POST', '/api/auth/change-password', true],
      ] as const) {
        for (const body of ['{"username":', '{username: "x"}', "{'a': 1}", '{"a": 1,}', 'nul', '\u0000']) {
          const r = await refusedWithoutWrites(() => raw(method, url, body, 'application/json', auth));
          assertDetail(r, 400, /^JSON parse error - /);
        }
      }
    });

    it('JSON that is not an object (array, string, number, null): 400 on non_field_errors', async () => {
      for (const body of ['[]', '[{"username":"x","password":"long-enough-1"}]', '"a string"', '42', 'null', 'true']) {
        assertFieldErrors(await refusedWithoutWrites(() => raw('POST', '/api/users/', body)), ['non_field_errors']);
        assertFieldErrors(await refusedWithoutWrites(() => raw('POST', '/api/token', body, 'application/json', false)), ['non_field_errors']);
        assertFieldErrors(await refusedWithoutWrites(() => raw('PATCH', `/api/users/${t.joe.user.id}/`, body)), ['non_field_errors']);
      }
    });

    it('wrong types: 400 naming each wrong field', async () => {
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 5, password: PASSWORD })), ['username']);
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'typed', password: 12345678 })), ['password']);
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: ['a'], password: { p: 1 }, email: true })), ['email', 'password', 'username']);
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: null, password: PASSWORD })), ['username']);
      assertFieldErrors(await refusedWithoutWrites(() => t.request({ method: 'POST', url: '/api/token', payload: { username: 5, password: 5 } })), ['password', 'username']);
      assertFieldErrors(await refusedWithoutWrites(() => t.request({ method: 'POST', url: '/api/groups/', headers: t.staff.headers, payload: { name: 7 } })), ['name']);
      const r = await refusedWithoutWrites(() => t.request({ method: 'PATCH', url: `/api/users/${t.joe.user.id}/`, headers: t.staff.headers, payload: { first_name: 1 } }));
      assert.deepEqual(assertFieldErrors(r, ['first_name']), { first_name: ['Not a valid string.'] });
    });

    it('missing fields: 400 "This field is required." for each; an empty body is an empty object', async () => {
      const r = assertFieldErrors(await refusedWithoutWrites(() => post({})), ['password', 'username']);
      assert.deepEqual(r, { username: ['This field is required.'], password: ['This field is required.'] });
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'nopass' })), ['password']);
      assertFieldErrors(await refusedWithoutWrites(() => t.request({ method: 'POST', url: '/api/users/', headers: t.staff.headers })), ['password', 'username']);
      assertFieldErrors(await refusedWithoutWrites(() => t.request({ method: 'POST', url: '/api/groups/', headers: t.staff.headers, payload: {} })), ['name']);
      // A JSON content type with an empty body cannot be parsed.
      assertDetail(await refusedWithoutWrites(() => raw('POST', '/api/users/', '')), 400);
    });

    it('unknown fields: 400 on the field, and the rest of the body is not applied', async () => {
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'sneaky', password: PASSWORD, is_superuser: true })), ['is_superuser']);
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'sneaky', password: PASSWORD, is_staff: true, groups: ['admins'] })), ['groups', 'is_staff']);
      const r = await refusedWithoutWrites(() => t.request({ method: 'PATCH', url: `/api/users/${t.joe.user.id}/`, headers: t.staff.headers, payload: { first_name: 'Applied?', password: 'set-it-here' } }));
      assertFieldErrors(r, ['password']);
      const joe = (await t.store.read.users.findById(t.joe.user.id))!;
      assert.equal(joe.firstName, '');
      assert.equal(joe.isSuperuser, false);
      assert.equal((await t.request({ method: 'POST', url: '/api/token', payload: { username: 'joe', password: PASSWORD } })).statusCode, 200, 'the password is unchanged');
      assertFieldErrors(await refusedWithoutWrites(() => t.request({ method: 'POST', url: '/api/token', payload: { username: 'joe', password: PASSWORD, tenant: 'x' } })), ['tenant']);
    });

    it('over-long strings: 400 on the field (username 151, names 151, email 255, group name 151)', async () => {
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'u'.repeat(151), password: PASSWORD })), ['username']);
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'names', password: PASSWORD, first_name: 'f'.repeat(151), last_name: 'l'.repeat(151) })), ['first_name', 'last_name']);
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'mail', password: PASSWORD, email: `${'e'.repeat(250)}@x.org` })), ['email']);
      assertFieldErrors(await refusedWithoutWrites(() => t.request({ method: 'POST', url: '/api/groups/', headers: t.staff.headers, payload: { name: 'g'.repeat(151) } })), ['name']);
      assertFieldErrors(await refusedWithoutWrites(() => t.request({ method: 'POST', url: '/api/configuration/', headers: t.staff.headers, payload: { key: 'k'.repeat(101), value: '1' } })), ['key']);
      // 150 characters is the limit, not over it (counted in characters, not bytes).
      assert.equal((await post({ username: 'u'.repeat(150), password: PASSWORD })).statusCode, 201);
      assert.equal((await post({ username: 'é'.repeat(150), password: PASSWORD })).statusCode, 201);
    });

    it('usernames with characters outside letters, digits and @.+-_ are refused', async () => {
      for (const username of ['with space', 'semi;colon', 'slash/', 'quote"', 'angle<b>', 'percent%', 'emoji😀', 'tab\t', '']) {
        const r = assertFieldErrors(await refusedWithoutWrites(() => post({ username, password: PASSWORD })), ['username']);
        assert.ok(r.username![0]!.length > 0);
      }
      for (const username of ['ok.name', 'a+b', 'a-b_c', 'me@home', 'Ünïcödé', '数字']) {
        assert.equal((await post({ username, password: PASSWORD })).statusCode, 201, username);
      }
    });

    it('invalid e-mail addresses are refused on create and update, and the update is not applied', async () => {
      for (const email of ['nope', 'a@', '@b.org', 'a b@c.org', 'a@b', 'a@@b.org']) {
        assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'mailer', password: PASSWORD, email })), ['email']);
      }
      const r = await refusedWithoutWrites(() => t.request({ method: 'PATCH', url: `/api/users/${t.joe.user.id}/`, headers: t.staff.headers, payload: { first_name: 'Half', email: 'broken' } }));
      assertFieldErrors(r, ['email']);
      const joe = (await t.store.read.users.findById(t.joe.user.id))!;
      assert.equal(joe.firstName, '', 'no partial update');
      assert.equal(joe.email, 'joe@example.com');
    });

    it('a username taken in the tenant is a 400 on username (also with another Unicode spelling)', async () => {
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'joe', password: PASSWORD })), ['username']);
      // Full-width letters fold (NFKC) to the same name.
      assertFieldErrors(await refusedWithoutWrites(() => post({ username: 'ｊｏｅ', password: PASSWORD })), ['username']);
    });

    it('read-only fields: a changed id or username is a 400 and nothing is applied', async () => {
      const url = `/api/users/${t.joe.user.id}/`;
      assertFieldErrors(await refusedWithoutWrites(() => t.request({ method: 'PATCH', url, headers: t.staff.headers, payload: { username: 'renamed', first_name: 'X' } })), ['username']);
      assertFieldErrors(await refusedWithoutWrites(() => t.request({ method: 'PUT', url, headers: t.staff.headers, payload: { id: crypto.randomUUID(), first_name: 'X' } })), ['id']);
      const joe = (await t.store.read.users.findById(t.joe.user.id))!;
      assert.equal(joe.username, 'joe');
      assert.equal(joe.firstName, '');
    });

    it('invalid UUIDs and unknown ids in paths are 404 {"detail": "Not found."}', async () => {
      const group = (await t.request({ method: 'POST', url: '/api/groups/', headers: t.staff.headers, payload: { name: 'paths' } })).json().id;
      const bad = ['not-a-uuid', '123', '1', crypto.randomUUID(), `${t.joe.user.id}x`, t.joe.user.id.slice(0, -1), encodeURIComponent("' OR 1=1 --"), '%00', `${t.joe.user.id}%00`, 'null', '-1'];
      for (const id of bad) {
        for (const [method, url] of [
          ['GET', `/api/users/${id}/`], ['PATCH', `/api/users/${id}/`], ['PUT', `/api/users/${id}/`], ['DELETE', `/api/users/${id}/`],
          ['GET', `/api/groups/${id}/`], ['PATCH', `/api/groups/${id}/`], ['DELETE', `/api/groups/${id}/`],
          ['GET', `/api/groups/${id}/members/`], ['POST', `/api/groups/${id}/members/`],
          ['DELETE', `/api/groups/${group}/members/${id}/`],
        ] as const) {
          const payload = method === 'POST' ? { id: t.joe.user.id } : method === 'GET' || method === 'DELETE' ? undefined
            : url.startsWith('/api/users/') ? { first_name: 'x' } : { name: 'x' };
          const r = await refusedWithoutWrites(() => t.request({ method, url, headers: t.staff.headers, payload }));
          assert.equal(r.statusCode, 404, `${method} ${url}: ${r.statusCode} ${r.body}`);
          assert.deepEqual(r.json(), { detail: 'Not found.' }, `${method} ${url}`);
        }
      }
      // Paths no route takes are 404 in the same shape, whatever they hold (a NUL in one was a 500).
      for (const method of ['GET', 'POST', 'PUT', 'PATCH', 'DELETE'] as const) {
        for (const url of ['/api/users/%00/x', `/api/groups/${group}/members/%00/x`, '/api/groups/%00/members/', '/api/nowhere/%00', '/api/nowhere/x?page=%00']) {
          const r = await refusedWithoutWrites(() => t.request({ method, url, headers: t.staff.headers, payload: method === 'GET' || method === 'DELETE' ? undefined : {} }));
          assert.equal(r.statusCode, 404, `${method} ${url}: ${r.statusCode} ${r.body}`);
          assert.deepEqual(r.json(), { detail: 'Not found.' }, `${method} ${url}`);
        }
      }
      // The upper-case spelling of a real id names the same user.
      assert.equal((await t.request({ method: 'GET', url: `/api/users/${t.joe.user.id.toUpperCase()}/`, headers: t.staff.headers })).statusCode, 200);
      // A path parameter longer than the router takes is still a 4xx, not a 500.
      const long = await t.request({ method: 'GET', url: `/api/users/${'a'.repeat(300)}/`, headers: t.staff.headers });
      assert.ok(long.statusCode >= 400 && long.statusCode < 500, `${long.statusCode}`);
    });

    it('bodies over 1 MiB: 413, signed in or not, JSON or form', async () => {
      const big = JSON.stringify({ username: 'big', password: 'p'.repeat(MiB) });
      assertDetail(await refusedWithoutWrites(() => raw('POST', '/api/users/', big)), 413);
      assertDetail(await refusedWithoutWrites(() => raw('POST', '/api/token', big, 'application/json', false)), 413);
      assertDetail(await refusedWithoutWrites(() => raw('POST', '/api/token', `username=big&password=${'p'.repeat(MiB)}`, 'application/x-www-form-urlencoded', false)), 413);
      assertDetail(await refusedWithoutWrites(() => raw('PATCH', `/api/users/${t.joe.user.id}/`, JSON.stringify({ first_name: 'f'.repeat(MiB + 1) }))), 413);
      // Just under the limit is read, and then refused by the field limits.
      const under = JSON.stringify({ username: 'big', password: 'p'.repeat(MiB - 100) });
      assertFieldErrors(await refusedWithoutWrites(() => raw('POST', '/api/users/', under)), ['password']);
    });

    it('content types other than JSON and forms: 415 {"detail": "Unsupported media type ..."}', async () => {
      for (const type of ['text/plain', 'application/xml', 'text/html', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
        const r = await refusedWithoutWrites(() => raw('POST', '/api/users/', JSON.stringify({ username: 'typed', password: PASSWORD }), type));
        assertDetail(r, 415, /^Unsupported media type/);
        assertDetail(await refusedWithoutWrites(() => raw('POST', '/api/token', JSON.stringify({ username: 'joe', password: PASSWORD }), type, false)), 415);
      }
      // A charset parameter on JSON is fine.
      assert.equal((await raw('POST', '/api/token', JSON.stringify({ username: 'joe', password: PASSWORD }), 'application/json; charset=utf-8', false)).statusCode, 200);
    });

    it('prototype-polluting keys are refused, and Object.prototype stays clean', async () => {
      for (const body of ['{"username":"pp","password":"long-enough-1","__proto__":{"isSuperuser":true}}', '{"username":"pp","password":"long-enough-1","constructor":{"prototype":{"isStaff":true}}}']) {
        const r = await refusedWithoutWrites(() => raw('POST', '/api/users/', body));
        assert.equal(r.statusCode, 400);
      }
      assert.equal(({} as any).isSuperuser, undefined);
      assert.equal(({} as any).isStaff, undefined);
    });
  });

  describe(`v1 bad credentials [${engine.name}]`, { skip }, () => {
    let t: V1App;
    const clock = new ManualClock(Date.now());
    let current: { kid: string; key: CryptoKey; publicJwk: JWK };
    before(async () => {
      t = await startV1(engine, { clock });
      const row = (await t.store.read.signingKeys.all()).find((k) => k.state === 'current')!;
      current = { kid: row.kid, key: (await importJWK(JSON.parse(row.private_jwk), 'ES256')) as CryptoKey, publicJwk: JSON.parse(row.public_jwk) };
    });
    after(async () => { await t?.close(); });

    const me = (authorization: string) => t.request({ method: 'GET', url: `/api/users/${t.joe.user.id}/`, headers: { authorization } });
    const refusedJwt = async (token: string, what: string) => {
      const r = await me(`Bearer ${token}`);
      assert.equal(r.statusCode, 401, `${what}: ${r.statusCode} ${r.body}`);
      assertDetail(r, 401);
      assert.equal(r.json().code, 'token_not_valid', what);
    };
    /** The claims the server itself would put in joe's token, now. */
    const claimsOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString());
    const sign = (payload: Record<string, unknown>, key: CryptoKey, header: Record<string, unknown> = {}) =>
      new SignJWT(payload).setProtectedHeader({ alg: 'ES256', kid: current.kid, typ: 'at+jwt', ...header }).sign(key);

    it('control: a token this test signs with the server\'s own key and claims is accepted', async () => {
      // Proves the forging below is right, so each refusal is for the reason it names.
      const token = await sign(claimsOf(t.joe.access), current.key);
      assert.equal((await me(`Bearer ${token}`)).statusCode, 200);
    });

    it('a tampered payload (another user, a later expiry, extra groups) is refused', async () => {
      const [h, , s] = t.joe.access.split('.');
      const claims = claimsOf(t.joe.access);
      for (const [what, change] of [
        ['sub of a superuser', { sub: t.root.user.id, user_id: t.root.user.id, username: 'root' }],
        ['a later exp', { exp: claims.exp + 86_400 }],
        ['extra groups', { groups: ['admins'] }],
      ] as const) {
        await refusedJwt(`${h}.${b64({ ...claims, ...change })}.${s}`, what);
      }
      // A changed header (kid) breaks the signature too.
      await refusedJwt(`${b64({ alg: 'ES256', kid: crypto.randomUUID(), typ: 'at+jwt' })}.${t.joe.access.split('.')[1]}.${s}`, 'a changed header');
      // A flipped bit in the signature.
      const sig = Buffer.from(s!, 'base64url');
      sig[5]! ^= 1;
      await refusedJwt(`${h}.${t.joe.access.split('.')[1]}.${sig.toString('base64url')}`, 'a flipped signature bit');
    });

    it('alg "none" (any spelling), with or without a trailing dot, is refused', async () => {
      const payload = b64(claimsOf(t.joe.access));
      for (const alg of ['none', 'None', 'NONE', 'nOnE']) {
        const header = b64({ alg, typ: 'at+jwt', kid: current.kid });
        await refusedJwt(`${header}.${payload}.`, `alg ${alg}`);
        await refusedJwt(`${header}.${payload}`, `alg ${alg} without a signature part`);
      }
    });

    it('a token signed with another key under a valid-looking kid is refused', async () => {
      const other = await generateKeyPair('ES256');
      await refusedJwt(await sign(claimsOf(t.joe.access), other.privateKey as CryptoKey), 'another ES256 key, the current kid');
      const next = (await t.store.read.signingKeys.all()).find((k) => k.state === 'next')!;
      await refusedJwt(await sign(claimsOf(t.joe.access), other.privateKey as CryptoKey, { kid: next.kid }), 'another key, the next kid');
      // A key carried in the header itself (jwk / jku) is not trusted.
      const jwk = { ...(await crypto.subtle.exportKey('jwk', other.publicKey as CryptoKey)) };
      await refusedJwt(await sign(claimsOf(t.joe.access), other.privateKey as CryptoKey, { jwk, kid: undefined }), 'an embedded jwk');
      await refusedJwt(await sign(claimsOf(t.joe.access), other.privateKey as CryptoKey, { jku: 'https://attacker.example/jwks.json' }), 'a jku');
    });

    it('HS256 signed with the server\'s public key (algorithm confusion) is refused', async () => {
      const spki = await exportSPKI((await importJWK(current.publicJwk, 'ES256')) as CryptoKey);
      const payload = b64(claimsOf(t.joe.access));
      for (const [what, secret] of [
        ['the public JWK as JSON', JSON.stringify(current.publicJwk)],
        ['the public key as PEM', spki],
        ['the JWK x coordinate', String(current.publicJwk.x)],
      ] as const) {
        for (const alg of ['HS256', 'HS512']) {
          const header = b64({ alg, typ: 'at+jwt', kid: current.kid });
          const mac = crypto.createHmac(alg === 'HS256' ? 'sha256' : 'sha512', secret).update(`${header}.${payload}`).digest('base64url');
          await refusedJwt(`${header}.${payload}.${mac}`, `${alg} with ${what}`);
        }
      }
    });

    it('right key, wrong claims: another type, issuer, tenant or missing claims are refused', async () => {
      const good = claimsOf(t.joe.access);
      const { fam: _fam, ...noFamily } = good;
      const { exp: _exp, ...noExp } = good;
      for (const [what, payload, header] of [
        ['token_type refresh', { ...good, token_type: 'refresh' }, {}],
        ['header typ JWT', good, { typ: 'JWT' }],
        ['no header typ', good, { typ: undefined }],
        ['another issuer', { ...good, iss: 'https://evil.example' }, {}],
        ['another tenant', { ...good, tenant: 'other' }, {}],
        ['no family', noFamily, {}],
        ['no exp', noExp, {}],
        ['an unknown family', { ...good, fam: crypto.randomUUID() }, {}],
        ['an unknown user', { ...good, sub: crypto.randomUUID() }, {}],
        ['issued in the future', { ...good, iat: good.iat + 3600, exp: good.exp + 3600 }, {}],
      ] as const) {
        await refusedJwt(await sign(payload as Record<string, unknown>, current.key, header), what);
      }
    });

    it('garbage in Authorization is 401 in DRF\'s shape', async () => {
      for (const authorization of [
        'garbage', 'Bearer', 'Bearer ', 'Bearer  ' + t.joe.access, `Bearer ${t.joe.access} extra`, 'Bearer a.b.c', 'Bearer ...',
        `Bearer ${'a'.repeat(9000)}`, 'Basic dXNlcjpwYXNz', 'Token abcdef', 'JWT ' + t.joe.access, `Bearer ${t.joe.refresh}`,
        `Bearer ${t.joe.access.split('.').slice(0, 2).join('.')}`, 'Bearer e30.e30.e30', 'Bearer \u00e9\u00e9',
      ]) {
        const r = await me(authorization);
        assertDetail(r, 401);
      }
      // The real token, for contrast.
      assert.equal((await me(`Bearer ${t.joe.access}`)).statusCode, 200);
    });

    it('an expired access token is refused; a token issued after is accepted', async () => {
      const fresh = await t.login('joe', PASSWORD);
      assert.equal((await me(fresh.headers.authorization)).statusCode, 200);
      clock.advance(301_000);
      await refusedJwt(fresh.access, 'expired');
      // A token forged with an exp in the past, with the server's key, too.
      const claims = claimsOf(fresh.access);
      await refusedJwt(await sign({ ...claims, iat: claims.iat - 600, exp: claims.iat - 300 }, current.key), 'signed but expired');
      const again = await t.login('joe', PASSWORD);
      assert.equal((await me(again.headers.authorization)).statusCode, 200);
      assert.equal(JSON.parse(Buffer.from(again.access.split('.')[1]!, 'base64url').toString()).iss, PUBLIC_URL);
    });
  });
}
