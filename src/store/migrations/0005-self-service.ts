import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';

// Self-service accounts: token keys, e-mail addresses, one-time e-mail tokens (verification,
// password reset), linked social accounts, and failed sign-in counters.
export function selfService(engine: Engine) {
  const serial = (t: ReturnType<Kysely<any>['schema']['createTable']>) =>
    engine === 'postgres' ? t.addColumn('pk', 'serial', (c) => c.primaryKey()) : t.addColumn('pk', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('token_keys')
        .addColumn('key_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('id', 'varchar(32)', (c) => c.notNull().unique())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('session_id', 'varchar(64)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('token_keys_user').on('token_keys').column('user_pk').execute();

      await serial(db.schema.createTable('email_addresses'))
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('email', 'varchar(254)', (c) => c.notNull())
        .addColumn('email_lower', 'varchar(254)', (c) => c.notNull())
        .addColumn('verified', 'boolean', (c) => c.notNull())
        .addColumn('is_primary', 'boolean', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('email_addresses_user_email', ['user_pk', 'email_lower'])
        .execute();
      // One verified owner per address and tenant, whatever the race between two users.
      await sql`create unique index email_addresses_verified_owner on email_addresses (tenant_pk, email_lower) where verified = ${sql.raw(engine === 'postgres' ? 'true' : '1')}`.execute(db);

      await db.schema
        .createTable('email_tokens')
        .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('purpose', 'varchar(16)', (c) => c.notNull())
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('email_pk', 'integer', (c) => c.references('email_addresses.pk').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();

      await serial(db.schema.createTable('social_accounts'))
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('provider', 'varchar(100)', (c) => c.notNull())
        .addColumn('uid', 'varchar(255)', (c) => c.notNull())
        .addColumn('date_joined', 'bigint', (c) => c.notNull())
        .addColumn('last_login', 'bigint')
        .addUniqueConstraint('social_accounts_provider_uid', ['tenant_pk', 'provider', 'uid'])
        .execute();

      // Keyed by the name tried, not the user: unknown names are throttled alike (no enumeration).
      await db.schema
        .createTable('login_failures')
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('username', 'varchar(254)', (c) => c.notNull())
        .addColumn('failures', 'integer', (c) => c.notNull())
        .addColumn('last_failure_at', 'bigint', (c) => c.notNull())
        .addPrimaryKeyConstraint('login_failures_pk', ['tenant_pk', 'username'])
        .execute();
    },
    async down(db: Kysely<any>) {
      for (const t of ['login_failures', 'social_accounts', 'email_tokens', 'email_addresses', 'token_keys']) await db.schema.dropTable(t).execute();
    },
  };
}
