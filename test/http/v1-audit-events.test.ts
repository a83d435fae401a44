// The audit log over v1: events that belong to no tenant (a signing-key rotation, a tenant's
// deletion) are listed to superusers, beside their tenant's events, and never to staff.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { startV1, type V1App } from './v1-support.ts';

for (const { engine, skip } of engines) {
  describe(`v1 audit events without a tenant [${engine.name}]`, { skip }, () => {
    let t: V1App;
    before(async () => { t = await startV1(engine); });
    after(async () => { await t?.close(); });

    const list = async (who: { headers: { authorization: string } }, query = '') => {
      const r = await t.request({ method: 'GET', url: `/api/audit-events/${query}`, headers: who.headers });
      assert.equal(r.statusCode, 200, r.body);
      return r.json() as { count: number; resources: Array<{ type: string; detail: Record<string, unknown> }> };
    };

    it('a key rotation and a tenant deletion are listed to a superuser, not to staff', async () => {
      const rotated = await t.core.rotateSigningKey();
      const made = await t.request({ method: 'POST', url: '/api/tenants/', headers: t.root.headers, payload: { name: 'short-lived', display_name: 'Short lived' } });
      assert.equal(made.statusCode, 201, made.body);
      const gone = await t.request({ method: 'DELETE', url: '/api/tenants/short-lived/', headers: t.root.headers });
      assert.equal(gone.statusCode, 204, gone.body);

      const root = await list(t.root, '?type=signing_key.rotated');
      assert.equal(root.count, 1);
      assert.equal(root.resources[0]!.detail.current, rotated.current);
      const deleted = (await list(t.root, '?type=tenant.changed')).resources.filter((e) => e.detail.action === 'deleted');
      assert.deepEqual(deleted.map((e) => e.detail.name), ['short-lived']);
      // Among the tenant's own events, newest first.
      const all = await list(t.root);
      assert.ok(all.resources.some((e) => e.type === 'sign_in.succeeded'), 'the tenant\'s own events are still there');

      assert.equal((await list(t.staff, '?type=signing_key.rotated')).count, 0);
      const staffTenantEvents = (await list(t.staff, '?type=tenant.changed')).resources;
      assert.equal(staffTenantEvents.some((e) => e.detail.action === 'deleted'), false, 'staff see no tenant-less event');
      assert.ok((await list(t.staff)).count > 0, 'staff still see their tenant\'s log');
    });
  });
}
