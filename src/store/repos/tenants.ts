import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { Tenant } from '../../core/types.ts';
import { toFlag, toTenant } from './rows.ts';
import type { TenantsRepo } from '../../core/tenants/tenants-repo.ts';

export function tenantsRepo(db: Kysely<DB>): TenantsRepo {
  return {
    async findByName(name: string): Promise<Tenant | undefined> {
      const r = await db.selectFrom('tenants').selectAll().where('name', '=', name).executeTakeFirst();
      return r && toTenant(r);
    },
    async findByPk(pk: number): Promise<Tenant | undefined> {
      const r = await db.selectFrom('tenants').selectAll().where('pk', '=', pk).executeTakeFirst();
      return r && toTenant(r);
    },
    async list(): Promise<Tenant[]> {
      return (await db.selectFrom('tenants').selectAll().orderBy('pk').execute()).map(toTenant);
    },
    async update(pk: number, changes: { name?: string; displayName?: string; isActive?: boolean; updatedAt: number }): Promise<void> {
      const values: Record<string, unknown> = { updated_at: changes.updatedAt };
      if (changes.name !== undefined) values.name = changes.name;
      if (changes.displayName !== undefined) values.display_name = changes.displayName;
      if (changes.isActive !== undefined) values.is_active = toFlag(changes.isActive);
      await db.updateTable('tenants').set(values).where('pk', '=', pk).execute();
    },
    async delete(pk: number): Promise<void> {
      await db.deleteFrom('tenants').where('pk', '=', pk).execute();
    },
    async insert(t: Omit<Tenant, 'pk'>): Promise<Tenant> {
      const r = await db
        .insertInto('tenants')
        .values({
          id: t.id, name: t.name, display_name: t.displayName, is_active: toFlag(t.isActive),
          created_at: t.createdAt, updated_at: t.updatedAt,
        })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toTenant(r);
    },
  };
}
