// The OpenID provider's state (core/oidc/oidc-payloads-repo.ts says what it is).
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { OidcPayloadRecord, OidcPayloadsRepo } from '../../core/oidc/oidc-payloads-repo.ts';

export function oidcPayloadsRepo(db: Kysely<DB>): OidcPayloadsRepo {
  const live = (now: number) => (eb: any) => eb.or([eb('expires_at', 'is', null), eb('expires_at', '>', now)]);
  const out = (r: { payload: string; consumed_at: number | null } | undefined) =>
    r && { payload: r.payload, consumedAt: r.consumed_at === null ? null : Number(r.consumed_at) };
  return {
    async upsert(r: OidcPayloadRecord) {
      const row = {
        tenant_pk: r.tenantPk, model: r.model, id: r.id, payload: r.payload, grant_id: r.grantId, uid: r.uid,
        user_code: r.userCode, expires_at: r.expiresAt, consumed_at: null,
      };
      await db.insertInto('oidc_payloads').values(row)
        .onConflict((oc) => oc.columns(['tenant_pk', 'model', 'id']).doUpdateSet({
          payload: row.payload, grant_id: row.grant_id, uid: row.uid, user_code: row.user_code, expires_at: row.expires_at,
        }))
        .execute();
    },
    async find(tenantPk, model, id, now) {
      return out(await db.selectFrom('oidc_payloads').select(['payload', 'consumed_at'])
        .where('tenant_pk', '=', tenantPk).where('model', '=', model).where('id', '=', id).where(live(now)).executeTakeFirst());
    },
    async findByUid(tenantPk, uid, now) {
      return out(await db.selectFrom('oidc_payloads').select(['payload', 'consumed_at'])
        .where('tenant_pk', '=', tenantPk).where('model', '=', 'Session').where('uid', '=', uid).where(live(now)).executeTakeFirst());
    },
    async findByUserCode(tenantPk, userCode, now) {
      return out(await db.selectFrom('oidc_payloads').select(['payload', 'consumed_at'])
        .where('tenant_pk', '=', tenantPk).where('model', '=', 'DeviceCode').where('user_code', '=', userCode).where(live(now)).executeTakeFirst());
    },
    async consume(tenantPk, model, id, now) {
      await db.updateTable('oidc_payloads').set({ consumed_at: now })
        .where('tenant_pk', '=', tenantPk).where('model', '=', model).where('id', '=', id).execute();
    },
    async destroy(tenantPk, model, id) {
      await db.deleteFrom('oidc_payloads').where('tenant_pk', '=', tenantPk).where('model', '=', model).where('id', '=', id).execute();
    },
    async revokeByGrantId(tenantPk, grantId) {
      await db.deleteFrom('oidc_payloads').where('tenant_pk', '=', tenantPk).where('grant_id', '=', grantId).execute();
    },
    async deleteExpired(now) {
      const r = await db.deleteFrom('oidc_payloads').where('expires_at', '<=', now).executeTakeFirst();
      return Number(r.numDeletedRows);
    },
  };
}
