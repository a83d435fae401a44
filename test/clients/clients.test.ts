// Registered client applications: the admin endpoint and the CLI, the secret (shown once, kept
// as SHA-256), X-Client-Id and the tenant setting that requires it, client authentication at
// POST /token (Basic, form fields, public clients), grant types, scopes, and refresh tokens
// bound to their client.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { engines, type Engine } from '../helpers/engines.ts';
import { fastHasher, startApp, PUBLIC_URL, type TestApp, outboxMailerForTests } from '../helpers/app.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { openStore } from '../../src/store/index.ts';
import { createCore, OPERATOR } from '../../src/core/index.ts';
import { buildServer } from '../../src/http/server.ts';
import { assertError, basic, claims, dialectOf, inTenant, restAuthLogin, v1Pair, v2Pair, v2Token } from '../tenancy/support.ts';

const PW = 'client-suite-pass-1';
const sha256 = (s: string) => crypto.createHash('sha256').update(s).digest('hex');
const SECRET_RE = /^[A-Za-z0-9_-]{43}$/;

/** Runs `latchkey <args>` as a user would, over the given database. */
function cli(databaseUrl: string, dataDir: string, ...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile('node_modules/.bin/node', ['src/cli/main.ts', ...args], {
      env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: databaseUrl, DATA_DIR: dataDir, LOG_LEVEL: 'silent' },
      timeout: 60_000,
    }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

for (const { engine, skip } of engines) {
  describe(`registered clients [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let staff: { bearer: { authorization: string } };
    let plain: { bearer: { authorization: string } };
    let n = 0;
    const uniq = (p: string) => `${p}${++n}`;

    /** Registers a client through the admin endpoint; answers the 201 body. */
    async function register(body: Record<string, unknown>, headers = staff.bearer) {
      const r = await t.request({ method: 'POST', url: '/api/clients/', headers, payload: { name: 'App', ...body } });
      assert.equal(r.statusCode, 201, r.body);
      noteSecret(r.json().client_secret);
      return r.json() as { client_id: string; client_secret: string | null; name: string; confidential: boolean; grant_types: string[]; scopes: string[]; redirect_uris: string[] };
    }

    before(async () => {
      t = await startApp(engine);
      await t.createUser({ username: 'staff', password: PW, isStaff: true });
      await t.createUser({ username: 'joe', password: PW });
      staff = await v1Pair(t, undefined, 'staff', PW);
      plain = await v1Pair(t, undefined, 'joe', PW);
    });
    after(async () => { await t?.close(); });

    it('staff register a client: 201 with a 256-bit secret shown once; the database keeps only its SHA-256', async () => {
      const r = await t.request({
        method: 'POST', url: '/api/clients/', headers: staff.bearer,
        payload: { name: 'Web shop', grant_types: ['password', 'refresh_token'], redirect_uris: ['https://shop.example/cb'], scopes: ['read', 'write'] },
      });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.headers['cache-control'], 'no-store');
      const c = r.json();
      assert.deepEqual(Object.keys(c).sort(), ['client_id', 'client_secret', 'confidential', 'created_at', 'first_party', 'grant_types', 'name', 'redirect_uris', 'scopes', 'updated_at']);
      assert.match(c.client_secret, SECRET_RE);
      assert.equal(Buffer.from(c.client_secret, 'base64url').length, 32, '256 bits');
      assert.equal(c.confidential, true);
      assert.equal(c.first_party, false, 'third party unless said otherwise');
      assert.equal(c.name, 'Web shop');
      assert.deepEqual(c.grant_types, ['password', 'refresh_token']);
      assert.deepEqual(c.redirect_uris, ['https://shop.example/cb']);
      assert.deepEqual(c.scopes, ['read', 'write']);
      assert.match(c.client_id, /^[A-Za-z0-9._~-]{1,100}$/);

      const rows = await t.store.db.selectFrom('clients').selectAll().where('client_id', '=', c.client_id).execute();
      assert.equal(rows.length, 1);
      assert.match(String(rows[0]!.secret_hash), /^[0-9a-f]{64}$/);
      assert.equal(rows[0]!.secret_hash, sha256(c.client_secret));
      assert.ok(!JSON.stringify(rows[0]).includes(c.client_secret), 'the secret itself is stored nowhere');

      // Never again: neither read nor list nor update shows it.
      const one = await t.request({ method: 'GET', url: `/api/clients/${c.client_id}/`, headers: staff.bearer });
      assert.equal(one.statusCode, 200);
      assert.equal(one.json().client_secret, undefined);
      assert.ok(!one.body.includes(c.client_secret));
      const list = await t.request({ method: 'GET', url: '/api/clients/', headers: staff.bearer });
      assert.equal(list.statusCode, 200);
      assert.ok(list.json().resources.some((x: any) => x.client_id === c.client_id));
      assert.ok(!list.body.includes(c.client_secret) && !list.body.includes('client_secret'));
      assert.ok(!list.body.includes(rows[0]!.secret_hash as string), 'nor its hash');
      const upd = await t.request({ method: 'PATCH', url: `/api/clients/${c.client_id}/`, headers: staff.bearer, payload: { name: 'Web shop 2' } });
      assert.equal(upd.statusCode, 200);
      assert.equal(upd.json().name, 'Web shop 2');
      assert.ok(!upd.body.includes('client_secret'));

      // Every client gets its own secret.
      const other = await register({});
      assert.notEqual(other.client_secret, c.client_secret);
      assert.notEqual(other.client_id, c.client_id);
      assert.deepEqual(other.grant_types, ['password', 'refresh_token'], 'default grant types');
    });

    it('a public client has no secret; a chosen client id is kept; bad input is 400 by field', async () => {
      const pub = await register({ confidential: false, client_id: 'mobile.app~1' });
      assert.equal(pub.client_secret, null);
      assert.equal(pub.confidential, false);
      assert.equal(pub.client_id, 'mobile.app~1');
      const row = await t.store.db.selectFrom('clients').select('secret_hash').where('client_id', '=', 'mobile.app~1').executeTakeFirstOrThrow();
      assert.equal(row.secret_hash, null);
      const dup = await t.request({ method: 'POST', url: '/api/clients/', headers: staff.bearer, payload: { name: 'x', client_id: 'mobile.app~1' } });
      assert.ok(assertError(dup, 400, 'v1', 'duplicate id').client_id);
      const bad: Array<[Record<string, unknown>, string]> = [
        [{ name: 'x', client_id: 'has space' }, 'client_id'],
        [{ name: 'x', client_id: 'x'.repeat(101) }, 'client_id'],
        [{ name: 'x', grant_types: ['implicit'] }, 'grant_types'],
        [{ name: 'x', redirect_uris: ['/relative'] }, 'redirect_uris'],
        [{ name: 'x', redirect_uris: ['https://a.example/cb#frag'] }, 'redirect_uris'],
        [{ name: 'x', scopes: ['bad scope'] }, 'scopes'],
        [{ name: '' }, 'name'],
        [{}, 'name'],
        [{ name: 'x', secret: 'mine' }, 'secret'],
        [{ name: 5 }, 'name'],
      ];
      for (const [payload, field] of bad) {
        const r = await t.request({ method: 'POST', url: '/api/clients/', headers: staff.bearer, payload });
        const body = assertError(r, 400, 'v1', JSON.stringify(payload));
        assert.ok(body[field] || body.non_field_errors, `${field} named in ${r.body}`);
      }
      // Read-only after creation.
      assert.ok(assertError(await t.request({ method: 'PATCH', url: '/api/clients/mobile.app~1/', headers: staff.bearer, payload: { client_id: 'other' } }), 400, 'v1', 'rename id').client_id);
      assert.ok(assertError(await t.request({ method: 'PATCH', url: '/api/clients/mobile.app~1/', headers: staff.bearer, payload: { confidential: true } }), 400, 'v1', 'make confidential').confidential);
      const put = await t.request({ method: 'PUT', url: '/api/clients/mobile.app~1/', headers: staff.bearer, payload: { name: 'Mobile', grant_types: ['password'], scopes: ['read'] } });
      assert.equal(put.statusCode, 200, put.body);
      assert.deepEqual([put.json().name, put.json().grant_types, put.json().scopes], ['Mobile', ['password'], ['read']]);
    });

    it('only staff manage clients (403 for others, 401 anonymous); deleting one ends the tokens issued to it', async () => {
      const c = await register({});
      for (const [method, url, payload] of [['GET', '/api/clients/', undefined], ['POST', '/api/clients/', { name: 'x' }], ['GET', `/api/clients/${c.client_id}/`, undefined], ['PATCH', `/api/clients/${c.client_id}/`, { name: 'x' }], ['DELETE', `/api/clients/${c.client_id}/`, undefined]] as const) {
        assertError(await t.request({ method, url, headers: plain.bearer, payload }), 403, 'v1', `${method} ${url} by a plain user`);
        assertError(await t.request({ method, url, payload }), 401, 'v1', `${method} ${url} anonymous`);
      }
      const pair = await v2Pair(t, undefined, 'joe', PW, { client_id: c.client_id, client_secret: c.client_secret! });
      assert.equal((await t.request({ method: 'GET', url: '/api/v2/users/me', headers: pair.bearer })).statusCode, 200);
      const del = await t.request({ method: 'DELETE', url: `/api/clients/${c.client_id}/`, headers: staff.bearer });
      assert.equal(del.statusCode, 204);
      assertError(await t.request({ method: 'GET', url: `/api/clients/${c.client_id}/`, headers: staff.bearer }), 404, 'v1', 'deleted');
      assertError(await t.request({ method: 'DELETE', url: `/api/clients/${c.client_id}/`, headers: staff.bearer }), 404, 'v1', 'deleted twice');
      assertError(await t.request({ method: 'GET', url: '/api/v2/users/me', headers: pair.bearer }), 401, 'v2', 'token of a deleted client');
      const r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: pair.refresh_token, client_id: c.client_id, client_secret: c.client_secret! });
      assert.equal(assertError(r, 401, 'oauth', 'refresh through a deleted client').error, 'invalid_client');
      assertError(await t.request({ method: 'GET', url: '/user_info/', headers: { ...staff.bearer, 'x-client-id': c.client_id } }), 401, 'authn', 'X-Client-Id of a deleted client');
    });

    it('an unknown X-Client-Id is refused with 401 in every dialect; a registered one is accepted', async () => {
      const c = await register({});
      const rest = await restAuthLogin(t, undefined, 'joe', PW);
      const reads: Array<[string, Record<string, string>]> = [
        ['/api/users/', plain.bearer], ['/user_info/', plain.bearer], ['/api/v2/users/me', plain.bearer], ['/api/auth/user/', rest.token],
      ];
      for (const unknown of ['no-such-client', 'bad id with spaces', 'x'.repeat(300)]) {
        for (const [url, cred] of reads) {
          assertError(await t.request({ method: 'GET', url, headers: { ...cred, 'x-client-id': unknown } }), 401, dialectOf(url), `${url} with X-Client-Id ${unknown.slice(0, 20)}`);
        }
        assertError(await t.request({ method: 'POST', url: '/api/token', headers: { 'x-client-id': unknown }, payload: { username: 'joe', password: PW } }), 401, 'v1', 'v1 sign-in');
        assert.equal(assertError(await v2Token(t, { username: 'joe', password: PW }, { 'x-client-id': unknown }), 401, 'oauth', 'v2 sign-in').error, 'invalid_client');
        assertError(await t.request({ method: 'POST', url: '/api/auth/login/', headers: { 'x-client-id': unknown }, payload: { username: 'joe', password: PW } }), 401, 'rest-auth', 'REST-auth sign-in');
      }
      for (const [url, cred] of reads) {
        const r = await t.request({ method: 'GET', url, headers: { ...cred, 'x-client-id': c.client_id } });
        assert.equal(r.statusCode, 200, `${url}: ${r.body}`);
      }
    });

    it('the tenant setting require_client_id refuses requests without X-Client-Id (401) in every dialect', async () => {
      const tenant = uniq('strict');
      await t.core.tenants.adminCreate(OPERATOR, tenant, undefined);
      await t.createUser({ tenant, username: 'boss', password: PW, isStaff: true });
      const boss = await v1Pair(t, tenant, 'boss', PW);
      const c = await register({}, boss.bearer);
      const pub = await register({ confidential: false }, boss.bearer);
      const rest = await restAuthLogin(t, tenant, 'boss', PW);
      const set = await t.request({ method: 'POST', url: '/api/configuration/', headers: boss.bearer, payload: { key: 'require_client_id', value: 'true' } });
      assert.equal(set.statusCode, 201, set.body);
      assert.deepEqual(set.json(), { key: 'require_client_id', value: 'true' });

      const reads: Array<[string, Record<string, string>]> = [
        ['/api/users/', boss.bearer], ['/user_info/', boss.bearer], ['/api/v2/users/me', boss.bearer], ['/api/auth/user/', rest.token], ['/api/clients/', rest.session],
      ];
      for (const [url, cred] of reads) {
        assertError(await t.request({ method: 'GET', url, headers: cred }), 401, dialectOf(url), `${url} without X-Client-Id`);
        const ok = await t.request({ method: 'GET', url, headers: { ...cred, 'x-client-id': c.client_id } });
        assert.equal(ok.statusCode, 200, `${url} with X-Client-Id: ${ok.body}`);
      }
      const h = inTenant(tenant);
      assertError(await t.request({ method: 'POST', url: '/api/token', headers: h, payload: { username: 'boss', password: PW } }), 401, 'v1', 'v1 sign-in without a client');
      const withClient = await t.request({ method: 'POST', url: '/api/token', headers: { ...h, 'x-client-id': c.client_id }, payload: { username: 'boss', password: PW } });
      assert.equal(withClient.statusCode, 200, withClient.body);
      assert.equal(claims(withClient.json().access).client_id, c.client_id);
      assert.equal(assertError(await v2Token(t, { username: 'boss', password: PW }, h), 401, 'oauth', '/token without a client').error, 'invalid_client');
      // At /token, an authenticated client (Basic or form, or a public one by id) is the client.
      assert.equal((await v2Token(t, { username: 'boss', password: PW, client_id: c.client_id, client_secret: c.client_secret! }, h)).statusCode, 200);
      assert.equal((await v2Token(t, { username: 'boss', password: PW }, { ...h, ...basic(c.client_id, c.client_secret!) })).statusCode, 200);
      assert.equal((await v2Token(t, { username: 'boss', password: PW, client_id: pub.client_id }, h)).statusCode, 200);
      assertError(await t.request({ method: 'POST', url: '/api/auth/login/', headers: h, payload: { username: 'boss', password: PW } }), 401, 'rest-auth', 'REST-auth sign-in without a client');

      // Other tenants are not affected; switching it off restores the old behaviour.
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: plain.bearer })).statusCode, 200);
      const off = await t.request({ method: 'POST', url: '/api/configuration/', headers: { ...boss.bearer, 'x-client-id': c.client_id }, payload: { key: 'require_client_id', value: 'false' } });
      assert.equal(off.statusCode, 201, off.body);
      for (const [url, cred] of reads) assert.equal((await t.request({ method: 'GET', url, headers: cred })).statusCode, 200, url);
    });

    it('tokens record their client: client_id and scope claims, kept through refresh, shown in the sign-ins list', async () => {
      const c = await register({ scopes: ['read', 'write'] });
      const v1 = await v1Pair(t, undefined, 'joe', PW, { 'x-client-id': c.client_id });
      assert.equal(claims(v1.access).client_id, c.client_id);
      const none = await v1Pair(t, undefined, 'joe', PW);
      assert.equal(claims(none.access).client_id, undefined);
      const v2 = await v2Pair(t, undefined, 'joe', PW, { client_id: c.client_id, client_secret: c.client_secret!, scope: 'read' });
      assert.equal(claims(v2.access_token).client_id, c.client_id);
      assert.equal(claims(v2.access_token).scope, 'read');
      const refreshed = await v2Token(t, { grant_type: 'refresh_token', refresh_token: v2.refresh_token }, basic(c.client_id, c.client_secret!));
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal(claims(refreshed.json().access_token).client_id, c.client_id);
      assert.equal(claims(refreshed.json().access_token).scope, 'read');
      const v1r = await t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: v1.refresh } });
      assert.equal(claims(v1r.json().access).client_id, c.client_id);
      const signIns = await t.request({ method: 'GET', url: '/api/sign-ins/', headers: v1.bearer });
      const mine = signIns.json().resources.find((s: any) => s.current);
      assert.equal(mine.client_id, c.client_id);
    });

    it('/token client authentication: Basic and form fields, good and bad, both at once, public and confidential', async () => {
      const conf = await register({ client_id: uniq('conf.') });
      const pub = await register({ client_id: uniq('pub~'), confidential: false });
      const user = { username: 'joe', password: PW };
      const ok = async (fields: Record<string, string>, headers: Record<string, string> = {}, what = '') => {
        const r = await v2Token(t, { ...user, ...fields }, headers);
        assert.equal(r.statusCode, 200, `${what}: ${r.body}`);
        return claims(r.json().access_token).client_id;
      };
      const refused = async (fields: Record<string, string>, headers: Record<string, string>, status: number, error: string, what: string) => {
        const r = await v2Token(t, { ...user, ...fields }, headers);
        const body = assertError(r, status, 'oauth', what);
        assert.equal(body.error, error, what);
        return r;
      };
      assert.equal(await ok({}, basic(conf.client_id, conf.client_secret!), 'Basic'), conf.client_id);
      assert.equal(await ok({ client_id: conf.client_id, client_secret: conf.client_secret! }, {}, 'form'), conf.client_id);
      assert.equal(await ok({ client_id: conf.client_id }, basic(conf.client_id, conf.client_secret!), 'Basic plus the id in the body'), conf.client_id);
      assert.equal(await ok({ client_id: '' }, {}, 'empty client id: no client'), undefined);
      assert.equal(await ok({ client_id: '', client_secret: '' }, {}, 'empty id and secret'), undefined);
      assert.equal(await ok({}, basic(pub.client_id, ''), 'public client by Basic with an empty secret'), pub.client_id);
      assert.equal(await ok({ client_id: pub.client_id }, {}, 'public client by form'), pub.client_id);
      // RFC 6749 §2.3.1: the Basic halves are form-encoded.
      assert.equal(await ok({}, basic(encodeURIComponent(pub.client_id), ''), 'form-encoded id'), pub.client_id);

      let r = await refused({}, basic(conf.client_id, 'wrong-secret'), 401, 'invalid_client', 'Basic, wrong secret');
      assert.match(String(r.headers['www-authenticate']), /^Basic/);
      r = await refused({}, basic('nobody', 'x'), 401, 'invalid_client', 'Basic, unknown client');
      assert.match(String(r.headers['www-authenticate']), /^Basic/);
      await refused({}, basic(conf.client_id, conf.client_secret!.slice(0, -1)), 401, 'invalid_client', 'Basic, secret one short');
      await refused({ client_id: conf.client_id, client_secret: 'wrong' }, {}, 401, 'invalid_client', 'form, wrong secret');
      await refused({ client_id: conf.client_id }, {}, 401, 'invalid_client', 'confidential client without its secret');
      await refused({}, basic(conf.client_id, ''), 401, 'invalid_client', 'confidential client, Basic with an empty secret');
      await refused({ client_id: pub.client_id, client_secret: 'anything' }, {}, 401, 'invalid_client', 'public client with a secret');
      await refused({ client_id: 'nobody' }, {}, 401, 'invalid_client', 'form, unknown client');
      await refused({ client_secret: conf.client_secret! }, basic(conf.client_id, conf.client_secret!), 400, 'invalid_request', 'Basic and form secret at once');
      // A client of another tenant does not authenticate here.
      const other = uniq('other');
      await t.core.tenants.adminCreate(OPERATOR, other, undefined);
      const foreign = await t.core.clients.create(OPERATOR, (await t.core.tenants.findByName(other))!, { name: 'Foreign' });
      noteSecret(foreign.secret);
      await refused({}, basic(foreign.client.clientId, foreign.secret!), 401, 'invalid_client', 'another tenant\'s client');
      await t.createUser({ tenant: other, username: 'joe', password: PW });
      assert.equal(await ok({}, { ...basic(foreign.client.clientId, foreign.secret!), ...inTenant(other) }, 'in its own tenant'), foreign.client.clientId);
    });

    it('grant types: a client without refresh_token cannot refresh, one without password cannot sign in (400 unauthorized_client)', async () => {
      const pwOnly = await register({ grant_types: ['password'] });
      const refreshOnly = await register({ grant_types: ['refresh_token'] });
      const pair = await v2Pair(t, undefined, 'joe', PW, { client_id: pwOnly.client_id, client_secret: pwOnly.client_secret! });
      let r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: pair.refresh_token }, basic(pwOnly.client_id, pwOnly.client_secret!));
      assert.equal(assertError(r, 400, 'oauth', 'refresh without the grant').error, 'unauthorized_client');
      r = await v2Token(t, { grant_type: 'password', username: 'joe', password: PW }, basic(refreshOnly.client_id, refreshOnly.client_secret!));
      assert.equal(assertError(r, 400, 'oauth', 'password without the grant').error, 'unauthorized_client');
      // It stays bound to the client it was issued to.
      r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: pair.refresh_token }, basic(refreshOnly.client_id, refreshOnly.client_secret!));
      assert.equal(assertError(r, 400, 'oauth', 'refresh by another client').error, 'invalid_grant');
      // v1 sign-in through a client that may not use the password grant is refused too.
      const v1 = await t.request({ method: 'POST', url: '/api/token', headers: { 'x-client-id': refreshOnly.client_id }, payload: { username: 'joe', password: PW } });
      assert.ok([400, 403].includes(v1.statusCode), v1.body);
      assert.equal((await t.request({ method: 'GET', url: '/api/v2/users/me', headers: pair.bearer })).statusCode, 200, 'the sign-in stands');
    });

    it('scopes: granted as asked and echoed exactly; a scope the client may not ask for is 400 invalid_scope; refresh cannot widen', async () => {
      const c = await register({ scopes: ['read', 'write', 'users:admin'] });
      const auth = basic(c.client_id, c.client_secret!);
      for (const scope of ['read', 'write read', 'read write users:admin']) {
        const r = await v2Token(t, { username: 'joe', password: PW, scope }, auth);
        assert.equal(r.statusCode, 200, r.body);
        assert.equal(r.json().scope, scope, 'echoed exactly as asked');
        assert.equal(claims(r.json().access_token).scope, scope);
      }
      const noScope = await v2Token(t, { username: 'joe', password: PW }, auth);
      assert.equal(noScope.json().scope, undefined, 'no scope asked, none answered');
      for (const scope of ['admin', 'read admin', 'READ', 'read "x"', 'a\\b']) {
        const r = await v2Token(t, { username: 'joe', password: PW, scope }, auth);
        assert.equal(assertError(r, 400, 'oauth', `scope ${scope}`).error, 'invalid_scope');
      }
      // A client with no scope list may ask for any well-formed scope; no client likewise.
      const open = await register({});
      const any = await v2Token(t, { username: 'joe', password: PW, scope: 'anything:at-all' }, basic(open.client_id, open.client_secret!));
      assert.equal(any.json().scope, 'anything:at-all');
      // Refresh: narrower is fine, wider is refused.
      const pair = await v2Pair(t, undefined, 'joe', PW, { scope: 'read write', client_id: c.client_id, client_secret: c.client_secret! });
      let r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: pair.refresh_token, scope: 'read users:admin' }, auth);
      assert.equal(assertError(r, 400, 'oauth', 'widening refresh').error, 'invalid_scope');
      r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: pair.refresh_token, scope: 'read' }, auth);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().scope, 'read');
      assert.equal(claims(r.json().access_token).scope, 'read');
      // A sign-in that asked no scope is unrestricted (no scope claim): a refresh may narrow it to
      // allowed scopes (requests-oauthlib sends its session's scope only when refreshing), not to others.
      const bare = await v2Pair(t, undefined, 'joe', PW, { client_id: c.client_id, client_secret: c.client_secret! });
      assert.equal(claims(bare.access_token).scope, undefined);
      r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: bare.refresh_token, scope: 'admin' }, auth);
      assert.equal(assertError(r, 400, 'oauth', 'refresh to a scope the client may not ask for').error, 'invalid_scope');
      r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: bare.refresh_token, scope: 'read' }, auth);
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().scope, 'read');
      assert.equal(claims(r.json().access_token).scope, 'read');
    });

    it('a refresh token issued to client X is refused for client Y and without a client; one issued without a client is refused for X', async () => {
      const x = await register({});
      const y = await register({});
      const pub = await register({ confidential: false });
      const pair = await v2Pair(t, undefined, 'joe', PW, { client_id: x.client_id, client_secret: x.client_secret! });
      for (const [what, fields, headers] of [
        ['client Y', {}, basic(y.client_id, y.client_secret!)],
        ['a public client', { client_id: pub.client_id }, {}],
        ['no client', {}, {}],
      ] as const) {
        const r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: pair.refresh_token, ...fields }, headers);
        assert.equal(assertError(r, 400, 'oauth', what).error, 'invalid_grant', what);
      }
      const good = await v2Token(t, { grant_type: 'refresh_token', refresh_token: pair.refresh_token }, basic(x.client_id, x.client_secret!));
      assert.equal(good.statusCode, 200, `the refused attempts did not spend the token: ${good.body}`);
      assert.notEqual(good.json().refresh_token, pair.refresh_token);

      const bare = await v2Pair(t, undefined, 'joe', PW);
      const r = await v2Token(t, { grant_type: 'refresh_token', refresh_token: bare.refresh_token }, basic(x.client_id, x.client_secret!));
      assert.equal(assertError(r, 400, 'oauth', 'clientless token with X').error, 'invalid_grant');
      assert.equal((await v2Token(t, { grant_type: 'refresh_token', refresh_token: bare.refresh_token })).statusCode, 200);
    });
  });

  describe(`CLI tenants and clients [${engine.name}]`, { skip }, () => {
    let dir: string;
    let db: Awaited<ReturnType<Engine['create']>> | undefined;
    let url: string;
    before(async () => {
      dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-cli-'));
      if (engine.name === 'sqlite') url = `sqlite:${path.join(dir, 'x.db')}`;
      else {
        db = await engine.create();
        url = db.url;
      }
    });
    after(async () => {
      await db?.drop();
      fs.rmSync(dir, { recursive: true, force: true });
    });

    it('manages tenants: list, create, rename, disable, enable, delete, with exit codes and messages', async () => {
      let r = await cli(url, dir, 'tenants', 'list');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'default\tactive\tDefault\n');
      r = await cli(url, dir, 'tenants', 'create', 'acme', '--display-name', 'Acme Inc');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'created: acme\tactive\tAcme Inc\n');
      r = await cli(url, dir, 'tenants', 'create', 'acme');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /name: A tenant with that name already exists/);
      r = await cli(url, dir, 'tenants', 'create', 'Bad Name');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /name: Enter a valid tenant name/);
      r = await cli(url, dir, 'tenants', 'rename', 'acme', 'acme2');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'renamed: acme2\tactive\tAcme Inc\n');
      r = await cli(url, dir, 'tenants', 'disable', 'acme2');
      assert.equal(r.stdout, 'disabled: acme2\tdisabled\tAcme Inc\n');
      r = await cli(url, dir, 'tenants', 'list');
      assert.equal(r.stdout, 'default\tactive\tDefault\nacme2\tdisabled\tAcme Inc\n');
      r = await cli(url, dir, 'tenants', 'enable', 'acme2');
      assert.equal(r.stdout, 'enabled: acme2\tactive\tAcme Inc\n');
      r = await cli(url, dir, 'tenants', 'disable', 'default');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /cannot be disabled/);
      r = await cli(url, dir, 'tenants', 'delete', 'default');
      assert.equal(r.code, 1);
      r = await cli(url, dir, 'tenants', 'disable', 'nowhere');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /not found/i);
      // Usage errors: 2 with the command's help (no database involved: checked once, side by side).
      if (engine.name === 'sqlite') {
        const usage = await Promise.all([['tenants', 'frobnicate'], ['tenants', 'rename', 'acme2'], ['tenants', 'list', '--bogus'], ['tenants', '--help']].map((args) => cli(url, dir, ...args)));
        for (const u of usage.slice(0, 3)) {
          assert.equal(u.code, 2, u.stderr);
          assert.match(u.stderr, /Usage: latchkey tenants/);
        }
        assert.equal(usage[3]!.code, 0);
        assert.match(usage[3]!.stdout, /Usage: latchkey tenants/);
      }
    });

    it('registers clients: the secret printed once works at POST /token of a server over the same database; list and delete', async () => {
      let r = await cli(url, dir, 'tenants', 'create', 'shop');
      assert.equal(r.code, 0, r.stderr);
      r = await cli(url, dir, 'clients', 'create', '--tenant', 'shop', '--name', 'Shop app', '--client-id', 'shop-web', '--grant-type', 'password', '--grant-type', 'refresh_token', '--scope', 'read', '--redirect-uri', 'https://shop.example/cb');
      assert.equal(r.code, 0, r.stderr);
      const m = /^client_id: shop-web\nclient_secret: ([A-Za-z0-9_-]{43})\n\(shown once: it is stored only as a hash\)\n$/.exec(r.stdout);
      assert.ok(m, r.stdout);
      const secret = m[1]!;
      noteSecret(secret);
      r = await cli(url, dir, 'clients', 'create', '--tenant', 'shop', '--name', 'Phone', '--public');
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /^client_id: lk_[A-Za-z0-9_-]+\n$/);
      const publicId = r.stdout.trim().slice('client_id: '.length);
      r = await cli(url, dir, 'clients', 'list', '--tenant', 'shop');
      assert.equal(r.code, 0);
      assert.equal(r.stdout, `shop-web\tconfidential\tpassword,refresh_token\tShop app\n${publicId}\tpublic\tpassword,refresh_token\tPhone\n`);
      assert.ok(!r.stdout.includes(secret));
      r = await cli(url, dir, 'clients', 'list');
      assert.equal(r.stdout, '', 'the default tenant has none');

      // A server over the same database accepts the printed secret; the row holds its SHA-256 only.
      const store = openStore(url);
      const core = createCore({ store, publicUrl: PUBLIC_URL, hasher: fastHasher(), mailer: outboxMailerForTests() });
      await core.prepare();
      const app = await buildServer({ core, publicUrl: PUBLIC_URL });
      try {
        const row = await store.db.selectFrom('clients').select('secret_hash').where('client_id', '=', 'shop-web').executeTakeFirstOrThrow();
        assert.equal(row.secret_hash, sha256(secret));
        await core.users.create(OPERATOR, { tenant: 'shop', username: 'ann', password: PW });
        const tok = (headers: Record<string, string>, fields: Record<string, string> = {}) => app.inject({
          method: 'POST', url: '/token', headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-tenant': 'shop', ...headers },
          payload: new URLSearchParams({ username: 'ann', password: PW, scope: 'read', ...fields }).toString(),
        });
        const ok = await tok(basic('shop-web', secret));
        assert.equal(ok.statusCode, 200, ok.body);
        assert.equal(claims(ok.json().access_token).client_id, 'shop-web');
        assert.equal(ok.json().scope, 'read');
        assert.equal((await tok(basic('shop-web', secret), { scope: 'write' })).json().error, 'invalid_scope');
        // One character changed (a secret may itself start with "x": 1 time in 64 this test once passed the secret unchanged).
        assert.equal((await tok(basic('shop-web', (secret[0] === 'x' ? 'y' : 'x') + secret.slice(1)))).statusCode, 401);
        assert.equal((await tok({}, { client_id: publicId })).statusCode, 200);
      } finally {
        await app.close();
        await store.close();
      }

      r = await cli(url, dir, 'clients', 'delete', 'shop-web', '--tenant', 'shop');
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stdout, 'deleted: shop-web\n');
      r = await cli(url, dir, 'clients', 'delete', 'shop-web', '--tenant', 'shop');
      assert.equal(r.code, 1);
      r = await cli(url, dir, 'clients', 'delete', publicId);
      assert.equal(r.code, 1, 'not in the default tenant');
      r = await cli(url, dir, 'clients', 'list', '--tenant', 'nowhere');
      assert.equal(r.code, 1);
      if (engine.name === 'sqlite') {
        const usage = await Promise.all([['clients', 'create'], ['clients', 'delete'], ['clients', 'list', 'extra']].map((args) => cli(url, dir, ...args)));
        for (const u of usage) {
          assert.equal(u.code, 2, u.stderr);
          assert.match(u.stderr, /Usage: latchkey clients/);
        }
      }
      r = await cli(url, dir, 'clients', 'create', '--name', 'x', '--grant-type', 'implicit');
      assert.equal(r.code, 1);
      assert.match(r.stderr, /grant_types: "implicit" is not a valid choice/);
    });
  });
}
