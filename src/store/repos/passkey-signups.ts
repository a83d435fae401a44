// Sign-ups by passkey waiting on their passkey (core/accounts/passkey-signups-repo.ts says what they are).
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { PasskeySignupsRepo } from '../../core/accounts/passkey-signups-repo.ts';

export function passkeySignupsRepo(db: Kysely<DB>): PasskeySignupsRepo {
  return {
    async insert(s) {
      await db.insertInto('passkey_signups').values({
        token_hash: s.tokenHash, tenant_pk: s.tenantPk, username: s.username, email: s.email, user_handle: s.userHandle,
        challenge_hash: s.challengeHash, created_at: s.createdAt, expires_at: s.expiresAt, used_at: null,
      }).execute();
    },
    async find(tokenHash) {
      const r = await db.selectFrom('passkey_signups').selectAll().where('token_hash', '=', tokenHash).where('used_at', 'is', null).executeTakeFirst();
      if (!r) return undefined;
      return {
        tokenHash: r.token_hash, tenantPk: r.tenant_pk, username: r.username, email: r.email, userHandle: r.user_handle,
        challengeHash: r.challenge_hash, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at),
      };
    },
    async setChallenge(tokenHash, challengeHash) {
      await db.updateTable('passkey_signups').set({ challenge_hash: challengeHash }).where('token_hash', '=', tokenHash).where('used_at', 'is', null).execute();
    },
    async consume(tokenHash, now) {
      const r = await db.updateTable('passkey_signups').set({ used_at: now }).where('token_hash', '=', tokenHash).where('used_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async deleteExpired(now) {
      await db.deleteFrom('passkey_signups').where('expires_at', '<=', now).execute();
    },
  };
}
