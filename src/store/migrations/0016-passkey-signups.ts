import type { Kysely } from 'kysely';

// Sign-ups by passkey alone waiting on their passkey (the headless API's auth/webauthn/signup):
// what the person asked for (username, address) and the challenge of the creation options they
// were given, until the passkey is registered. No account exists until then, so an abandoned
// sign-up leaves only this row, which expires. Only the SHA-256 of the flow's token is kept.
export function passkeySignups() {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('passkey_signups')
        .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('username', 'varchar(150)', (c) => c.notNull())
        .addColumn('email', 'varchar(254)', (c) => c.notNull())
        // The WebAuthn user handle the passkey is made for (random; kept with the passkey).
        .addColumn('user_handle', 'varchar(64)', (c) => c.notNull())
        .addColumn('challenge_hash', 'varchar(64)')
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('passkey_signups_expiry').on('passkey_signups').column('expires_at').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('passkey_signups').execute();
    },
  };
}
