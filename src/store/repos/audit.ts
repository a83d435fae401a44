import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { AuditFilter, AuditRepo, AuditRow } from '../../core/audit/audit-repo.ts';

export type { AuditFilter, AuditRow };

export function auditRepo(db: Kysely<DB>): AuditRepo {
  const where = (f: AuditFilter) => {
    let q = f.withoutTenant
      ? db.selectFrom('audit_events').where((eb) => eb.or([eb('tenant_pk', '=', f.tenantPk), eb('tenant_pk', 'is', null)]))
      : db.selectFrom('audit_events').where('tenant_pk', '=', f.tenantPk);
    if (f.type) q = q.where('type', '=', f.type);
    if (f.userId) q = q.where('user_id', '=', f.userId);
    if (f.since !== undefined) q = q.where('at', '>=', f.since);
    if (f.until !== undefined) q = q.where('at', '<', f.until);
    return q;
  };
  return {
    async insert(row: AuditRow): Promise<void> {
      const { pk: _pk, ...values } = row;
      await db.insertInto('audit_events').values(values).execute();
    },
    async list(f: AuditFilter, page: { offset: number; limit: number }) {
      const [{ n }] = await where(f).select((eb) => eb.fn.countAll<number>().as('n')).execute();
      const rows = await where(f).selectAll().orderBy('pk', 'desc').limit(page.limit).offset(page.offset).execute();
      return { count: Number(n), items: rows };
    },
  };
}
