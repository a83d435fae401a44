import { sql, type Kysely } from 'kysely';
import type { Engine } from '../database.ts';

// Refresh tokens kept by family: the key is (family_id, token_hash), and a refresh token names
// its family (`<family id>.<secret>`). A rotation marks one row used and adds the next beside it,
// on the same B-tree page: in SQLite (a table without rowid, clustered by that key) it writes one
// page where the old table (keyed by the hash alone, with a second index by family) wrote three,
// and the look-up is one probe of the key instead of an index and a table. Every issued token is
// still kept (as a hash), so presenting any used one of a family is recognised as reuse.
// Tokens issued before this migration (no family in them) stay valid in `refresh_tokens_v1`
// until they are used (then their family continues here) or expire.
export function refreshTokensByFamily(engine: Engine) {
  return {
    async up(db: Kysely<any>) {
      await db.schema.alterTable('refresh_tokens').renameTo('refresh_tokens_v1').execute();
      let t = db.schema
        .createTable('refresh_tokens')
        .addColumn('family_id', 'varchar(36)', (c) => c.notNull().references('token_families.id').onDelete('cascade'))
        .addColumn('token_hash', 'varchar(64)', (c) => c.notNull())
        .addColumn('created_at', 'bigint', (c) => c.notNull())
        .addColumn('expires_at', 'bigint', (c) => c.notNull())
        .addColumn('used_at', 'bigint')
        .addPrimaryKeyConstraint('refresh_tokens_by_family_pk', ['family_id', 'token_hash']);
      if (engine === 'sqlite') t = t.modifyEnd(sql`without rowid`);
      await t.execute();
    },
    async down(db: Kysely<any>) {
      await db.schema.dropTable('refresh_tokens').execute();
      await db.schema.alterTable('refresh_tokens_v1').renameTo('refresh_tokens').execute();
    },
  };
}
