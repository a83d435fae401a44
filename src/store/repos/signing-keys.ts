import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { SigningKeyRecord, SigningKeysRepo } from '../../core/tokens/signing-keys-repo.ts';

export type SigningKeyRow = SigningKeyRecord;

export function signingKeysRepo(db: Kysely<DB>): SigningKeysRepo {
  return {
    async all(): Promise<SigningKeyRow[]> {
      return db.selectFrom('signing_keys').selectAll().orderBy('created_at').execute();
    },
    async insert(row: SigningKeyRow): Promise<void> {
      await db.insertInto('signing_keys').values(row).execute();
    },
    async setState(kid: string, state: SigningKeyRow['state'], at: number): Promise<void> {
      const values = state === 'current' ? { state, activated_at: at } : state === 'retired' ? { state, retired_at: at } : { state };
      await db.updateTable('signing_keys').set(values).where('kid', '=', kid).execute();
    },
    async deleteRetiredBefore(t: number): Promise<void> {
      await db.deleteFrom('signing_keys').where('state', '=', 'retired').where('retired_at', '<', t).execute();
    },
  };
}
