// Threat: privilege by omission. A use case that "nobody signed in" may run (registration) must
// not get the operator's authority by accident, and a visitor of one tenant must not create
// accounts in another, or staff, superusers or disabled placeholders anywhere. Who acts is
// always named: a signed-in Principal, the operator (command line, bootstrap) or self-service.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { OPERATOR, selfService } from '../../src/core/index.ts';
import { startCore, rejectsWith, type CoreFixture } from './support.ts';

const PW = 'a-long-passphrase-9';

for (const { engine, skip } of engines) {
  describe(`who acts: operator, self-service, principal [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    before(async () => {
      f = await startCore(engine);
      await f.core.tenants.adminCreate(OPERATOR, 'acme', 'Acme');
      await f.user('staffer', { isStaff: true });
    });
    after(async () => { await f?.close(); });

    it('self-service creates an ordinary account of the tenant it visits', async () => {
      const acme = await f.core.tenants.resolve('acme');
      const u = await f.core.users.create(selfService(acme), { username: 'visitor', password: PW, tenant: 'acme' });
      assert.equal(u.tenantName, 'acme');
      assert.equal(u.isStaff, false);
      assert.equal(u.isSuperuser, false);
    });

    for (const [what, extra] of [['staff', { isStaff: true }], ['a superuser', { isSuperuser: true }], ['a disabled account', { isActive: false }]] as const) {
      it(`self-service can never create ${what}`, async () => {
        const acme = await f.core.tenants.resolve('acme');
        await rejectsWith(f.core.users.create(selfService(acme), { username: `x-${what.length}`, password: PW, ...extra }), 'PERMISSION_DENIED');
        assert.equal(await f.store.read.users.findByUsername(acme.pk, `x-${what.length}`), undefined);
      });
    }

    it('self-service of one tenant cannot create an account in another', async () => {
      const acme = await f.core.tenants.resolve('acme');
      await rejectsWith(f.core.users.create(selfService(acme), { username: 'crosser', password: PW, tenant: 'default' }), 'PERMISSION_DENIED');
      const def = await f.core.tenants.resolve(undefined);
      assert.equal(await f.store.read.users.findByUsername(def.pk, 'crosser'), undefined);
    });

    it('self-service manages no tenant: tenants and clients refuse it', async () => {
      const acme = await f.core.tenants.resolve('acme');
      await rejectsWith(f.core.tenants.adminList(selfService(acme)), 'PERMISSION_DENIED');
      await rejectsWith(f.core.clients.list(selfService(acme), acme, { offset: 0, limit: 10 }), 'PERMISSION_DENIED');
    });

    it('the operator creates a superuser in any tenant; staff cannot', async () => {
      const root = await f.core.users.create(OPERATOR, { username: 'root2', password: PW, tenant: 'acme', isStaff: true, isSuperuser: true });
      assert.equal(root.isSuperuser, true);
      const { principal } = await f.login('staffer');
      await rejectsWith(f.core.users.create(principal, { username: 'root3', password: PW, isSuperuser: true }), 'PERMISSION_DENIED');
      await rejectsWith(f.core.users.create(principal, { username: 'elsewhere', password: PW, tenant: 'acme' }), 'PERMISSION_DENIED');
      const made = await f.core.users.create(principal, { username: 'colleague', password: PW });
      assert.equal(made.tenantName, 'default');
    });
  });
}
