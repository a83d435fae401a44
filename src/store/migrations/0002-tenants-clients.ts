import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

// Registered client applications, the client a token family was issued to, and the user
// fields of the AuthN (profile, emm) and v2 (avatar) APIs.
export function tenantsClients(engine: Engine) {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('users').addColumn('profile', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      await db.schema.alterTable('users').addColumn('emm', 'text', (c) => c.notNull().defaultTo('{}')).execute();
      await db.schema.alterTable('users').addColumn('avatar', 'varchar(2048)').execute();
      // Whether the user's (primary) e-mail address is verified.
      await db.schema.alterTable('users').addColumn('email_verified', 'boolean', (c) => c.notNull().defaultTo(false)).execute();

      let t = db.schema.createTable('clients');
      t = engine === 'postgres'
        ? t.addColumn('pk', 'serial', (c) => c.primaryKey())
        : t.addColumn('pk', 'integer', (c) => c.primaryKey().autoIncrement());
      await t
        .addColumn('client_id', 'varchar(100)', (c) => c.notNull().unique())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('secret_hash', 'varchar(64)')
        .addColumn('grant_types', 'text', (c) => c.notNull())
        .addColumn('redirect_uris', 'text', (c) => c.notNull())
        .addColumn('scopes', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('clients_tenant').on('clients').column('tenant_pk').execute();

      await db.schema.alterTable('token_families').addColumn('client_pk', 'integer', (c) => c.references('clients.pk').onDelete('cascade')).execute();
      await db.schema.alterTable('token_families').addColumn('scope', 'text').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('token_families').dropColumn('scope').execute();
      await db.schema.alterTable('token_families').dropColumn('client_pk').execute();
      await db.schema.dropTable('clients').execute();
      for (const c of ['email_verified', 'avatar', 'emm', 'profile']) await db.schema.alterTable('users').dropColumn(c).execute();
    },
  };
}
