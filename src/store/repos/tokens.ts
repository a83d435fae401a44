// Refresh-token families: a login starts a family; each refresh rotates the family's token.
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { Engine } from '../database.ts';
import { preparedQuery } from '../prepared.ts';
import type { FamilyRecord, RefreshLookup, TokenFamiliesRepo } from '../../core/tokens/token-families-repo.ts';

export type { RefreshLookup };

// Every authenticated request, sign-in and refresh runs these: compiled once. The refresh look-up
// is two look-ups by key, not a join, which SQLite would plan again on every run (see users.ts).
const familyById = preparedQuery((db, id: string) => db.selectFrom('token_families').selectAll().where('id', '=', id));
const refreshByKey = preparedQuery((db, familyId: string, tokenHash: string) =>
  db.selectFrom('refresh_tokens').select(['token_hash', 'family_id', 'expires_at', 'used_at']).where('family_id', '=', familyId).where('token_hash', '=', tokenHash));
const legacyRefreshByHash = preparedQuery((db, tokenHash: string) =>
  db.selectFrom('refresh_tokens_v1').select(['token_hash', 'family_id', 'expires_at', 'used_at']).where('token_hash', '=', tokenHash));
const insertFamily = preparedQuery((db, id: string, tenantPk: number, userPk: number, createdAt: number, clientPk: number | null, scope: string | null, sessionId: string | null) =>
  db.insertInto('token_families').values({ id, tenant_pk: tenantPk, user_pk: userPk, created_at: createdAt, client_pk: clientPk, scope, session_id: sessionId, revoked_at: null, revoked_reason: null }));
const insertRefreshToken = preparedQuery((db, familyId: string, tokenHash: string, createdAt: number, expiresAt: number) =>
  db.insertInto('refresh_tokens').values({ family_id: familyId, token_hash: tokenHash, created_at: createdAt, expires_at: expiresAt, used_at: null }));
const markRefreshUsed = preparedQuery((db, familyId: string, tokenHash: string, now: number) =>
  db.updateTable('refresh_tokens').set({ used_at: now }).where('family_id', '=', familyId).where('token_hash', '=', tokenHash).where('used_at', 'is', null));
const markLegacyRefreshUsed = preparedQuery((db, tokenHash: string, now: number) =>
  db.updateTable('refresh_tokens_v1').set({ used_at: now }).where('token_hash', '=', tokenHash).where('used_at', 'is', null));

/** A legacy token (RefreshLookup.legacy) is one found in refresh_tokens_v1. */
export function tokensRepo(db: Kysely<DB>, engine: Engine): TokenFamiliesRepo {
  return {
    async createFamily(f: Omit<FamilyRecord, 'revoked_at' | 'revoked_reason'>): Promise<void> {
      await insertFamily(db, engine, f.id, f.tenant_pk, f.user_pk, f.created_at, f.client_pk, f.scope, f.session_id ?? null);
    },
    async findFamily(id: string): Promise<FamilyRecord | undefined> {
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
    async revokeSessionFamilies(sessionId: string, reason: string, now: number): Promise<void> {
      await db.updateTable('token_families').set({ revoked_at: now, revoked_reason: reason }).where('session_id', '=', sessionId).where('revoked_at', 'is', null).execute();
    },
    /** Live families of a user, with the newest refresh expiry and the client's id. */
    async liveFamilies(userPk: number, now: number) {
      const families = await db
        .selectFrom('token_families')
        .leftJoin('clients', 'clients.pk', 'token_families.client_pk')
        .select(['token_families.id', 'token_families.created_at', 'clients.client_id'])
        .where('token_families.user_pk', '=', userPk)
        .where('token_families.revoked_at', 'is', null)
        .orderBy('token_families.created_at', 'desc')
        .execute();
      if (families.length === 0) return [];
      const ids = families.map((f) => f.id);
      const expiry = new Map<string, number>();
      // A family's live token is in the table of its format: the current one, or the earlier one until first used.
      for (const table of ['refresh_tokens', 'refresh_tokens_v1'] as const) {
        const rows = await db.selectFrom(table).select(['family_id']).select((eb) => eb.fn.max('expires_at').as('expires_at'))
          .where('family_id', 'in', ids).where('used_at', 'is', null).where('expires_at', '>', now).groupBy('family_id').execute();
        for (const r of rows) expiry.set(r.family_id, Math.max(expiry.get(r.family_id) ?? 0, Number(r.expires_at)));
      }
      return families.filter((f) => expiry.has(f.id)).map((f) => ({ ...f, expires_at: expiry.get(f.id)! }));
    },
    async insertRefresh(r: { token_hash: string; family_id: string; created_at: number; expires_at: number }): Promise<void> {
      await insertRefreshToken(db, engine, r.family_id, r.token_hash, r.created_at, r.expires_at);
    },
    /** A presented token by its key (see core/tokens/refresh-tokens.ts), with its family's fields. */
    async findRefresh(key: { familyId?: string; hash: string }): Promise<RefreshLookup | undefined> {
      const token = (key.familyId === undefined ? await legacyRefreshByHash(db, engine, key.hash) : await refreshByKey(db, engine, key.familyId, key.hash)).rows[0];
      if (!token) return undefined;
      // refresh_tokens.family_id is a foreign key: the family is there.
      const f = (await familyById(db, engine, token.family_id)).rows[0];
      return f && { ...token, legacy: key.familyId === undefined, user_pk: f.user_pk, tenant_pk: f.tenant_pk, revoked_at: f.revoked_at, client_pk: f.client_pk, scope: f.scope };
    },
    /** Marks a refresh token used; false when another request used it first (so at most one wins). */
    async consumeRefresh(found: Pick<RefreshLookup, 'family_id' | 'token_hash' | 'legacy'>, now: number): Promise<boolean> {
      const r = found.legacy ? await markLegacyRefreshUsed(db, engine, found.token_hash, now) : await markRefreshUsed(db, engine, found.family_id, found.token_hash, now);
      return Number(r.numAffectedRows) === 1;
    },
    async deleteExpired(now: number): Promise<void> {
      await db.deleteFrom('refresh_tokens').where('expires_at', '<', now).execute();
      await db.deleteFrom('refresh_tokens_v1').where('expires_at', '<', now).execute();
    },
  };
}
