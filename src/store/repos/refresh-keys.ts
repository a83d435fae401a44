// The HMAC keys of v1 refresh JWTs (core/tokens/refresh-keys.ts).
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { RefreshKeyRecord, RefreshKeysRepo } from '../../core/tokens/refresh-keys-repo.ts';

export function refreshKeysRepo(db: Kysely<DB>): RefreshKeysRepo {
  return {
    async all(): Promise<RefreshKeyRecord[]> {
      return db.selectFrom('refresh_keys').selectAll().orderBy('created_at').execute();
    },
    async insert(row: RefreshKeyRecord): Promise<void> {
      await db.insertInto('refresh_keys').values(row).execute();
    },
    async retire(kid: string, at: number): Promise<void> {
      await db.updateTable('refresh_keys').set({ state: 'retired', retired_at: at }).where('kid', '=', kid).execute();
    },
    async deleteRetiredBefore(t: number): Promise<void> {
      await db.deleteFrom('refresh_keys').where('state', '=', 'retired').where('retired_at', '<', t).execute();
    },
  };
}
