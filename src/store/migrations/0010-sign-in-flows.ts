import type { Kysely } from 'kysely';

// Sign-ins waiting on a step (an unverified address today; a second factor, consent later),
// continued by any instance with the flow's token, of which only the SHA-256 is kept.
export function signInFlows() {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('sign_in_flows')
        .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('client_pk', 'integer', (c) => c.references('clients.pk').onDelete('cascade'))
        .addColumn('scope', 'varchar(2000)', (c) => c.notNull())
        .addColumn('issue', 'varchar(200)', (c) => c.notNull())
        .addColumn('method', 'varchar(32)', (c) => c.notNull())
        .addColumn('step', 'varchar(32)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('sign_in_flows_expiry').on('sign_in_flows').column('expires_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('sign_in_flows').execute();
    },
  };
}
