import type { Kysely } from 'kysely';

// The OpenID provider's state (codes, tokens, grants, sessions, interactions), one row each,
// by tenant, model and id; grant_id lets a grant's revocation reach every token it issued.
export function oidcPayloads() {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('oidc_payloads')
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('model', 'varchar(40)', (c) => c.notNull())
        .addColumn('id', 'varchar(200)', (c) => c.notNull())
        .addColumn('payload', 'text', (c) => c.notNull())
        .addColumn('grant_id', 'varchar(200)')
        .addColumn('uid', 'varchar(200)')
        .addColumn('user_code', 'varchar(200)')
        .addColumn('expires_at', 'bigint')
        .addColumn('consumed_at', 'bigint')
        .addPrimaryKeyConstraint('oidc_payloads_pk', ['tenant_pk', 'model', 'id'])
        .execute();
      await db.schema.createIndex('oidc_payloads_grant').on('oidc_payloads').columns(['tenant_pk', 'grant_id']).execute();
      await db.schema.createIndex('oidc_payloads_uid').on('oidc_payloads').columns(['tenant_pk', 'uid']).execute();
      await db.schema.createIndex('oidc_payloads_expiry').on('oidc_payloads').column('expires_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('oidc_payloads').execute();
    },
  };
}
