import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

// Upstream sign-in: each tenant's identity providers (OpenID Connect by discovery, or a preset's
// endpoints; the client secret sealed with LATCHKEY_SECRET_KEYS), and the authorization requests
// sent to them and not yet answered (state, PKCE verifier, nonce; single use, bound to the
// browser that started them by the SHA-256 of a cookie's value).
export function identityProviders(engine: Engine) {
  const serial = (t: ReturnType<Kysely<any>['schema']['createTable']>) =>
    engine === 'postgres' ? t.addColumn('pk', 'serial', (c) => c.primaryKey()) : t.addColumn('pk', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    async up(db: Kysely<any>) {
      await serial(db.schema.createTable('identity_providers'))
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('slug', 'varchar(50)', (c) => c.notNull())
        .addColumn('name', 'varchar(200)', (c) => c.notNull())
        .addColumn('kind', 'varchar(20)', (c) => c.notNull())
        .addColumn('issuer', 'varchar(2000)')
        .addColumn('authorization_endpoint', 'varchar(2000)')
        .addColumn('token_endpoint', 'varchar(2000)')
        .addColumn('userinfo_endpoint', 'varchar(2000)')
        .addColumn('emails_endpoint', 'varchar(2000)')
        .addColumn('client_id', 'varchar(500)', (c) => c.notNull())
        .addColumn('client_secret', 'text')
        .addColumn('scopes', 'varchar(2000)', (c) => c.notNull())
        .addColumn('enabled', 'boolean', (c) => c.notNull())
        .addColumn('jit', 'boolean', (c) => c.notNull())
        .addColumn('allowed_domains', 'varchar(4000)', (c) => c.notNull())
        .addColumn('trusted_for_mfa', 'boolean', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('updated_at', 'bigint', (c) => c.notNull())
        .addUniqueConstraint('identity_providers_slug', ['tenant_pk', 'slug'])
        .execute();

      await db.schema
        .createTable('upstream_requests')
        .addColumn('state_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('provider_pk', 'integer', (c) => c.notNull().references('identity_providers.pk').onDelete('cascade'))
        .addColumn('binding_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('purpose', 'varchar(20)', (c) => c.notNull())
        .addColumn('user_pk', 'integer', (c) => c.references('users.pk').onDelete('cascade'))
        .addColumn('code_verifier', 'varchar(200)', (c) => c.notNull())
        .addColumn('nonce', 'varchar(200)', (c) => c.notNull())
        .addColumn('next', 'varchar(2000)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('upstream_requests_expiry').on('upstream_requests').column('expires_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('upstream_requests').execute();
      await db.schema.dropTable('identity_providers').execute();
    },
  };
}
