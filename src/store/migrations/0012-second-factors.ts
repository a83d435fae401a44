import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

// Second factors: a user's authenticators (TOTP, recovery codes, passkeys), the WebAuthn
// challenges handed out and not yet answered, browsers trusted to skip the second step; and what
// each session and pending sign-in has proven (`amr`) and when (for reauthentication).
export function secondFactors(engine: Engine) {
  const serial = (t: ReturnType<Kysely<any>['schema']['createTable']>) =>
    engine === 'postgres' ? t.addColumn('pk', 'serial', (c) => c.primaryKey()) : t.addColumn('pk', 'integer', (c) => c.primaryKey().autoIncrement());
  return {
    async up(db: Kysely<any>) {
      await serial(db.schema.createTable('authenticators'))
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('type', 'varchar(20)', (c) => c.notNull())
        .addColumn('name', 'varchar(255)')
        // A passkey's credential id (base64url), unique in the whole store; null for the others.
        .addColumn('credential_id', 'varchar(1400)', (c) => c.unique())
        .addColumn('data', 'text', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('last_used_at', 'bigint')
        .execute();
      await db.schema.createIndex('authenticators_user').on('authenticators').columns(['user_pk', 'type']).execute();

      await db.schema
        .createTable('webauthn_challenges')
        .addColumn('challenge_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.references('users.pk').onDelete('cascade'))
        .addColumn('purpose', 'varchar(20)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .execute();
      await db.schema.createIndex('webauthn_challenges_expiry').on('webauthn_challenges').column('expires_at').execute();

      await db.schema
        .createTable('trusted_browsers')
        .addColumn('token_hash', 'varchar(64)', (c) => c.primaryKey())
        .addColumn('tenant_pk', 'integer', (c) => c.notNull().references('tenants.pk').onDelete('cascade'))
        .addColumn('user_pk', 'integer', (c) => c.notNull().references('users.pk').onDelete('cascade'))
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('trusted_browsers_user').on('trusted_browsers').column('user_pk').execute();

      await db.schema.alterTable('sessions').addColumn('authenticated_at', 'bigint').execute();
      await db.schema.alterTable('sessions').addColumn('amr', 'varchar(100)').execute();
      await db.schema.alterTable('sign_in_flows').addColumn('amr', 'varchar(100)').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.alterTable('sign_in_flows').dropColumn('amr').execute();
      await db.schema.alterTable('sessions').dropColumn('amr').execute();
      await db.schema.alterTable('sessions').dropColumn('authenticated_at').execute();
      await db.schema.dropTable('trusted_browsers').execute();
      await db.schema.dropTable('webauthn_challenges').execute();
      await db.schema.dropTable('authenticators').execute();
    },
  };
}
