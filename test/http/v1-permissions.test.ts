// Who may do what in the v1 API: 401 without credentials; a plain user sees and edits only
// itself (403 on others of its tenant, on groups and configuration); staff manage their own
// tenant but not a superuser; only a superuser places users in another tenant; users of another
// tenant do not exist for a tenant's staff (404).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startV1, assertDetail, assertFieldErrors, assertUserJson, countRows, PASSWORD, type V1App, type Signed } from './v1-support.ts';
import { OPERATOR } from '../../src/core/index.ts';

const FORBIDDEN = 'You do not have permission to perform this action.';
const NO_CREDENTIALS = 'Authentication credentials were not provided.';

for (const { engine, skip } of engines) {
  describe(`v1 permissions [${engine.name}]`, { skip }, () => {
    let t: V1App;
    let groupId: string;
    /** Staff and a user of a second tenant, signed in there. */
    let otherStaff: Signed;
    let otherUser: { id: string };

    before(async () => {
      t = await startV1(engine);
      groupId = (await t.core.groups.create((await t.core.credentials.accessToken(t.staff.access)), 'crew')).id;
      await t.core.tenants.create('globex', 'Globex');
      const staffUser = await t.core.users.create(OPERATOR, { username: 'gstaff', password: PASSWORD, tenant: 'globex', isStaff: true });
      const other = await t.core.users.create(OPERATOR, { username: 'gjoe', password: PASSWORD, tenant: 'globex' });
      otherUser = { id: other.id };
      const r = await t.request({ method: 'POST', url: '/api/token', headers: { 'x-tenant': 'globex' }, payload: { username: 'gstaff', password: PASSWORD } });
      assert.equal(r.statusCode, 200, r.body);
      const { access, refresh } = r.json();
      otherStaff = { user: staffUser, access, refresh, headers: { authorization: `Bearer ${access}` } };
    });
    after(async () => { await t?.close(); });

    it('every protected endpoint is 401 without credentials, and writes nothing', async () => {
      const users = await countRows(t, 'users');
      const id = t.joe.user.id;
      const calls: Array<[string, string, object?]> = [
        ['GET', '/api/users/'], ['POST', '/api/users/', { username: 'anon', password: PASSWORD }],
        ['GET', `/api/users/${id}/`], ['PUT', `/api/users/${id}/`, { first_name: 'x' }], ['PATCH', `/api/users/${id}/`, { first_name: 'x' }],
        ['DELETE', `/api/users/${id}/`],
        ['GET', '/api/groups/'], ['POST', '/api/groups/', { name: 'anon' }], ['GET', `/api/groups/${groupId}/`],
        ['PUT', `/api/groups/${groupId}/`, { name: 'anon' }], ['PATCH', `/api/groups/${groupId}/`, { name: 'anon' }], ['DELETE', `/api/groups/${groupId}/`],
        ['GET', `/api/groups/${groupId}/members/`], ['POST', `/api/groups/${groupId}/members/`, { id }],
        ['DELETE', `/api/groups/${groupId}/members/${id}/`],
        ['GET', '/api/configuration/'], ['POST', '/api/configuration/', { key: 'password_min_length', value: '20' }],
        ['POST', '/api/auth/change-password', { current_password: PASSWORD, new_password: 'whatever-else' }],
        ['POST', '/api/token/logout'],
      ];
      for (const [method, url, payload] of calls) {
        const r = await t.request({ method: method as any, url, payload });
        assertDetail(r, 401, NO_CREDENTIALS);
      }
      assert.equal(await countRows(t, 'users'), users);
      assert.equal((await t.core.groups.get(await t.core.credentials.accessToken(t.staff.access), groupId)).name, 'crew');
      assert.equal((await t.store.read.users.findById(id))!.firstName, '');
    });

    it('a plain user lists only itself, and may read and edit itself', async () => {
      const list = await t.request({ method: 'GET', url: '/api/users/', headers: t.joe.headers });
      assert.equal(list.statusCode, 200);
      assert.equal(list.json().count, 1);
      assert.deepEqual(list.json().resources.map((u: any) => u.id), [t.joe.user.id]);
      const me = await t.request({ method: 'GET', url: `/api/users/${t.joe.user.id}/`, headers: t.joe.headers });
      assert.equal(me.statusCode, 200);
      assertUserJson(me.json(), { username: 'joe' });
      const patched = await t.request({ method: 'PATCH', url: `/api/users/${t.joe.user.id}/`, headers: t.joe.headers, payload: { first_name: 'Joe' } });
      assert.equal(patched.statusCode, 200);
      assert.equal(patched.json().first_name, 'Joe');
    });

    it('a plain user gets 403 on another user of its tenant, and on creating or deleting users', async () => {
      const staffId = t.staff.user.id;
      for (const [method, payload] of [['GET'], ['PUT', { first_name: 'x' }], ['PATCH', { first_name: 'x' }], ['DELETE']] as const) {
        const r = await t.request({ method, url: `/api/users/${staffId}/`, headers: t.joe.headers, payload });
        assertDetail(r, 403, FORBIDDEN);
      }
      assert.equal((await t.store.read.users.findById(staffId))!.firstName, '', 'nothing changed');
      const users = await countRows(t, 'users');
      assertDetail(await t.request({ method: 'POST', url: '/api/users/', headers: t.joe.headers, payload: { username: 'by-joe', password: PASSWORD } }), 403, FORBIDDEN);
      // Deleting oneself is an administrator's act too.
      assertDetail(await t.request({ method: 'DELETE', url: `/api/users/${t.joe.user.id}/`, headers: t.joe.headers }), 403, FORBIDDEN);
      assert.equal(await countRows(t, 'users'), users);
    });

    it('a plain user gets 403 on groups and configuration, and changes nothing', async () => {
      const h = t.joe.headers;
      const calls: Array<[string, string, object?]> = [
        ['GET', '/api/groups/'], ['POST', '/api/groups/', { name: 'joes' }], ['GET', `/api/groups/${groupId}/`],
        ['PUT', `/api/groups/${groupId}/`, { name: 'joes' }], ['PATCH', `/api/groups/${groupId}/`, { name: 'joes' }], ['DELETE', `/api/groups/${groupId}/`],
        ['GET', `/api/groups/${groupId}/members/`], ['POST', `/api/groups/${groupId}/members/`, { id: t.joe.user.id }],
        ['GET', '/api/configuration/'], ['POST', '/api/configuration/', { key: 'password_min_length', value: '20' }],
      ];
      for (const [method, url, payload] of calls) {
        assertDetail(await t.request({ method: method as any, url, payload, headers: h }), 403, FORBIDDEN);
      }
      assert.equal(await countRows(t, 'group_members'), 0);
      assert.equal(await countRows(t, 'settings'), 0);
      assert.equal((await t.store.read.groups.findById(groupId))!.name, 'crew');
    });

    it('a plain user cannot make itself staff or move itself to another tenant', async () => {
      // is_staff is not a field of the v1 User: an unknown field is refused.
      assertFieldErrors(await t.request({ method: 'PATCH', url: `/api/users/${t.joe.user.id}/`, headers: t.joe.headers, payload: { is_staff: true } }), ['is_staff']);
      assertDetail(await t.request({ method: 'PATCH', url: `/api/users/${t.joe.user.id}/`, headers: t.joe.headers, payload: { tenant_id: 'globex' } }), 403, FORBIDDEN);
      const joe = (await t.store.read.users.findById(t.joe.user.id))!;
      assert.equal(joe.isStaff, false);
      assert.equal(joe.tenantName, 'default');
    });

    it('staff manage users of their tenant', async () => {
      const h = t.staff.headers;
      const list = await t.request({ method: 'GET', url: '/api/users/', headers: h });
      assert.equal(list.json().count, await t.store.read.users.list((await t.core.tenants.resolve(undefined)).pk, { offset: 0, limit: 1 }).then((p) => p.count));
      assert.ok(list.json().resources.every((u: any) => u.tenant_id === 'default'), 'only their tenant');
      const created = await t.request({ method: 'POST', url: '/api/users/', headers: h, payload: { username: 'hired', password: PASSWORD } });
      assert.equal(created.statusCode, 201);
      const id = created.json().id;
      assert.equal((await t.request({ method: 'PATCH', url: `/api/users/${id}/`, headers: h, payload: { email: 'h@example.com' } })).statusCode, 200);
      // Naming its own tenant is fine.
      assert.equal((await t.request({ method: 'PATCH', url: `/api/users/${id}/`, headers: h, payload: { tenant_id: 'default' } })).statusCode, 200);
      assert.equal((await t.request({ method: 'DELETE', url: `/api/users/${id}/`, headers: h })).statusCode, 204);
    });

    it('staff cannot read, edit or delete a superuser', async () => {
      const id = t.root.user.id;
      for (const [method, payload] of [['GET'], ['PUT', { first_name: 'x' }], ['PATCH', { first_name: 'x' }], ['DELETE']] as const) {
        assertDetail(await t.request({ method, url: `/api/users/${id}/`, headers: t.staff.headers, payload }), 403, FORBIDDEN);
      }
      const root = (await t.store.read.users.findById(id))!;
      assert.equal(root.firstName, '');
      assert.equal(root.isSuperuser, true);
    });

    it('only a superuser may set tenant_id to another tenant', async () => {
      const users = await countRows(t, 'users');
      assertDetail(await t.request({ method: 'POST', url: '/api/users/', headers: t.staff.headers, payload: { username: 'abroad', password: PASSWORD, tenant_id: 'globex' } }), 403, FORBIDDEN);
      assert.equal(await countRows(t, 'users'), users);
      const target = await t.createUser({ username: 'mover', password: PASSWORD });
      assertDetail(await t.request({ method: 'PATCH', url: `/api/users/${target.id}/`, headers: t.staff.headers, payload: { tenant_id: 'globex' } }), 403, FORBIDDEN);
      assert.equal((await t.store.read.users.findById(target.id))!.tenantName, 'default');

      const created = await t.request({ method: 'POST', url: '/api/users/', headers: t.root.headers, payload: { username: 'abroad', password: PASSWORD, tenant_id: 'globex' } });
      assert.equal(created.statusCode, 201, created.body);
      assertUserJson(created.json(), { username: 'abroad', tenant_id: 'globex' });
      const moved = await t.request({ method: 'PATCH', url: `/api/users/${target.id}/`, headers: t.root.headers, payload: { tenant_id: 'globex' } });
      assert.equal(moved.statusCode, 200, moved.body);
      assert.equal(moved.json().tenant_id, 'globex');
      assert.equal((await t.store.read.users.findById(target.id))!.tenantName, 'globex');
      // An unknown tenant is a 400 on tenant_id, even for a superuser.
      assertFieldErrors(await t.request({ method: 'POST', url: '/api/users/', headers: t.root.headers, payload: { username: 'nowhere', password: PASSWORD, tenant_id: 'no-such-tenant' } }), ['tenant_id']);
    });

    it('a user of another tenant is 404 to staff of the first, and the other way round', async () => {
      for (const [method, payload] of [['GET'], ['PUT', { first_name: 'x' }], ['PATCH', { first_name: 'x' }], ['DELETE']] as const) {
        assertDetail(await t.request({ method, url: `/api/users/${otherUser.id}/`, headers: t.staff.headers, payload }), 404, 'Not found.');
        assertDetail(await t.request({ method, url: `/api/users/${t.joe.user.id}/`, headers: otherStaff.headers, payload }), 404, 'Not found.');
      }
      assert.ok(await t.store.read.users.findById(otherUser.id));
      assert.equal((await t.store.read.users.findById(otherUser.id))!.firstName, '');
      // Their lists hold only their own tenant.
      const theirs = await t.request({ method: 'GET', url: '/api/users/', headers: otherStaff.headers });
      assert.ok(theirs.json().resources.length > 0);
      assert.ok(theirs.json().resources.every((u: any) => u.tenant_id === 'globex'));
      // Groups of another tenant are not there either, and other tenants' users cannot join ours.
      assertDetail(await t.request({ method: 'GET', url: `/api/groups/${groupId}/`, headers: otherStaff.headers }), 404);
      assertFieldErrors(await t.request({ method: 'POST', url: `/api/groups/${groupId}/members/`, headers: t.staff.headers, payload: { id: otherUser.id } }), ['id']);
      assert.equal(await countRows(t, 'group_members'), 0);
    });

    it('a superuser manages users of every tenant', async () => {
      const r = await t.request({ method: 'PATCH', url: `/api/users/${otherUser.id}/`, headers: t.root.headers, payload: { last_name: 'Globex' } });
      assert.equal(r.statusCode, 200, r.body);
      assert.equal(r.json().tenant_id, 'globex');
      const list = await t.request({ method: 'GET', url: '/api/users/?tenant_id=globex', headers: t.root.headers });
      assert.equal(list.statusCode, 200);
      assert.ok(list.json().resources.some((u: any) => u.id === otherUser.id));
    });
  });
}
