import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { SettingsRepo } from '../../core/settings/settings-repo.ts';

export function settingsRepo(db: Kysely<DB>, engine: 'sqlite' | 'postgres'): SettingsRepo {
  return {
    async all(tenantPk: number): Promise<Record<string, string>> {
      const rows = await db.selectFrom('settings').select(['key', 'value']).where('tenant_pk', '=', tenantPk).execute();
      return Object.fromEntries(rows.map((r) => [r.key, r.value]));
    },
    async put(tenantPk: number, key: string, value: string, now: number): Promise<void> {
      void engine;
      await db
        .insertInto('settings')
        .values({ tenant_pk: tenantPk, key, value, updated_at: now })
        .onConflict((oc) => oc.columns(['tenant_pk', 'key']).doUpdateSet({ value, updated_at: now }))
        .execute();
    },
  };
}
