// Refresh-token families: a login starts a family; each refresh rotates the family's token.
import type { Kysely } from 'kysely';
import type { DB, TokenFamiliesTable } from '../schema.ts';

export type FamilyRow = TokenFamiliesTable;

export interface RefreshLookup {
  token_hash: string;
  family_id: string;
  expires_at: number;
  used_at: number | null;
  user_pk: number;
  tenant_pk: number;
  revoked_at: number | null;
  client_pk: number | null;
  scope: string | null;
}

export function tokensRepo(db: Kysely<DB>) {
  return {
    async createFamily(f: Omit<FamilyRow, 'revoked_at' | 'revoked_reason'>): Promise<void> {
      await db.insertInto('token_families').values({ ...f, revoked_at: null, revoked_reason: null }).execute();
    },
    async findFamily(id: string): Promise<FamilyRow | undefined> {
      return db.selectFrom('token_families').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async revokeFamily(id: string, reason: string, now: number): Promise<void> {
      await db.updateTable('token_families').set({ revoked_at: now, revoked_reason: reason }).where('id', '=', id).where('revoked_at', 'is', null).execute();
    },
    /** Revokes every live family of a user but `keep` (the caller's own, when it changes its password). */
    async revokeUserFamilies(userPk: number, reason: string, now: number, keep?: string): Promise<void> {
      let q = db.updateTable('token_families').set({ revoked_at: now, revoked_reason: reason }).where('user_pk', '=', userPk).where('revoked_at', 'is', null);
      if (keep) q = q.where('id', '!=', keep);
      await q.execute();
    },
    /** Live families of a user, with the newest refresh expiry and the client's id. */
    async liveFamilies(userPk: number, now: number) {
      return db
        .selectFrom('token_families')
        .leftJoin('clients', 'clients.pk', 'token_families.client_pk')
        .innerJoin('refresh_tokens', 'refresh_tokens.family_id', 'token_families.id')
        .select(['token_families.id', 'token_families.created_at', 'clients.client_id'])
        .select((eb) => eb.fn.max('refresh_tokens.expires_at').as('expires_at'))
        .where('token_families.user_pk', '=', userPk)
        .where('token_families.revoked_at', 'is', null)
        .where('refresh_tokens.used_at', 'is', null)
        .where('refresh_tokens.expires_at', '>', now)
        .groupBy(['token_families.id', 'token_families.created_at', 'clients.client_id'])
        .orderBy('token_families.created_at', 'desc')
        .execute();
    },
    async insertRefresh(r: { token_hash: string; family_id: string; created_at: number; expires_at: number }): Promise<void> {
      await db.insertInto('refresh_tokens').values({ ...r, used_at: null }).execute();
    },
    async findRefresh(tokenHash: string): Promise<RefreshLookup | undefined> {
      return db
        .selectFrom('refresh_tokens')
        .innerJoin('token_families', 'token_families.id', 'refresh_tokens.family_id')
        .select([
          'refresh_tokens.token_hash', 'refresh_tokens.family_id', 'refresh_tokens.expires_at', 'refresh_tokens.used_at',
          'token_families.user_pk', 'token_families.tenant_pk', 'token_families.revoked_at', 'token_families.client_pk', 'token_families.scope',
        ])
        .where('refresh_tokens.token_hash', '=', tokenHash)
        .executeTakeFirst();
    },
    /** Marks a refresh token used; false when another request used it first (so at most one wins). */
    async consumeRefresh(tokenHash: string, now: number): Promise<boolean> {
      const r = await db.updateTable('refresh_tokens').set({ used_at: now }).where('token_hash', '=', tokenHash).where('used_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async deleteExpired(now: number): Promise<void> {
      await db.deleteFrom('refresh_tokens').where('expires_at', '<', now).execute();
    },
  };
}
