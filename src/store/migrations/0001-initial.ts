import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

// Written once for both engines: only the auto-increment primary key differs.
export function initial(engine: Engine) {
  const serialPk = (table: ReturnType<Kysely<any>['schema']['createTable']>) =>
    engine === 'postgres'
      ? table.addColumn('pk', 'serial', (c) => c.primaryKey())
      : table.addColumn('pk', 'integer', (c) => c.primaryKey().autoIncrement());

  return {
    async up(db: Kysely<any>) {
      await serialPk(db.schema.createTable('tenants'))
        .addColumn('id', 'varchar(36)', (c) => c.notNull().unique())
        .addColumn('name', 'varchar(64)', (c) => c.notNull().unique())
        .addColumn('display_name', 'varchar(200)', (c) => c.notNull())
        .addColumn('is_active', 'boolean', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();

      await serialPk(db.schema.createTable('users'))
        .addColumn('id', 'varchar(36)', (c) => c.notNull().unique())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('username', 'varchar(150)', (c) => c.notNull())
        .addColumn('email', 'varchar(254)', (c) => c.notNull())
        .addColumn('first_name', 'varchar(150)', (c) => c.notNull())
        .addColumn('last_name', 'varchar(150)', (c) => c.notNull())
        .addColumn('password_hash', 'text')
        .addColumn('is_active', 'boolean', (c) => c.notNull())
        .addColumn('is_staff', 'boolean', (c) => c.notNull())
        .addColumn('is_superuser', 'boolean', (c) => c.notNull())
        .addColumn('last_login', 'bigint')
        .addColumn('password_changed_at', 'bigint')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('users_tenant_username_unique', ['tenant_pk', 'username'])
        .execute();

      await serialPk(db.schema.createTable('groups'))
        .addColumn('id', 'varchar(36)', (c) => c.notNull().unique())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('name', 'varchar(150)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('groups_tenant_name_unique', ['tenant_pk', 'name'])
        .execute();

      await db.schema
        .createTable('group_members')
        .addColumn('group_pk', 'integer', (c) => c.notNull().references('groups.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('group_members_pk', ['group_pk', 'user_pk'])
        .execute();
      await db.schema.createIndex('group_members_user').on('group_members').column('user_pk').execute();

      await db.schema
        .createTable('settings')
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('key', 'varchar(100)', (c) => c.notNull())
        .addColumn('value', 'text', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('settings_pk', ['tenant_pk', 'key'])
        .execute();

      await db.schema
        .createTable('signing_keys')
        .addColumn('kid', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('alg', 'varchar(16)', (c) => c.notNull())
        .addColumn('private_jwk', 'text', (c) => c.notNull())
        .addColumn('public_jwk', 'text', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('activated_at', 'bigint')
        .addColumn('retired_at', 'bigint')
        .execute();

      await db.schema
        .createTable('token_families')
        .addColumn('id', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('revoked_at', 'bigint')
        .addColumn('revoked_reason', 'varchar(64)')
        .execute();
      await db.schema.createIndex('token_families_user').on('token_families').column('user_pk').execute();

      await db.schema
        .createTable('refresh_tokens')
        .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('family_id', 'varchar(36)', (c) => c.notNull().references('token_families.id').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('refresh_tokens_family').on('refresh_tokens').column('family_id').execute();

      await db.schema
        .createTable('sessions')
        .addColumn('id', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('secret_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('csrf_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('sessions_user').on('sessions').column('user_pk').execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['sessions', 'refresh_tokens', 'token_families', 'signing_keys', 'settings', 'group_members', 'groups', 'users', 'tenants']) {
        await db.schema.dropTable(t).execute();
      }
    },
  };
}
