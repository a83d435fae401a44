// Refresh-token families: a login starts a family; each refresh rotates the family's token.
import type { Kysely } from 'kysely';
import type { DB, TokenFamiliesTable } from '../schema.ts';
import type { Engine } from '../database.ts';
import { preparedQuery } from '../prepared.ts';

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

// Every authenticated request, sign-in and refresh runs these: compiled once. The refresh look-up
// is two look-ups by key, not a join, which SQLite would plan again on every run (see users.ts).
const familyById = preparedQuery((db, id: string) => db.selectFrom('token_families').selectAll().where('id', '=', id));
const refreshByHash = preparedQuery((db, tokenHash: string) =>
  db.selectFrom('refresh_tokens').select(['token_hash', 'family_id', 'expires_at', 'used_at']).where('token_hash', '=', tokenHash));
const insertFamily = preparedQuery((db, id: string, tenantPk: number, userPk: number, createdAt: number, clientPk: number | null, scope: string | null) =>
  db.insertInto('token_families').values({ id, tenant_pk: tenantPk, user_pk: userPk, created_at: createdAt, client_pk: clientPk, scope, revoked_at: null, revoked_reason: null }));
const insertRefreshToken = preparedQuery((db, tokenHash: string, familyId: string, createdAt: number, expiresAt: number) =>
  db.insertInto('refresh_tokens').values({ token_hash: tokenHash, family_id: familyId, created_at: createdAt, expires_at: expiresAt, used_at: null }));
const markRefreshUsed = preparedQuery((db, tokenHash: string, now: number) =>
  db.updateTable('refresh_tokens').set({ used_at: now }).where('token_hash', '=', tokenHash).where('used_at', 'is', null));

export function tokensRepo(db: Kysely<DB>, engine: Engine) {
  return {
    async createFamily(f: Omit<FamilyRow, 'revoked_at' | 'revoked_reason'>): Promise<void> {
      await insertFamily(db, engine, f.id, f.tenant_pk, f.user_pk, f.created_at, f.client_pk, f.scope);
    },
    async findFamily(id: string): Promise<FamilyRow | undefined> {
      return (await familyById(db, engine, id)).rows[0];
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
      await insertRefreshToken(db, engine, r.token_hash, r.family_id, r.created_at, r.expires_at);
    },
    async findRefresh(tokenHash: string): Promise<RefreshLookup | undefined> {
      const token = (await refreshByHash(db, engine, tokenHash)).rows[0];
      if (!token) return undefined;
      // refresh_tokens.family_id is a foreign key: the family is there.
      const f = (await familyById(db, engine, token.family_id)).rows[0];
      return f && { ...token, user_pk: f.user_pk, tenant_pk: f.tenant_pk, revoked_at: f.revoked_at, client_pk: f.client_pk, scope: f.scope };
    },
    /** Marks a refresh token used; false when another request used it first (so at most one wins). */
    async consumeRefresh(tokenHash: string, now: number): Promise<boolean> {
      const r = await markRefreshUsed(db, engine, tokenHash, now);
      return Number(r.numAffectedRows) === 1;
    },
    async deleteExpired(now: number): Promise<void> {
      await db.deleteFrom('refresh_tokens').where('expires_at', '<', now).execute();
    },
  };
}
