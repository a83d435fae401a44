// Threat: privilege escalation and confused-deputy writes. A signed-in user tries to act beyond
// its rights through any of the dialects: editing or deleting another user, a staff user
// making itself (or someone) superuser or touching a superuser, setting fields that are
// read-only (`id`, `pk`, `username` in v1, server-kept flags), reaching users, groups, clients
// and sign-ins of another tenant, and a third-party page riding a victim's session cookie
// (CSRF). Each attempt must be refused with the dialect's exact status and body, and must leave
// the target unchanged; the allowed counterpart of each (the control) succeeds.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import type { User } from '../../src/core/index.ts';
import { PASSWORD, startLive, v1Login, type Live, type Reply } from './support.ts';

const PERM = 'You do not have permission to perform this action.';
const CSRF = 'CSRF Failed: CSRF token missing or incorrect.';

const v1Denied = { status: 403, body: { detail: PERM } };
const authnDenied = { status: 403, body: { errors: [], message: PERM, status: 403 } };
const v2Denied = { status: 403, body: { detail: 'Not enough permissions' } };
const v1NotFound = { status: 404, body: { detail: 'Not found.' } };
const authnNotFound = { status: 404, body: { errors: [], message: 'Not found.', status: 404 } };
const v2NotFound = { status: 404, body: { detail: 'User not found' } };

function expect(r: Reply, want: { status: number; body: unknown }, what: string) {
  assert.equal(r.status, want.status, `${what}: ${r.text}`);
  assert.deepEqual(r.body, want.body, what);
}

for (const { engine, skip } of engines) {
  describe(`privilege escalation [${engine.name}]`, { skip }, () => {
    let live: Live;
    let root: User, staff: User, alice: User, bob: User, eve: User;
    const token = async (u: User, tenant?: string) => (await v1Login(live, u.username, PASSWORD, tenant ? { 'x-tenant': tenant } : {})).access;
    /** The stored row, to prove a refused write changed nothing. */
    const row = async (u: User) => {
      const r = (await live.t.store.read.users.findByPk(u.pk))!;
      return { username: r.username, first_name: r.firstName, email: r.email, staff: r.isStaff, superuser: r.isSuperuser, active: r.isActive, tenant: r.tenantPk, hash: r.passwordHash };
    };

    before(async () => {
      live = await startLive(engine);
      root = await live.t.createUser({ username: 'root', password: PASSWORD, isStaff: true, isSuperuser: true });
      staff = await live.t.createUser({ username: 'staff', password: PASSWORD, isStaff: true });
      alice = await live.t.createUser({ username: 'alice', password: PASSWORD, email: 'alice@example.com' });
      bob = await live.t.createUser({ username: 'bob', password: PASSWORD, email: 'bob@example.com' });
      await live.t.core.tenants.create('acme', 'Acme');
      eve = await live.t.createUser({ username: 'eve', password: PASSWORD, tenant: 'acme', isStaff: true });
    });
    after(async () => { await live?.close(); });

    it('a user cannot read, edit, re-password or delete another user, in any dialect', async () => {
      const t = await token(alice);
      const before = await row(bob);
      expect(await live.call('GET', `/api/users/${bob.id}/`, { bearer: t }), v1Denied, 'v1 GET');
      expect(await live.call('PATCH', `/api/users/${bob.id}/`, { bearer: t, json: { first_name: 'Owned' } }), v1Denied, 'v1 PATCH');
      expect(await live.call('PUT', `/api/users/${bob.id}/`, { bearer: t, json: { first_name: 'Owned', email: 'x@evil.test' } }), v1Denied, 'v1 PUT');
      expect(await live.call('DELETE', `/api/users/${bob.id}/`, { bearer: t }), v1Denied, 'v1 DELETE');
      expect(await live.call('GET', `/user/${bob.pk}/`, { bearer: t }), authnDenied, 'AuthN GET');
      expect(await live.call('PATCH', `/user/${bob.pk}/`, { bearer: t, json: { first_name: 'Owned' } }), authnDenied, 'AuthN PATCH');
      expect(await live.call('PATCH', `/user/${bob.pk}/`, { bearer: t, json: { password: 'taken-over-now-1' } }), authnDenied, 'AuthN password');
      expect(await live.call('PUT', `/user/${bob.pk}/`, { bearer: t, json: { username: 'bob', profile: { owned: true } } }), authnDenied, 'AuthN PUT');
      expect(await live.call('DELETE', `/user/${bob.pk}/`, { bearer: t }), authnDenied, 'AuthN DELETE');
      expect(await live.call('GET', `/api/v2/users/${bob.pk}`, { bearer: t }), v2Denied, 'v2 GET');
      expect(await live.call('PUT', `/api/v2/users/${bob.pk}`, { bearer: t, json: { username: 'bob', enabled: false, is_admin: false } }), v2Denied, 'v2 PUT');
      expect(await live.call('PUT', `/api/v2/users/${bob.pk}/password`, { bearer: t, json: { password: 'taken-over-now-1' } }), v2Denied, 'v2 password');
      assert.deepEqual(await row(bob), before);
      // Lists show a non-staff user only itself.
      const list = await live.call('GET', '/api/users/', { bearer: t });
      assert.deepEqual(list.body.resources.map((u: any) => u.username), ['alice']);
      const alist = await live.call('GET', '/user/', { bearer: t });
      assert.deepEqual(alist.body.results.map((u: any) => u.username), ['alice']);
      // Control: the same edit of oneself is allowed.
      const self = await live.call('PATCH', `/api/users/${alice.id}/`, { bearer: t, json: { first_name: 'Alice' } });
      assert.equal(self.status, 200, self.text);
    });

    it('a user cannot make itself staff or change its own active flag', async () => {
      const t = await token(alice);
      const before = await row(alice);
      expect(await live.call('PUT', `/api/v2/users/${alice.pk}`, { bearer: t, json: { username: 'alice', enabled: true, is_admin: true } }), v2Denied, 'v2 is_admin');
      expect(await live.call('PUT', `/api/v2/users/${alice.pk}`, { bearer: t, json: { username: 'alice', enabled: false, is_admin: false } }), v2Denied, 'v2 enabled');
      expect(await live.call('PATCH', `/user/${alice.pk}/`, { bearer: t, json: { is_active: false } }), authnDenied, 'AuthN is_active');
      assert.deepEqual(await row(alice), before);
      // Control: sending the current values is not a change, and is allowed.
      const same = await live.call('PUT', `/api/v2/users/${alice.pk}`, { bearer: t, json: { username: 'alice', enabled: true, is_admin: false } });
      assert.equal(same.status, 200, same.text);
    });

    it('non-staff users reach no administration endpoint', async () => {
      const t = await token(alice);
      expect(await live.call('POST', '/api/users/', { bearer: t, json: { username: 'sock', password: PASSWORD } }), v1Denied, 'create user');
      expect(await live.call('POST', '/user/', { bearer: t, json: { username: 'sock', profile: {} } }), authnDenied, 'AuthN create user');
      expect(await live.call('POST', '/api/groups/', { bearer: t, json: { name: 'admins' } }), v1Denied, 'create group');
      expect(await live.call('POST', '/api/configuration/', { bearer: t, json: { key: 'password_min_length', value: '8' } }), v1Denied, 'settings');
      expect(await live.call('POST', '/api/clients/', { bearer: t, json: { name: 'evil' } }), v1Denied, 'clients');
      expect(await live.call('GET', '/api/audit-events/', { bearer: t }), v1Denied, 'audit log');
      expect(await live.call('GET', '/api/tenants/', { bearer: await token(staff) }), v1Denied, 'tenants (staff)');
      expect(await live.call('POST', '/api/tenants/', { bearer: await token(staff), json: { name: 'mine' } }), v1Denied, 'create tenant (staff)');
    });

    it('staff cannot make itself or anyone superuser: no dialect takes the field', async () => {
      const t = await token(staff);
      const before = await row(staff);
      expect(await live.call('PATCH', `/api/users/${staff.id}/`, { bearer: t, json: { is_superuser: true } }), { status: 400, body: { is_superuser: ['Unknown field.'] } }, 'v1');
      expect(await live.call('PATCH', `/user/${staff.pk}/`, { bearer: t, json: { is_superuser: true } }),
        { status: 400, body: { errors: [{ field: 'is_superuser', message: 'Unknown field.' }], message: 'Validation failed.', status: 400 } }, 'AuthN');
      expect(await live.call('PATCH', `/user/${bob.pk}/`, { bearer: t, json: { is_staff: true } }),
        { status: 400, body: { errors: [{ field: 'is_staff', message: 'Unknown field.' }], message: 'Validation failed.', status: 400 } }, 'AuthN is_staff');
      expect(await live.call('PUT', `/api/v2/users/${staff.pk}`, { bearer: t, json: { username: 'staff', enabled: true, is_admin: true, is_superuser: true } }),
        { status: 422, body: { detail: [{ loc: ['body', 'is_superuser'], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }] } }, 'v2');
      expect(await live.call('POST', '/user/', { bearer: t, json: { username: 'minion', profile: {}, is_superuser: true } }),
        { status: 400, body: { errors: [{ field: 'is_superuser', message: 'Unknown field.' }], message: 'Validation failed.', status: 400 } }, 'AuthN create');
      expect(await live.call('POST', '/api/users/', { bearer: t, json: { username: 'minion', password: PASSWORD, is_superuser: true } }),
        { status: 400, body: { is_superuser: ['Unknown field.'] } }, 'v1 create');
      assert.deepEqual(await row(staff), before);
      assert.equal(await live.t.store.read.users.findByUsername(staff.tenantPk, 'minion'), undefined);
      // Control: v2's is_admin is the staff flag, which staff may grant within its tenant.
      const grant = await live.call('PUT', `/api/v2/users/${bob.pk}`, { bearer: t, json: { username: 'bob', enabled: true, is_admin: true } });
      assert.equal(grant.status, 200, grant.text);
      assert.equal((await row(bob)).superuser, false);
      const undo = await live.call('PUT', `/api/v2/users/${bob.pk}`, { bearer: t, json: { username: 'bob', enabled: true, is_admin: false } });
      assert.equal(undo.status, 200, undo.text);
    });

    it('staff cannot touch a superuser: edit, disable, demote, re-password or delete', async () => {
      const t = await token(staff);
      const before = await row(root);
      expect(await live.call('PATCH', `/api/users/${root.id}/`, { bearer: t, json: { email: 'owned@evil.test' } }), v1Denied, 'v1 PATCH');
      expect(await live.call('DELETE', `/api/users/${root.id}/`, { bearer: t }), v1Denied, 'v1 DELETE');
      expect(await live.call('PATCH', `/user/${root.pk}/`, { bearer: t, json: { is_active: false } }), authnDenied, 'AuthN disable');
      expect(await live.call('PATCH', `/user/${root.pk}/`, { bearer: t, json: { password: 'taken-over-now-1' } }), authnDenied, 'AuthN password');
      expect(await live.call('DELETE', `/user/${root.pk}/`, { bearer: t }), authnDenied, 'AuthN DELETE');
      expect(await live.call('PUT', `/api/v2/users/${root.pk}`, { bearer: t, json: { username: 'root', enabled: true, is_admin: false } }), v2Denied, 'v2 demote');
      expect(await live.call('PUT', `/api/v2/users/${root.pk}/password`, { bearer: t, json: { password: 'taken-over-now-1' } }), v2Denied, 'v2 password');
      assert.deepEqual(await row(root), before);
      await token(root); // the superuser still signs in with its password
    });

    it('staff cannot move a user (or itself) into another tenant', async () => {
      const t = await token(staff);
      const before = [await row(bob), await row(staff)];
      expect(await live.call('PATCH', `/api/users/${bob.id}/`, { bearer: t, json: { tenant_id: 'acme' } }), v1Denied, 'move bob');
      expect(await live.call('PATCH', `/api/users/${staff.id}/`, { bearer: t, json: { tenant_id: 'acme' } }), v1Denied, 'move self');
      expect(await live.call('POST', '/api/users/', { bearer: t, json: { username: 'plant', password: PASSWORD, tenant_id: 'acme' } }), v1Denied, 'create in acme');
      expect(await live.call('POST', '/api/users/', { bearer: t, json: { username: 'plant', password: PASSWORD, tenant_id: 'no-such-tenant' } }), v1Denied, 'create in unknown tenant');
      assert.deepEqual([await row(bob), await row(staff)], before);
    });

    it('read-only fields: v1 id and username are refused unless unchanged; other dialects reject unknown fields', async () => {
      const t = await token(alice);
      const before = await row(alice);
      expect(await live.call('PATCH', `/api/users/${alice.id}/`, { bearer: t, json: { id: bob.id } }), { status: 400, body: { id: ['This field is read-only.'] } }, 'v1 id');
      expect(await live.call('PATCH', `/api/users/${alice.id}/`, { bearer: t, json: { username: 'admin' } }), { status: 400, body: { username: ['This field is read-only.'] } }, 'v1 username');
      expect(await live.call('PUT', `/api/users/${alice.id}/`, { bearer: t, json: { id: bob.id, username: 'bob', first_name: 'X' } }),
        { status: 400, body: { id: ['This field is read-only.'], username: ['This field is read-only.'] } }, 'v1 both');
      for (const field of ['id', 'pk', 'is_email_verified', 'last_login', 'token', 'full_name', 'has_emm', 'is_staff']) {
        expect(await live.call('PATCH', `/user/${alice.pk}/`, { bearer: t, json: { [field]: field === 'id' || field === 'pk' ? bob.pk : true } }),
          { status: 400, body: { errors: [{ field, message: 'Unknown field.' }], message: 'Validation failed.', status: 400 } }, `AuthN ${field}`);
      }
      for (const field of ['id', 'created_at', 'updated_at']) {
        expect(await live.call('PUT', `/api/v2/users/${alice.pk}`, { bearer: t, json: { username: 'alice', enabled: true, is_admin: false, [field]: 1 } }),
          { status: 422, body: { detail: [{ loc: ['body', field], msg: 'Extra inputs are not permitted', type: 'extra_forbidden' }] } }, `v2 ${field}`);
      }
      assert.deepEqual(await row(alice), before);
      // Control: equal values are accepted, as documented.
      const same = await live.call('PATCH', `/api/users/${alice.id}/`, { bearer: t, json: { id: alice.id.toUpperCase(), username: 'alice', first_name: 'Al' } });
      assert.equal(same.status, 200, same.text);
      assert.equal(same.body.id, alice.id);
    });

    it('read-only group id: refused on create and when it names another group', async () => {
      const t = await token(staff);
      const g = await live.call('POST', '/api/groups/', { bearer: t, json: { name: 'ops' } });
      assert.equal(g.status, 201, g.text);
      const other = await live.call('POST', '/api/groups/', { bearer: t, json: { name: 'dev' } });
      expect(await live.call('POST', '/api/groups/', { bearer: t, json: { id: g.body.id, name: 'dup' } }), { status: 400, body: { id: ['This field is read-only.'] } }, 'create with id');
      expect(await live.call('PUT', `/api/groups/${g.body.id}/`, { bearer: t, json: { id: other.body.id, name: 'ops2' } }), { status: 400, body: { id: ['This field is read-only.'] } }, 'rename with id');
      const after = await live.call('GET', `/api/groups/${g.body.id}/`, { bearer: t });
      assert.deepEqual(after.body, { id: g.body.id, name: 'ops' });
    });

    it('another tenant\'s users, groups, clients and sign-ins are not found, in every dialect, for reads and writes', async () => {
      const staffToken = await token(staff);
      const group = await live.call('POST', '/api/groups/', { bearer: staffToken, json: { name: 'default-only' } });
      const client = await live.call('POST', '/api/clients/', { bearer: staffToken, json: { name: 'default-app' } });
      assert.equal(client.status, 201, client.text);
      const aliceToken = await token(alice);
      const aliceSignIns = await live.call('GET', '/api/sign-ins/', { bearer: aliceToken });
      const aliceSignIn = aliceSignIns.body.resources[0].id as string;
      const before = await row(alice);

      const t = await token(eve, 'acme'); // staff of acme
      expect(await live.call('GET', `/api/users/${alice.id}/`, { bearer: t }), v1NotFound, 'v1 GET');
      expect(await live.call('PATCH', `/api/users/${alice.id}/`, { bearer: t, json: { first_name: 'Owned' } }), v1NotFound, 'v1 PATCH');
      expect(await live.call('PUT', `/api/users/${alice.id}/`, { bearer: t, json: { first_name: 'Owned' } }), v1NotFound, 'v1 PUT');
      expect(await live.call('DELETE', `/api/users/${alice.id}/`, { bearer: t }), v1NotFound, 'v1 DELETE');
      expect(await live.call('GET', '/api/users/?tenant_id=default', { bearer: t }), v1NotFound, 'v1 list other tenant');
      expect(await live.call('GET', `/api/groups/${group.body.id}/`, { bearer: t }), v1NotFound, 'group GET');
      expect(await live.call('PUT', `/api/groups/${group.body.id}/`, { bearer: t, json: { name: 'owned' } }), v1NotFound, 'group PUT');
      expect(await live.call('DELETE', `/api/groups/${group.body.id}/`, { bearer: t }), v1NotFound, 'group DELETE');
      expect(await live.call('GET', `/api/groups/${group.body.id}/members/`, { bearer: t }), v1NotFound, 'members GET');
      expect(await live.call('POST', `/api/groups/${group.body.id}/members/`, { bearer: t, json: { username: 'eve' } }), v1NotFound, 'members POST');
      expect(await live.call('GET', `/api/clients/${client.body.client_id}/`, { bearer: t }), v1NotFound, 'client GET');
      expect(await live.call('PATCH', `/api/clients/${client.body.client_id}/`, { bearer: t, json: { name: 'owned' } }), v1NotFound, 'client PATCH');
      expect(await live.call('DELETE', `/api/clients/${client.body.client_id}/`, { bearer: t }), v1NotFound, 'client DELETE');
      expect(await live.call('DELETE', `/api/sign-ins/${aliceSignIn}/`, { bearer: t }), v1NotFound, 'sign-in DELETE');
      expect(await live.call('GET', `/user/${alice.pk}/`, { bearer: t }), authnNotFound, 'AuthN GET');
      expect(await live.call('PATCH', `/user/${alice.pk}/`, { bearer: t, json: { first_name: 'Owned' } }), authnNotFound, 'AuthN PATCH');
      expect(await live.call('PUT', `/user/${alice.pk}/`, { bearer: t, json: { username: 'alice', profile: {} } }), authnNotFound, 'AuthN PUT');
      expect(await live.call('DELETE', `/user/${alice.pk}/`, { bearer: t }), authnNotFound, 'AuthN DELETE');
      expect(await live.call('GET', `/api/v2/users/${alice.pk}`, { bearer: t }), v2NotFound, 'v2 GET');
      expect(await live.call('PUT', `/api/v2/users/${alice.pk}`, { bearer: t, json: { username: 'alice', enabled: false, is_admin: true } }), v2NotFound, 'v2 PUT');
      expect(await live.call('PUT', `/api/v2/users/${alice.pk}/password`, { bearer: t, json: { password: 'taken-over-now-1' } }), v2NotFound, 'v2 password');
      // The audit log and the lists of acme show nothing of the default tenant.
      const audit = await live.call('GET', `/api/audit-events/?user_id=${alice.id}`, { bearer: t });
      assert.equal(audit.status, 200);
      assert.equal(audit.body.count, 0);
      const users = await live.call('GET', '/user/', { bearer: t });
      assert.deepEqual(users.body.results.map((u: any) => u.username), ['eve']);
      // Naming the default tenant with an acme credential is refused outright.
      const asked = await live.call('PATCH', `/user/${alice.pk}/`, { bearer: t, headers: { 'x-tenant': 'default' }, json: { first_name: 'Owned' } });
      expect(asked, { status: 401, body: { errors: [], message: 'This credential does not belong to the requested tenant.', status: 401 } }, 'X-Tenant');

      assert.deepEqual(await row(alice), before);
      const still = await live.call('GET', `/api/groups/${group.body.id}/`, { bearer: staffToken });
      assert.deepEqual(still.body, { id: group.body.id, name: 'default-only' });
      const stillClient = await live.call('GET', `/api/clients/${client.body.client_id}/`, { bearer: staffToken });
      assert.equal(stillClient.body.name, 'default-app');
      assert.equal((await live.call('GET', `/api/users/${alice.id}/`, { bearer: aliceToken })).status, 200);
    });

    describe('REST-auth: the caller\'s own account only', () => {
      const tokenOf = async (u: User) => {
        const r = await live.call('POST', '/api/auth/login/', { json: { username: u.username, password: PASSWORD } });
        assert.equal(r.status, 200, r.text);
        return { authorization: `Token ${r.body.key}` };
      };

      it('read-only pk and email are refused unless unchanged; username stays NFKC-unique', async () => {
        const h = await tokenOf(alice);
        const before = await row(alice);
        expect(await live.call('PATCH', '/api/auth/user/', { headers: h, json: { pk: bob.pk } }), { status: 400, body: { pk: ['This field is read-only.'] } }, 'pk');
        expect(await live.call('PATCH', '/api/auth/user/', { headers: h, json: { email: 'owned@evil.test' } }),
          { status: 400, body: { email: ['This field is read-only: change addresses through /api/auth/emails/.'] } }, 'email');
        expect(await live.call('PUT', '/api/auth/user/', { headers: h, json: { username: 'ｂｏｂ' } }), { status: 400, body: { username: ['A user with that username already exists.'] } }, 'look-alike rename');
        for (const field of ['is_staff', 'is_superuser', 'is_active', 'id', 'tenant_id']) {
          expect(await live.call('PATCH', '/api/auth/user/', { headers: h, json: { [field]: true } }), { status: 400, body: { [field]: ['Unknown field.'] } }, field);
        }
        assert.deepEqual(await row(alice), before);
        const same = await live.call('PATCH', '/api/auth/user/', { headers: h, json: { pk: alice.pk, email: alice.email, first_name: 'Alice' } });
        assert.equal(same.status, 200, same.text);
      });

      it('another user\'s e-mail addresses and social accounts are not found; an address is added only to oneself, unverified', async () => {
        const ah = await tokenOf(alice);
        const bh = await tokenOf(bob);
        const bobs = await live.call('GET', '/api/auth/emails/', { headers: bh });
        assert.equal(bobs.status, 200, bobs.text);
        const bobAddress = bobs.body.results[0].id as number;
        for (const action of ['verify', 'primary', 'remove']) {
          expect(await live.call('POST', `/api/auth/emails/${bobAddress}/${action}/`, { headers: ah }), v1NotFound, `${action} bob's address`);
        }
        const social = await live.t.core.socialAccounts.link((await live.t.store.read.users.findByPk(bob.pk))!, 'github', `bob-${engine.name}`);
        expect(await live.call('POST', `/api/auth/social/${social.id}/disconnect/`, { headers: ah, json: {} }), v1NotFound, 'disconnect bob\'s social account');
        const listed = await live.call('GET', '/api/auth/social/', { headers: ah });
        assert.equal(listed.body.count, 0);
        expect(await live.call('POST', '/api/auth/emails/', { headers: ah, json: { email: 'extra@example.com', user: bob.pk } }), { status: 400, body: { user: ['You can only add addresses to your own account.'] } }, 'user');
        expect(await live.call('POST', '/api/auth/emails/', { headers: ah, json: { email: 'extra@example.com', verified: true } }), { status: 400, body: { verified: ['An address is verified by following the link in its message.'] } }, 'verified');
        expect(await live.call('POST', '/api/auth/emails/', { headers: ah, json: { email: 'extra@example.com', primary: true } }), { status: 400, body: { primary: ['Only a verified e-mail address can be primary.'] } }, 'primary');
        const after = await live.call('GET', '/api/auth/emails/', { headers: bh });
        assert.deepEqual(after.body.results, bobs.body.results);
        assert.equal((await live.call('GET', '/api/auth/social/', { headers: bh })).body.count, 1);
      });

      it('another tenant\'s token key opens nothing here (401), and its e-mail ids are not found', async () => {
        const eveLogin = await live.call('POST', '/api/auth/login/', { json: { username: 'eve', password: PASSWORD }, headers: { 'x-tenant': 'acme' } });
        const eh = { authorization: `Token ${eveLogin.body.key}` };
        const bobs = await live.call('GET', '/api/auth/emails/', { headers: await tokenOf(bob) });
        expect(await live.call('POST', `/api/auth/emails/${bobs.body.results[0].id}/remove/`, { headers: eh }), v1NotFound, 'cross-tenant address');
        expect(await live.call('PATCH', '/api/auth/user/', { headers: { ...eh, 'x-tenant': 'default' }, json: { first_name: 'Owned' } }),
          { status: 401, body: { detail: 'This credential does not belong to the requested tenant.' } }, 'X-Tenant');
      });
    });

    describe('CSRF on cookie-authenticated writes', () => {
      // [dialect, method, path, body, refusal]
      const writes = (u: User): Array<[string, string, string, unknown, { status: number; body: unknown }]> => [
        ['v1', 'PATCH', `/api/users/${u.id}/`, { first_name: 'Forged' }, { status: 403, body: { detail: CSRF } }],
        ['AuthN', 'PATCH', `/user/${u.pk}/`, { first_name: 'Forged' }, { status: 403, body: { errors: [], message: CSRF, status: 403 } }],
        ['oauth2-v2', 'PUT', `/api/v2/users/${u.pk}`, { username: u.username, enabled: true, is_admin: false, avatar: 'https://evil.test/a.png' }, { status: 403, body: { detail: CSRF } }],
        ['v1 change password', 'POST', '/api/auth/change-password', { current_password: PASSWORD, new_password: 'forged-password-1' }, { status: 403, body: { detail: CSRF } }],
        ['v1 logout', 'POST', '/api/token/logout', {}, { status: 403, body: { detail: CSRF } }],
      ];

      it('an unsafe request with the session cookie and no, a wrong, or another session\'s X-CSRFToken is refused and changes nothing', async () => {
        const mine = await live.t.core.sessions.create(alice);
        const theirs = await live.t.core.sessions.create(bob);
        const cookie = `sessionid=${mine.cookie}`;
        const before = await row(alice);
        for (const [what, method, path, json, refusal] of writes(alice)) {
          for (const [label, headers] of [
            ['no token', {}],
            ['wrong token', { 'x-csrftoken': 'guessed' }],
            ['empty token', { 'x-csrftoken': '' }],
            ['another session\'s token', { 'x-csrftoken': theirs.csrfToken }],
            ['the cookie as token', { 'x-csrftoken': mine.cookie }],
          ] as Array<[string, Record<string, string>]>) {
            expect(await live.call(method, path, { cookie, headers, json }), refusal, `${what}, ${label}`);
          }
        }
        assert.deepEqual(await row(alice), before);
        // The session survived the refused logout; safe methods need no token.
        const read = await live.call('GET', `/api/users/${alice.id}/`, { cookie });
        assert.equal(read.status, 200, read.text);
      });

      it('with the session\'s own X-CSRFToken the same writes succeed', async () => {
        const s = await live.t.core.sessions.create(alice);
        const opts = { cookie: `sessionid=${s.cookie}`, headers: { 'x-csrftoken': s.csrfToken } };
        const [v1, authn, v2] = writes(alice);
        for (const [what, method, path, json] of [v1!, authn!, v2!]) {
          const r = await live.call(method, path, { ...opts, json });
          assert.equal(r.status, 200, `${what}: ${r.text}`);
        }
        assert.equal((await row(alice)).first_name, 'Forged');
        const out = await live.call('POST', '/api/token/logout', { ...opts, json: {} });
        assert.equal(out.status, 200, out.text);
        const after = await live.call('GET', `/api/users/${alice.id}/`, { cookie: opts.cookie });
        expect(after, { status: 401, body: { detail: 'Session expired or invalid. Sign in again.' } }, 'after logout');
      });

      it('a Bearer token needs no CSRF token (it is not sent by browsers on their own), and a bad one is not rescued by a cookie', async () => {
        const s = await live.t.core.sessions.create(alice);
        const t = await token(alice);
        const r = await live.call('PATCH', `/api/users/${alice.id}/`, { bearer: t, json: { first_name: 'Bearer' } });
        assert.equal(r.status, 200, r.text);
        const bad = await live.call('PATCH', `/api/users/${alice.id}/`, { bearer: 'garbage', cookie: `sessionid=${s.cookie}`, headers: { 'x-csrftoken': s.csrfToken }, json: { first_name: 'Cookie' } });
        expect(bad, { status: 401, body: { detail: 'Given token not valid for any token type', code: 'token_not_valid' } }, 'bad bearer + cookie');
      });
    });
  });
}
