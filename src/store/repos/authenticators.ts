// Second factors (core/mfa/authenticators-repo.ts says what they are).
import type { Kysely, Selectable } from 'kysely';
import type { DB } from '../schema.ts';
import type {
  AuthenticatorRecord, AuthenticatorsRepo, TrustedBrowsersRepo, WebauthnChallengeRecord, WebauthnChallengesRepo,
} from '../../core/mfa/authenticators-repo.ts';

const record = (r: Selectable<DB['authenticators']>): AuthenticatorRecord => ({
  pk: r.pk, tenantPk: r.tenant_pk, userPk: r.user_pk, type: r.type as AuthenticatorRecord['type'], name: r.name, credentialId: r.credential_id, data: r.data,
  createdAt: Number(r.created_at), lastUsedAt: r.last_used_at === null ? null : Number(r.last_used_at),
});

export function authenticatorsRepo(db: Kysely<DB>): AuthenticatorsRepo {
  return {
    async insert(a) {
      const r = await db.insertInto('authenticators').values({
        tenant_pk: a.tenantPk, user_pk: a.userPk, type: a.type, name: a.name, credential_id: a.credentialId, data: a.data,
        created_at: a.createdAt, last_used_at: a.lastUsedAt,
      }).returning('pk').executeTakeFirstOrThrow();
      return r.pk;
    },
    async forUser(userPk) {
      const rows = await db.selectFrom('authenticators').selectAll().where('user_pk', '=', userPk).orderBy('pk').execute();
      return rows.map(record);
    },
    async byCredentialId(credentialId) {
      const r = await db.selectFrom('authenticators').selectAll().where('credential_id', '=', credentialId).executeTakeFirst();
      return r ? record(r) : undefined;
    },
    async swapData(pk, expected, next, lastUsedAt) {
      const r = await db.updateTable('authenticators').set({ data: next, last_used_at: lastUsedAt })
        .where('pk', '=', pk).where('data', '=', expected).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async listOfType(type, afterPk, limit) {
      const rows = await db.selectFrom('authenticators').selectAll().where('type', '=', type).where('pk', '>', afterPk).orderBy('pk').limit(limit).execute();
      return rows.map(record);
    },
    async rename(pk, name) {
      await db.updateTable('authenticators').set({ name }).where('pk', '=', pk).execute();
    },
    async delete(pk) {
      await db.deleteFrom('authenticators').where('pk', '=', pk).execute();
    },
    async deleteForUser(userPk, type) {
      await db.deleteFrom('authenticators').where('user_pk', '=', userPk).where('type', '=', type).execute();
    },
  };
}

export function webauthnChallengesRepo(db: Kysely<DB>): WebauthnChallengesRepo {
  return {
    async insert(c) {
      await db.insertInto('webauthn_challenges').values({
        challenge_hash: c.challengeHash, tenant_pk: c.tenantPk, user_pk: c.userPk, purpose: c.purpose, created_at: c.createdAt, expires_at: c.expiresAt, used_at: null,
      }).execute();
    },
    async consume(challengeHash, now) {
      const r = await db.selectFrom('webauthn_challenges').selectAll().where('challenge_hash', '=', challengeHash)
        .where('used_at', 'is', null).where('expires_at', '>', now).executeTakeFirst();
      if (!r) return undefined;
      const u = await db.updateTable('webauthn_challenges').set({ used_at: now }).where('challenge_hash', '=', challengeHash).where('used_at', 'is', null).executeTakeFirst();
      if (Number(u.numUpdatedRows) !== 1) return undefined;
      return {
        challengeHash: r.challenge_hash, tenantPk: r.tenant_pk, userPk: r.user_pk, purpose: r.purpose as WebauthnChallengeRecord['purpose'],
        createdAt: Number(r.created_at), expiresAt: Number(r.expires_at),
      };
    },
    async deleteExpired(now) {
      await db.deleteFrom('webauthn_challenges').where('expires_at', '<=', now).execute();
    },
  };
}

export function trustedBrowsersRepo(db: Kysely<DB>): TrustedBrowsersRepo {
  return {
    async insert(t) {
      await db.insertInto('trusted_browsers').values({
        token_hash: t.tokenHash, tenant_pk: t.tenantPk, user_pk: t.userPk, created_at: t.createdAt, expires_at: t.expiresAt,
      }).execute();
    },
    async find(tokenHash) {
      const r = await db.selectFrom('trusted_browsers').selectAll().where('token_hash', '=', tokenHash).executeTakeFirst();
      return r ? { tokenHash: r.token_hash, tenantPk: r.tenant_pk, userPk: r.user_pk, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at) } : undefined;
    },
    async deleteForUser(userPk) {
      await db.deleteFrom('trusted_browsers').where('user_pk', '=', userPk).execute();
    },
  };
}
