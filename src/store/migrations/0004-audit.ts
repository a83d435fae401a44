import type { Kysely } from 'kysely';
import type { Engine } from '../database.ts';

// The audit log of security events. Rows keep the user's id and name as they were, so the
// history outlives the user.
export function audit(engine: Engine) {
  return {
    async up(db: Kysely<any>) {
      let t = db.schema.createTable('audit_events');
      t = engine === 'postgres'
        ? t.addColumn('pk', 'bigserial', (c) => c.primaryKey())
        : t.addColumn('pk', 'integer', (c) => c.primaryKey().autoIncrement());
      await t
        .addColumn('tenant_pk', 'integer')
        .addColumn('type', 'varchar(64)', (c) => c.notNull())
        .addColumn('at', 'bigint', (c) => c.notNull())
        .addColumn('user_id', 'varchar(36)')
        .addColumn('username', 'varchar(150)')
        .addColumn('actor_id', 'varchar(36)')
        .addColumn('ip', 'varchar(64)')
        .addColumn('request_id', 'varchar(100)')
        .addColumn('detail', 'text', (c) => c.notNull())
        .execute();
      await db.schema.createIndex('audit_events_tenant_at').on('audit_events').columns(['tenant_pk', 'at']).execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('audit_events').execute();
    },
  };
}
