// Per-tenant settings through the core: only known keys, validated values, one spelling stored,
// effective at once, per tenant, and managed by the tenant's staff only.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { engines } from '../helpers/engines.ts';
import { SETTING_KEYS, SETTINGS, type Principal, type Tenant } from '../../src/core/index.ts';
import { startCore, rejectsWith, type CoreFixture } from './support.ts';

for (const { engine, skip } of engines) {
  describe(`core settings [${engine.name}]`, { skip }, () => {
    let f: CoreFixture;
    let staff: Principal;
    let plain: Principal;
    let tenant: Tenant;
    before(async () => {
      f = await startCore(engine);
      await f.user('staff', { isStaff: true });
      await f.user('plain');
      staff = (await f.login('staff')).principal;
      plain = (await f.login('plain')).principal;
      tenant = await f.core.tenants.resolve(undefined);
    });
    after(async () => { await f?.close(); });

    it('lists every known key with its default until set', async () => {
      assert.deepEqual(await f.core.settings.list(staff, tenant.pk), SETTING_KEYS.map((key) => ({ key, value: typeof SETTINGS[key].default === "object" ? JSON.stringify(SETTINGS[key].default) : String(SETTINGS[key].default) })));
    });

    it('refuses unknown keys, Object.prototype names included, listing the known keys', async () => {
      for (const key of ['unknown', 'constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', '']) {
        const err = await rejectsWith(f.core.settings.set(staff, tenant.pk, key, '60'), 'VALIDATION_FAILED', key);
        assert.deepEqual(Object.keys(err.fields!), ['key']);
        for (const known of SETTING_KEYS) assert.ok(err.fields!.key![0]!.includes(known));
      }
      assert.deepEqual(await f.store.read.settings.all(tenant.pk), {});
    });

    it('validates values, stores one spelling, and takes effect at once', async () => {
      for (const [key, value] of [['access_token_lifetime', '29'], ['access_token_lifetime', 'x'], ['registration_enabled', 'yes']] as const) {
        const err = await rejectsWith(f.core.settings.set(staff, tenant.pk, key, value), 'VALIDATION_FAILED');
        assert.deepEqual(Object.keys(err.fields!), ['value']);
      }
      assert.deepEqual(await f.core.settings.set(staff, tenant.pk, 'access_token_lifetime', ' 30 '), { key: 'access_token_lifetime', value: '30' });
      assert.deepEqual(await f.core.settings.set(staff, tenant.pk, 'registration_enabled', '0'), { key: 'registration_enabled', value: 'false' });
      const effective = await f.core.settings.forTenant(tenant.pk);
      assert.equal(effective.access_token_lifetime, 30);
      assert.equal(effective.registration_enabled, false);
    });

    it('a tenant\'s settings are its own, and only its managers change them', async () => {
      const other = await f.core.tenants.create('other', 'Other');
      await rejectsWith(f.core.settings.set(staff, other.pk, 'access_token_lifetime', '60'), 'PERMISSION_DENIED');
      await rejectsWith(f.core.settings.list(staff, other.pk), 'PERMISSION_DENIED');
      await rejectsWith(f.core.settings.set(plain, tenant.pk, 'access_token_lifetime', '60'), 'PERMISSION_DENIED');
      await rejectsWith(f.core.settings.list(plain, tenant.pk), 'PERMISSION_DENIED');
      assert.equal((await f.core.settings.forTenant(other.pk)).access_token_lifetime, 300);
    });
  });
}
