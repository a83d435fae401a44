import type { Kysely } from 'kysely';

// Rate-limit counters kept in the database (the instances share them when there is no Redis),
// and the HMAC keys that sign v1 refresh tokens (JWTs only Latchkey verifies).
export function countersRefreshKeys() {
  return {
    async up(db: Kysely<any>) {
      await db.schema
        .createTable('counters')
        .addColumn('key', 'varchar(200)', (c) => c.primaryKey())
        .addColumn('count', 'integer', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('counters_expires_at').on('counters').column('expires_at').execute();
      await db.schema
        .createTable('refresh_keys')
        .addColumn('kid', 'varchar(36)', (c) => c.primaryKey())
        .addColumn('secret', 'varchar(100)', (c) => c.notNull())
        .addColumn('state', 'varchar(16)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('retired_at', 'bigint')
        .execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('refresh_keys').execute();
      await db.schema.dropTable('counters').execute();
    },
  };
}
