import type { Kysely } from 'kysely';

// A refresh family handed out with a session (the headless app client's access/refresh pair)
// names that session, so that ending the session ends its tokens too.
export function sessionTokenFamilies() {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('token_families').addColumn('session_id', 'varchar(64)').execute();
      await db.schema.createIndex('token_families_session').on('token_families').column('session_id').execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropIndex('token_families_session').execute();
      await db.schema.alterTable('token_families').dropColumn('session_id').execute();
    },
  };
}
