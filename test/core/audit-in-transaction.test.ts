// An administrative change and its audit row are one transaction: when the database refuses the
// row, the change is not there either (and no other instance is told of it); when it accepts
// it, both are. Shown for a user's update, a setting and a group, on a real trigger in the
// database. The message to other instances (the broadcast that drops their caches) goes out
// only after the commit.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import type { Principal } from '../../src/core/index.ts';
import { startCore, refuseInserts, type CoreFixture } from './support.ts';

for (const { engine, skip } of engines) {
  describe(`an administrative change and its audit row are one transaction [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    let admin: Principal;
    const told: string[] = [];
    before(async () => {
      f = await startCore(engine);
      await f.user('root', { isStaff: true, isSuperuser: true });
      ({ principal: admin } = await f.login('root'));
      f.core.broadcast.subscribe((topic) => told.push(topic));
    });
    after(async () => {
      await f?.close();
    });

    const auditRows = async (type: string) =>
      (await f.store.db.selectFrom('audit_events').select('pk').where('type', '=', type).execute()).length;

    async function refusedThenAccepted(type: string, act: () => Promise<unknown>, present: () => Promise<boolean>) {
      const rowsBefore = await auditRows(type);
      told.length = 0;
      const allow = await refuseInserts(f.store, 'audit_events');
      try {
        await assert.rejects(act(), /refused by the test/);
      } finally {
        await allow();
      }
      assert.equal(await present(), false, 'the change is not there without its audit row');
      assert.equal(await auditRows(type), rowsBefore);
      assert.deepEqual(told, [], 'no instance was told of a change that did not happen');

      await act();
      assert.equal(await present(), true);
      assert.equal(await auditRows(type), rowsBefore + 1);
    }

    it('a user renamed', async () => {
      const u = await f.user('before-name');
      await refusedThenAccepted('user.updated', () => f.core.users.update(admin, u.id, { username: 'after-name' }),
        async () => (await f.store.read.users.findById(u.id))!.username === 'after-name');
    });

    it('a setting changed (and the others told only after the commit)', async () => {
      const tenantPk = admin.tenant.pk;
      await refusedThenAccepted('settings.changed', () => f.core.settings.set(admin, tenantPk, 'access_token_lifetime', '900'),
        async () => (await f.core.settings.forTenant(tenantPk)).access_token_lifetime === 900);
      assert.deepEqual(told, ['settings']);
    });

    it('a group created', async () => {
      await refusedThenAccepted('group.changed', () => f.core.groups.create(admin, 'auditors'),
        async () => (await f.store.db.selectFrom('groups').select('pk').where('name', '=', 'auditors').execute()).length === 1);
    });
  });
}
