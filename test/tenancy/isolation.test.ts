// Tenants keep apart: a credential of one tenant never works in another, in any dialect; staff
// of one tenant cannot reach another's users, groups, clients or addresses; names, groups,
// settings and clients are per tenant; unknown, disabled, renamed and deleted tenants.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startApp, type TestApp } from '../helpers/app.ts';
import type { User } from '../../src/core/index.ts';
import {
  assertError, basic, claims, dialectOf, inTenant, restAuthLogin, v1Pair, v2Pair, v2Token,
} from './support.ts';

const pw = (tenant: string, user: string) => `${tenant}-${user}-pass-phrase`;
const ROOT_PW = 'root-pass-phrase-0';

/** Every operation the brief names: the sweep must reach each (and finds the rest in the OpenAPI document). */
const REQUIRED_OPS = [
  'api_users_list', 'api_users_create', 'api_users_retrieve', 'api_users_update', 'api_users_partial_update', 'api_users_destroy',
  'api_groups_list', 'api_groups_create', 'api_groups_retrieve', 'api_groups_update', 'api_groups_partial_update', 'api_groups_destroy',
  'api_groups_members_list', 'api_groups_members_create', 'api_groups_members_destroy',
  'api_configuration_list', 'api_configuration_create', 'api_token_logout_create', 'api_auth_change_password_create',
  'api_clients_list', 'api_clients_create', 'api_clients_retrieve', 'api_clients_update', 'api_clients_partial_update', 'api_clients_destroy',
  'api_tenants_list', 'api_tenants_create',
  'authn_user_info', 'authn_user_list', 'authn_user_create', 'authn_user_retrieve', 'authn_user_update', 'authn_user_partial_update', 'authn_user_destroy',
  'v2_users_me', 'v2_users_get', 'v2_users_update', 'v2_users_password',
  'auth_user_retrieve', 'auth_user_update', 'auth_password_change_create', 'auth_emails_list', 'auth_emails_create',
];

interface TenantFixture {
  name: string;
  admin: User;
  carol: User;
  groupId: string;
  clientId: string;
}

for (const { engine, skip } of engines) {
  describe(`tenant isolation [${engine.name}]`, { skip }, () => {
    let t: TestApp;
    let root: { bearer: { authorization: string } };
    const tenants: Record<string, TenantFixture> = {};

    /** A tenant made over HTTP, with a staff `admin`, a plain `carol` in group `editors`, and a client `App`. */
    async function makeTenant(name: string): Promise<TenantFixture> {
      const r = await t.request({ method: 'POST', url: '/api/tenants/', headers: root.bearer, payload: { name, display_name: name.toUpperCase() } });
      assert.equal(r.statusCode, 201, r.body);
      assert.equal(r.json().name, name);
      assert.equal(r.json().is_active, true);
      // Same names and e-mail addresses in every tenant.
      const admin = await t.createUser({ tenant: name, username: 'admin', password: pw(name, 'admin'), email: 'admin@example.com', isStaff: true });
      const carol = await t.createUser({ tenant: name, username: 'carol', password: pw(name, 'carol'), email: 'carol@example.com' });
      const { bearer } = await v1Pair(t, name, 'admin', pw(name, 'admin'));
      const g = await t.request({ method: 'POST', url: '/api/groups/', headers: bearer, payload: { name: 'editors' } });
      assert.equal(g.statusCode, 201, g.body);
      const m = await t.request({ method: 'POST', url: `/api/groups/${g.json().id}/members/`, headers: bearer, payload: { username: 'carol' } });
      assert.equal(m.statusCode, 201, m.body);
      assert.equal(m.json().id, carol.id, 'the member added by name is the tenant\'s own carol');
      const c = await t.request({ method: 'POST', url: '/api/clients/', headers: bearer, payload: { name: 'App' } });
      assert.equal(c.statusCode, 201, c.body);
      return { name, admin, carol, groupId: g.json().id, clientId: c.json().client_id };
    }

    before(async () => {
      t = await startApp(engine);
      await t.createUser({ username: 'root', password: ROOT_PW, isStaff: true, isSuperuser: true });
      root = await v1Pair(t, undefined, 'root', ROOT_PW);
      tenants.alpha = await makeTenant('alpha');
      tenants.beta = await makeTenant('beta');
    });
    after(async () => { await t?.close(); });

    it('a superuser creates and lists tenants; staff and plain users are refused (403); names are checked', async () => {
      const list = await t.request({ method: 'GET', url: '/api/tenants/', headers: root.bearer });
      assert.equal(list.statusCode, 200);
      const names = list.json().resources.map((x: any) => x.name);
      assert.ok(['default', 'alpha', 'beta'].every((n) => names.includes(n)), names.join());
      assert.equal(list.json().count, names.length);
      const one = await t.request({ method: 'GET', url: '/api/tenants/alpha/', headers: root.bearer });
      assert.equal(one.statusCode, 200);
      assert.equal(one.json().display_name, 'ALPHA');
      const staff = await v1Pair(t, 'alpha', 'admin', pw('alpha', 'admin'));
      for (const [method, url, payload] of [['GET', '/api/tenants/', undefined], ['POST', '/api/tenants/', { name: 'x1' }], ['GET', '/api/tenants/alpha/', undefined], ['PATCH', '/api/tenants/alpha/', { is_active: false }], ['DELETE', '/api/tenants/beta/', undefined]] as const) {
        assertError(await t.request({ method, url, headers: staff.bearer, payload }), 403, 'v1', `${method} ${url} by staff`);
      }
      assertError(await t.request({ method: 'GET', url: '/api/tenants/' }), 401, 'v1', 'anonymous');
      const dup = await t.request({ method: 'POST', url: '/api/tenants/', headers: root.bearer, payload: { name: 'alpha' } });
      assert.ok(assertError(dup, 400, 'v1', 'duplicate').name);
      for (const bad of ['Alpha', 'a b', '', '-x', 'x'.repeat(65), 'é']) {
        const r = await t.request({ method: 'POST', url: '/api/tenants/', headers: root.bearer, payload: { name: bad } });
        assert.ok(assertError(r, 400, 'v1', `name ${JSON.stringify(bad)}`).name, r.body);
      }
      assertError(await t.request({ method: 'GET', url: '/api/tenants/nowhere/', headers: root.bearer }), 404, 'v1', 'unknown tenant');
    });

    it('a credential of tenant alpha with X-Tenant: beta is refused (401) by every authenticated operation of every dialect', async () => {
      const a = tenants.alpha!;
      const jwtV1 = await v1Pair(t, 'alpha', 'admin', pw('alpha', 'admin'));
      const jwtV2 = await v2Pair(t, 'alpha', 'admin', pw('alpha', 'admin'));
      const rest = await restAuthLogin(t, 'alpha', 'admin', pw('alpha', 'admin'));
      const credentials: Record<string, Record<string, string>> = {
        'v1 JWT': jwtV1.bearer, 'v2 JWT': jwtV2.bearer, 'token key': rest.token, 'session cookie': rest.session,
        'superuser of default': root.bearer,
      };
      // Every operation of the OpenAPI document that needs a credential, with alpha's own objects in its path.
      const doc = (await t.request({ method: 'GET', url: '/api/schema' })).json();
      const fill: Record<string, (path: string) => string> = {
        id: (p) => (p.startsWith('/api/auth/') ? '1' : p.startsWith('/api/sign-ins/') ? 'jwt:x' : p.startsWith('/api/groups/') && !p.includes('members') ? a.groupId : a.carol.id),
        group_pk: () => a.groupId, user_id: () => String(a.carol.pk), uid: () => String(a.carol.pk), name: () => 'alpha', client_id: () => a.clientId,
      };
      const ops: Array<{ method: string; url: string; opId: string }> = [];
      for (const [path, byMethod] of Object.entries<any>(doc.paths)) {
        for (const [method, op] of Object.entries<any>(byMethod)) {
          if (!op.security) continue;
          const url = path.replace(/\{(\w+)\}/g, (_m, p: string) => {
            assert.ok(fill[p], `a value for path parameter ${p} of ${path}`);
            return encodeURIComponent(fill[p]!(path));
          });
          ops.push({ method: method.toUpperCase(), url, opId: op.operationId });
        }
      }
      const swept = new Set(ops.map((o) => o.opId));
      for (const id of REQUIRED_OPS) assert.ok(swept.has(id), `the sweep covers ${id}`);
      assert.ok(ops.length >= 55, `${ops.length} operations`);

      const before = await t.store.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      let checked = 0;
      for (const [credName, cred] of Object.entries(credentials)) {
        for (const op of ops) {
          const payload = op.method === 'GET' || op.method === 'DELETE' ? undefined : {};
          const r = await t.request({ method: op.method as any, url: op.url, headers: { ...cred, 'x-tenant': 'beta' }, payload });
          const what = `${credName}: ${op.method} ${op.url} with X-Tenant: beta`;
          if (op.opId.startsWith('auth_logout_')) {
            // dj-rest-auth's logout answers 200 to anyone; a refused credential is not ended (checked below).
            assert.equal(r.statusCode, 200, `${what}: ${r.body}`);
          } else {
            assertError(r, 401, dialectOf(op.url), what);
          }
          checked++;
        }
      }
      assert.equal(checked, Object.keys(credentials).length * ops.length);

      // Nothing happened: the credentials still work in their own tenant, with and without the header.
      for (const [credName, cred] of Object.entries(credentials)) {
        for (const headers of [{}, { 'x-tenant': credName.includes('default') ? 'default' : 'alpha' }]) {
          const r = await t.request({ method: 'GET', url: '/user_info/', headers: { ...cred, ...headers } });
          assert.equal(r.statusCode, 200, `${credName} ${JSON.stringify(headers)}: ${r.body}`);
        }
      }
      const after = await t.store.db.selectFrom('users').select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow();
      assert.equal(Number(after.n), Number(before.n));
      const carol = await t.store.read.users.findByPk(a.carol.pk);
      assert.equal(carol?.username, 'carol');
      await v1Pair(t, 'alpha', 'carol', pw('alpha', 'carol'));
      assert.equal((await t.request({ method: 'GET', url: `/api/groups/${a.groupId}/`, headers: jwtV1.bearer })).statusCode, 200);
      assert.equal((await t.request({ method: 'GET', url: `/api/clients/${a.clientId}/`, headers: jwtV1.bearer })).statusCode, 200);
    });

    it('HTTP Basic with alpha\'s name and password is checked in the tenant X-Tenant names', async () => {
      const creds = basic('carol', pw('alpha', 'carol'));
      for (const url of ['/api/users/', '/user_info/', '/api/v2/users/me', '/api/auth/user/']) {
        assertError(await t.request({ method: 'GET', url, headers: { ...creds, 'x-tenant': 'beta' } }), 401, dialectOf(url), `Basic in beta: ${url}`);
      }
      const ok = await t.request({ method: 'GET', url: '/user_info/', headers: { ...creds, 'x-tenant': 'alpha' } });
      assert.equal(ok.statusCode, 200);
      assert.equal(ok.json().id, tenants.alpha!.carol.pk);
    });

    it('alpha\'s password does not sign in to beta, and alpha\'s refresh tokens do not work with X-Tenant: beta', async () => {
      // Same name, alpha's password: beta's carol has another one.
      const v1 = await t.request({ method: 'POST', url: '/api/token', headers: inTenant('beta'), payload: { username: 'admin', password: pw('alpha', 'admin') } });
      assertError(v1, 401, 'v1', 'v1 sign-in');
      const v2 = await v2Token(t, { username: 'admin', password: pw('alpha', 'admin') }, inTenant('beta'));
      assert.equal(assertError(v2, 400, 'oauth', 'v2 sign-in').error, 'invalid_grant');
      const ra = await t.request({ method: 'POST', url: '/api/auth/login/', headers: inTenant('beta'), payload: { username: 'admin', password: pw('alpha', 'admin') } });
      assert.ok(assertError(ra, 400, 'rest-auth', 'REST-auth sign-in').non_field_errors);

      const pair = await v1Pair(t, 'alpha', 'carol', pw('alpha', 'carol'));
      const r1 = await t.request({ method: 'POST', url: '/api/token/refresh', headers: inTenant('beta'), payload: { refresh: pair.refresh } });
      assertError(r1, 401, 'v1', 'v1 refresh of alpha\'s token in beta');
      const r2 = await v2Token(t, { grant_type: 'refresh_token', refresh_token: pair.refresh }, inTenant('beta'));
      assert.equal(assertError(r2, 400, 'oauth', 'v2 refresh of alpha\'s token in beta').error, 'invalid_grant');
      // Still good in its own tenant.
      const r3 = await t.request({ method: 'POST', url: '/api/token/refresh', headers: inTenant('alpha'), payload: { refresh: pair.refresh } });
      assert.equal(r3.statusCode, 200, r3.body);
      assert.equal(claims(r3.json().access).tenant, 'alpha');
    });

    it('staff of alpha cannot read or change beta\'s users, groups, members, clients or addresses by id (404), in every dialect', async () => {
      const a = tenants.alpha!;
      const b = tenants.beta!;
      const staff = await v1Pair(t, 'alpha', 'admin', pw('alpha', 'admin'));
      const h = staff.bearer;
      // beta's carol gets a second e-mail address and a session, so there are ids to aim at.
      const betaCarol = await restAuthLogin(t, 'beta', 'carol', pw('beta', 'carol'));
      const em = await t.request({ method: 'POST', url: '/api/auth/emails/', headers: betaCarol.token, payload: { email: 'carol.second@example.com' } });
      assert.equal(em.statusCode, 201, em.body);
      const signIns = await t.request({ method: 'GET', url: '/api/sign-ins/', headers: betaCarol.token });
      const betaSignIn = signIns.json().resources[0].id as string;

      const cases: Array<[string, string, unknown?]> = [
        ['GET', `/api/users/${b.carol.id}/`], ['PUT', `/api/users/${b.carol.id}/`, { email: 'x@example.com' }], ['PATCH', `/api/users/${b.carol.id}/`, { first_name: 'X' }],
        ['DELETE', `/api/users/${b.carol.id}/`], ['POST', `/api/users/${b.carol.id}/unlock/`, {}],
        ['GET', `/api/groups/${b.groupId}/`], ['PUT', `/api/groups/${b.groupId}/`, { name: 'x' }], ['PATCH', `/api/groups/${b.groupId}/`, { name: 'x' }],
        ['DELETE', `/api/groups/${b.groupId}/`], ['GET', `/api/groups/${b.groupId}/members/`], ['POST', `/api/groups/${b.groupId}/members/`, { username: 'carol' }],
        ['DELETE', `/api/groups/${b.groupId}/members/${b.carol.id}/`], ['DELETE', `/api/groups/${a.groupId}/members/${b.carol.id}/`],
        ['GET', `/api/clients/${b.clientId}/`], ['PATCH', `/api/clients/${b.clientId}/`, { name: 'x' }], ['PUT', `/api/clients/${b.clientId}/`, { name: 'x' }],
        ['DELETE', `/api/clients/${b.clientId}/`],
        ['GET', `/user/${b.carol.pk}/`], ['PUT', `/user/${b.carol.pk}/`, { username: 'x', profile: {} }], ['PATCH', `/user/${b.carol.pk}/`, { first_name: 'X' }],
        ['DELETE', `/user/${b.carol.pk}/`],
        ['GET', `/api/v2/users/${b.carol.pk}`], ['PUT', `/api/v2/users/${b.carol.pk}`, { username: 'x', enabled: false, is_admin: true }],
        ['PUT', `/api/v2/users/${b.carol.pk}/password`, { password: 'another-pass-phrase-9' }],
        ['POST', `/api/auth/emails/${em.json().id}/verify/`, {}], ['POST', `/api/auth/emails/${em.json().id}/primary/`, {}], ['POST', `/api/auth/emails/${em.json().id}/remove/`, {}],
        ['DELETE', `/api/sign-ins/${encodeURIComponent(betaSignIn)}/`],
      ];
      for (const [method, url, payload] of cases) {
        assertError(await t.request({ method: method as any, url, headers: h, payload: payload as any }), 404, dialectOf(url), `${method} ${url}`);
      }
      // Adding beta's carol to alpha's group by id: she is not in alpha.
      const add = await t.request({ method: 'POST', url: `/api/groups/${a.groupId}/members/`, headers: h, payload: { id: b.carol.id } });
      assert.ok([400, 404].includes(add.statusCode), add.body);
      // The audit log filtered on beta's user shows nothing of beta.
      const audit = await t.request({ method: 'GET', url: `/api/audit-events/?user_id=${b.carol.id}`, headers: h });
      assert.equal(audit.statusCode, 200);
      assert.equal(audit.json().count, 0);

      // Beta is untouched: carol's name, password, group, address, sign-in and beta's client.
      const carol = await t.store.read.users.findByPk(b.carol.pk);
      assert.equal(carol?.username, 'carol');
      assert.equal(carol?.isActive, true);
      assert.equal(carol?.firstName, '');
      const bAdmin = await v1Pair(t, 'beta', 'admin', pw('beta', 'admin'));
      const members = await t.request({ method: 'GET', url: `/api/groups/${b.groupId}/members/`, headers: bAdmin.bearer });
      assert.deepEqual(members.json().resources.map((u: any) => u.id), [b.carol.id]);
      const aMembers = await t.request({ method: 'GET', url: `/api/groups/${a.groupId}/members/`, headers: h });
      assert.deepEqual(aMembers.json().resources.map((u: any) => u.id), [a.carol.id]);
      assert.equal((await t.request({ method: 'GET', url: `/api/clients/${b.clientId}/`, headers: bAdmin.bearer })).json().name, 'App');
      assert.equal((await t.request({ method: 'GET', url: `/api/groups/${b.groupId}/`, headers: bAdmin.bearer })).json().name, 'editors');
      const emails = await t.request({ method: 'GET', url: '/api/auth/emails/', headers: betaCarol.token });
      assert.ok(emails.json().results.some((e: any) => e.email === 'carol.second@example.com'));
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: betaCarol.token })).statusCode, 200, 'beta carol\'s sign-in still stands');

      // Lists show the caller's tenant only.
      const lists: Array<[string, (body: any) => string[]]> = [
        ['/api/users/', (x) => x.resources.map((u: any) => u.id)],
        ['/user/', (x) => x.results.map((u: any) => u.id)],
        ['/api/groups/', (x) => x.resources.map((g: any) => g.id)],
        ['/api/clients/', (x) => x.resources.map((c: any) => c.client_id)],
      ];
      for (const [url, ids] of lists) {
        const r = await t.request({ method: 'GET', url, headers: h });
        assert.equal(r.statusCode, 200);
        const got = ids(r.json());
        for (const id of [b.carol.id, b.carol.pk, b.admin.id, b.admin.pk, b.groupId, b.clientId]) assert.ok(!got.includes(id as any), `${url} shows ${id} of beta`);
      }
      const users = (await t.request({ method: 'GET', url: '/api/users/', headers: h })).json();
      assert.deepEqual(users.resources.map((u: any) => u.tenant_id), users.resources.map(() => 'alpha'));
    });

    it('usernames, e-mail addresses, groups, settings and clients are per tenant', async () => {
      const a = tenants.alpha!;
      const b = tenants.beta!;
      assert.notEqual(a.carol.id, b.carol.id);
      assert.notEqual(a.carol.pk, b.carol.pk);
      assert.equal(a.carol.email, b.carol.email);
      const ca = await v1Pair(t, 'alpha', 'carol', pw('alpha', 'carol'));
      const cb = await v1Pair(t, 'beta', 'carol', pw('beta', 'carol'));
      assert.equal(claims(ca.access).tenant, 'alpha');
      assert.equal(claims(cb.access).tenant, 'beta');
      assert.equal(claims(ca.access).sub, a.carol.id);
      assert.equal(claims(cb.access).sub, b.carol.id);
      // The same new name in each tenant, through three dialects.
      const sa = await v1Pair(t, 'alpha', 'admin', pw('alpha', 'admin'));
      const sb = await v1Pair(t, 'beta', 'admin', pw('beta', 'admin'));
      for (const s of [sa, sb]) {
        const u = await t.request({ method: 'POST', url: '/api/users/', headers: s.bearer, payload: { username: 'dave', password: 'dave-pass-phrase-1', email: 'dave@example.com' } });
        assert.equal(u.statusCode, 201, u.body);
        const u2 = await t.request({ method: 'POST', url: '/user/', headers: s.bearer, payload: { username: 'erin', profile: { team: 'x' } } });
        assert.equal(u2.statusCode, 201, u2.body);
        const g = await t.request({ method: 'POST', url: '/api/groups/', headers: s.bearer, payload: { name: 'reviewers' } });
        assert.equal(g.statusCode, 201, g.body);
        const c = await t.request({ method: 'POST', url: '/api/clients/', headers: s.bearer, payload: { name: 'Same name' } });
        assert.equal(c.statusCode, 201, c.body);
      }
      // ... but not twice in one tenant.
      assert.ok(assertError(await t.request({ method: 'POST', url: '/api/users/', headers: sa.bearer, payload: { username: 'dave', password: 'dave-pass-phrase-1' } }), 400, 'v1', 'dup user').username);
      assert.ok(assertError(await t.request({ method: 'POST', url: '/api/groups/', headers: sa.bearer, payload: { name: 'reviewers' } }), 400, 'v1', 'dup group').name);

      // Settings: alpha shortens its access tokens; beta keeps the default.
      const defaults = await t.request({ method: 'GET', url: '/api/configuration/', headers: sb.bearer });
      const lifetime = (body: any) => body.resources.find((s: any) => s.key === 'access_token_lifetime').value;
      const betaBefore = lifetime(defaults.json());
      assert.notEqual(betaBefore, '123');
      const set = await t.request({ method: 'POST', url: '/api/configuration/', headers: sa.bearer, payload: { key: 'access_token_lifetime', value: '123' } });
      assert.equal(set.statusCode, 201, set.body);
      assert.equal(lifetime((await t.request({ method: 'GET', url: '/api/configuration/', headers: sa.bearer })).json()), '123');
      assert.equal(lifetime((await t.request({ method: 'GET', url: '/api/configuration/', headers: sb.bearer })).json()), betaBefore);
      assert.equal((await v2Pair(t, 'alpha', 'carol', pw('alpha', 'carol'))).expires_in, 123);
      assert.equal((await v2Pair(t, 'beta', 'carol', pw('beta', 'carol'))).expires_in, Number(betaBefore));
      const jwtA = await v1Pair(t, 'alpha', 'carol', pw('alpha', 'carol'));
      const c = claims(jwtA.access);
      assert.equal(c.exp - c.iat, 123);

      // Clients: alpha's client id names no client in beta.
      const r = await t.request({ method: 'GET', url: '/api/users/', headers: { ...sb.bearer, 'x-client-id': a.clientId } });
      assertError(r, 401, 'v1', 'alpha client in beta');
      assert.equal((await t.request({ method: 'GET', url: '/api/users/', headers: { ...sa.bearer, 'x-client-id': a.clientId } })).statusCode, 200);
      const anon = await t.request({ method: 'POST', url: '/api/token', headers: { 'x-tenant': 'beta', 'x-client-id': a.clientId }, payload: { username: 'carol', password: pw('beta', 'carol') } });
      assertError(anon, 401, 'v1', 'sign-in to beta through alpha\'s client');
    });

    it('an unknown tenant gets a clear 4xx at sign-in in each dialect\'s shape', async () => {
      const h = inTenant('nowhere');
      const v1 = await t.request({ method: 'POST', url: '/api/token', headers: h, payload: { username: 'carol', password: 'whatever-1234' } });
      assert.match(assertError(v1, 400, 'v1', 'v1').detail, /nowhere/);
      const v2 = await v2Token(t, { username: 'carol', password: 'whatever-1234' }, h);
      const e = assertError(v2, 400, 'oauth', 'v2');
      assert.equal(e.error, 'invalid_request');
      assert.match(e.error_description, /nowhere/);
      const ra = await t.request({ method: 'POST', url: '/api/auth/login/', headers: h, payload: { username: 'carol', password: 'whatever-1234' } });
      assert.match(assertError(ra, 400, 'rest-auth', 'REST-auth').detail, /nowhere/);
      const reg = await t.request({ method: 'POST', url: '/api/auth/registration/', headers: h, payload: { username: 'zed', password1: 'zed-pass-phrase-1', password2: 'zed-pass-phrase-1' } });
      assertError(reg, 400, 'rest-auth', 'registration');
      // The AuthN API has no sign-in: without a credential it is 401, with one of another tenant too.
      assertError(await t.request({ method: 'GET', url: '/user_info/', headers: h }), 401, 'authn', 'AuthN anonymous');
      assertError(await t.request({ method: 'GET', url: '/user_info/', headers: { ...h, ...root.bearer } }), 401, 'authn', 'AuthN with a credential');
      assertError(await t.request({ method: 'GET', url: '/api/v2/users/me', headers: { ...h, ...root.bearer } }), 401, 'v2', 'v2 with a credential');
      // A header naming a tenant is never a way around authentication.
      assertError(await t.request({ method: 'GET', url: '/api/users/', headers: inTenant('alpha') }), 401, 'v1', 'no credential');
    });

    it('a disabled tenant refuses sign-in (4xx) and every existing credential (401); enabling it again lets its users sign in', async () => {
      const name = 'delta';
      const made = await makeTenant(name);
      const jwt = await v1Pair(t, name, 'carol', pw(name, 'carol'));
      const v2 = await v2Pair(t, name, 'carol', pw(name, 'carol'));
      const rest = await restAuthLogin(t, name, 'carol', pw(name, 'carol'));
      const alphaJwt = await v1Pair(t, 'alpha', 'carol', pw('alpha', 'carol'));

      const off = await t.request({ method: 'PATCH', url: `/api/tenants/${name}/`, headers: root.bearer, payload: { is_active: false } });
      assert.equal(off.statusCode, 200, off.body);
      assert.equal(off.json().is_active, false);

      for (const [credName, cred] of Object.entries({ jwt: jwt.bearer, v2: v2.bearer, key: rest.token, session: rest.session })) {
        for (const url of ['/api/users/', '/user_info/', '/api/v2/users/me', '/api/auth/user/', `/user/${made.carol.pk}/`]) {
          assertError(await t.request({ method: 'GET', url, headers: cred }), 401, dialectOf(url), `${credName} ${url} after disabling`);
          assertError(await t.request({ method: 'GET', url, headers: { ...cred, 'x-tenant': name } }), 401, dialectOf(url), `${credName} ${url} with X-Tenant after disabling`);
        }
      }
      assertError(await t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: jwt.refresh } }), 401, 'v1', 'v1 refresh');
      assert.equal(assertError(await v2Token(t, { grant_type: 'refresh_token', refresh_token: v2.refresh_token }), 400, 'oauth', 'v2 refresh').error, 'invalid_grant');
      const h = inTenant(name);
      assert.match(assertError(await t.request({ method: 'POST', url: '/api/token', headers: h, payload: { username: 'carol', password: pw(name, 'carol') } }), 400, 'v1', 'v1 sign-in').detail, /disabled/);
      const e = assertError(await v2Token(t, { username: 'carol', password: pw(name, 'carol') }, h), 400, 'oauth', 'v2 sign-in');
      assert.equal(e.error, 'invalid_request');
      assert.match(e.error_description, /disabled/);
      assert.match(assertError(await t.request({ method: 'POST', url: '/api/auth/login/', headers: h, payload: { username: 'carol', password: pw(name, 'carol') } }), 400, 'rest-auth', 'REST-auth sign-in').detail, /disabled/);
      // Other tenants go on.
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: alphaJwt.bearer })).statusCode, 200);

      const on = await t.request({ method: 'PATCH', url: `/api/tenants/${name}/`, headers: root.bearer, payload: { is_active: true } });
      assert.equal(on.statusCode, 200);
      const again = await v1Pair(t, name, 'carol', pw(name, 'carol'));
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: again.bearer })).json().id, made.carol.pk);
      // The default tenant cannot be disabled.
      assertError(await t.request({ method: 'PATCH', url: '/api/tenants/default/', headers: root.bearer, payload: { is_active: false } }), 400, 'v1', 'disable default');
    });

    it('renaming a tenant keeps its users under the new name; the old name is free and means nothing to old tokens', async () => {
      const made = await makeTenant('epsilon');
      const jwt = await v1Pair(t, 'epsilon', 'carol', pw('epsilon', 'carol'));
      const rest = await restAuthLogin(t, 'epsilon', 'carol', pw('epsilon', 'carol'));
      const r = await t.request({ method: 'PATCH', url: '/api/tenants/epsilon/', headers: root.bearer, payload: { name: 'zeta' } });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().name, 'zeta');
      assert.equal(r.json().display_name, 'EPSILON');
      assertError(await t.request({ method: 'GET', url: '/api/tenants/epsilon/', headers: root.bearer }), 404, 'v1', 'old name');
      // Sign-in under the new name, same users, same passwords.
      assert.match(assertError(await t.request({ method: 'POST', url: '/api/token', headers: inTenant('epsilon'), payload: { username: 'carol', password: pw('epsilon', 'carol') } }), 400, 'v1', 'old name sign-in').detail, /epsilon/);
      const fresh = await v1Pair(t, 'zeta', 'carol', pw('epsilon', 'carol'));
      assert.equal(claims(fresh.access).sub, made.carol.id);
      assert.equal(claims(fresh.access).tenant, 'zeta');
      const admin = await v1Pair(t, 'zeta', 'admin', pw('epsilon', 'admin'));
      const u = await t.request({ method: 'GET', url: `/api/users/${made.carol.id}/`, headers: admin.bearer });
      assert.equal(u.json().tenant_id, 'zeta');
      assert.equal((await t.request({ method: 'GET', url: `/api/groups/${made.groupId}/members/`, headers: admin.bearer })).json().count, 1);
      // The refresh token goes on, and the new access token names the new tenant.
      const refreshed = await t.request({ method: 'POST', url: '/api/token/refresh', payload: { refresh: jwt.refresh } });
      assert.equal(refreshed.statusCode, 200, refreshed.body);
      assert.equal(claims(refreshed.json().access).tenant, 'zeta');
      // Key and session have no name in them: they go on, under the new name.
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: { ...rest.token, 'x-tenant': 'zeta' } })).statusCode, 200);
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: { ...rest.session, 'x-tenant': 'zeta' } })).statusCode, 200);

      // A new tenant takes the old name: nothing of the renamed one works there.
      const again = await t.request({ method: 'POST', url: '/api/tenants/', headers: root.bearer, payload: { name: 'epsilon' } });
      assert.equal(again.statusCode, 201, again.body);
      for (const [credName, cred] of Object.entries({ 'old JWT': jwt.bearer, key: rest.token, session: rest.session, 'new JWT': fresh.bearer })) {
        assertError(await t.request({ method: 'GET', url: '/user_info/', headers: { ...cred, 'x-tenant': 'epsilon' } }), 401, 'authn', `${credName} in the new epsilon`);
      }
      // The old access token names "epsilon", now another tenant: refused.
      assertError(await t.request({ method: 'GET', url: '/user_info/', headers: jwt.bearer }), 401, 'authn', 'access token with the old name');
      assertError(await t.request({ method: 'POST', url: '/api/token', headers: inTenant('epsilon'), payload: { username: 'carol', password: pw('epsilon', 'carol') } }), 401, 'v1', 'sign-in in the new epsilon');
      // The default tenant cannot be renamed; a rename onto a taken name is refused.
      assertError(await t.request({ method: 'PATCH', url: '/api/tenants/default/', headers: root.bearer, payload: { name: 'other' } }), 400, 'v1', 'rename default');
      assertError(await t.request({ method: 'PATCH', url: '/api/tenants/zeta/', headers: root.bearer, payload: { name: 'alpha' } }), 400, 'v1', 'rename onto alpha');
    });

    it('deleting a tenant removes its users, groups, clients and sign-ins', async () => {
      const made = await makeTenant('doomed');
      const jwt = await v1Pair(t, 'doomed', 'carol', pw('doomed', 'carol'));
      const rest = await restAuthLogin(t, 'doomed', 'carol', pw('doomed', 'carol'));
      const tenant = (await t.core.tenants.findByName('doomed'))!;
      const count = async (table: 'users' | 'groups' | 'clients' | 'token_families' | 'sessions' | 'settings') =>
        Number((await t.store.db.selectFrom(table).select((eb) => eb.fn.countAll<number>().as('n')).where('tenant_pk', '=', tenant.pk).executeTakeFirstOrThrow()).n);
      assert.equal(await count('users'), 2);
      assert.ok((await count('token_families')) > 0);
      const staff = await v1Pair(t, 'alpha', 'admin', pw('alpha', 'admin'));
      assertError(await t.request({ method: 'DELETE', url: '/api/tenants/doomed/', headers: staff.bearer }), 403, 'v1', 'staff deletes');

      const del = await t.request({ method: 'DELETE', url: '/api/tenants/doomed/', headers: root.bearer });
      assert.equal(del.statusCode, 204, del.body);
      for (const table of ['users', 'groups', 'clients', 'token_families', 'sessions', 'settings'] as const) assert.equal(await count(table), 0, table);
      assert.equal(await t.store.read.users.findByPk(made.carol.pk), undefined);
      assertError(await t.request({ method: 'GET', url: '/api/tenants/doomed/', headers: root.bearer }), 404, 'v1', 'deleted tenant');
      assertError(await t.request({ method: 'GET', url: `/api/users/${made.carol.id}/`, headers: root.bearer }), 404, 'v1', 'deleted user');
      assertError(await t.request({ method: 'GET', url: '/user_info/', headers: jwt.bearer }), 401, 'authn', 'JWT of a deleted tenant');
      assertError(await t.request({ method: 'GET', url: '/user_info/', headers: rest.token }), 401, 'authn', 'key of a deleted tenant');
      assertError(await t.request({ method: 'GET', url: '/user_info/', headers: rest.session }), 401, 'authn', 'session of a deleted tenant');
      assertError(await t.request({ method: 'POST', url: '/api/token', headers: inTenant('doomed'), payload: { username: 'carol', password: pw('doomed', 'carol') } }), 400, 'v1', 'sign-in');
      // Others keep everything; the default tenant stays.
      assert.equal((await t.request({ method: 'GET', url: '/user_info/', headers: staff.bearer })).statusCode, 200);
      assertError(await t.request({ method: 'DELETE', url: '/api/tenants/default/', headers: root.bearer }), 400, 'v1', 'delete default');
    });
  });
}
