import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { SigningKeyRecord, SigningKeysRepo } from '../../core/tokens/signing-keys-repo.ts';

export function signingKeysRepo(db: Kysely<DB>): SigningKeysRepo {
  return {
    async all(): Promise<SigningKeyRecord[]> {
      return db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
    },
    async insert(row: SigningKeyRecord): Promise<void> {
      await db.insertInto('signing_keys').values(row).execute();
    },
    async setState(kid: string, state: SigningKeyRecord['state'], at: number): Promise<void> {
      const values = state === 'current' ? { state, activated_at: at } : state === 'retired' ? { state, retired_at: at } : { state };
      await db.updateTable('signing_keys').set(values).where('kid', '=', kid).execute();
    },
    async deleteRetiredBefore(t: number): Promise<void> {
      await db.deleteFrom('signing_keys').where('state', '=', 'retired').where('retired_at', '<', t).execute();
    },
  };
}
