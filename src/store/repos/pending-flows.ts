// Pending sign-ins (core/sign-in/pending-flows.ts says what they are).
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { PendingFlowRecord, PendingFlowsRepo } from '../../core/sign-in/pending-flows.ts';

export function pendingFlowsRepo(db: Kysely<DB>): PendingFlowsRepo {
  return {
    async insert(f: PendingFlowRecord) {
      await db.insertInto('sign_in_flows').values({
        token_hash: f.tokenHash, tenant_pk: f.tenantPk, user_pk: f.userPk, client_pk: f.clientPk, scope: f.scopes.join(' '),
        issue: JSON.stringify(f.issue), method: f.method, step: f.step, amr: f.amr.join(' '), created_at: f.createdAt, expires_at: f.expiresAt, used_at: null,
      }).execute();
    },
    async find(tokenHash: string) {
      const r = await db.selectFrom('sign_in_flows').selectAll().where('token_hash', '=', tokenHash).where('used_at', 'is', null).executeTakeFirst();
      if (!r) return undefined;
      return {
        tokenHash: r.token_hash, tenantPk: r.tenant_pk, userPk: r.user_pk, clientPk: r.client_pk, scopes: r.scope ? r.scope.split(' ') : [],
        issue: JSON.parse(r.issue), method: r.method, step: r.step as PendingFlowRecord['step'], amr: r.amr ? r.amr.split(' ') : [], createdAt: Number(r.created_at), expiresAt: Number(r.expires_at),
      };
    },
    async consume(tokenHash: string, now: number) {
      const r = await db.updateTable('sign_in_flows').set({ used_at: now }).where('token_hash', '=', tokenHash).where('used_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async deleteExpired(now: number) {
      await db.deleteFrom('sign_in_flows').where('expires_at', '<=', now).execute();
    },
  };
}
