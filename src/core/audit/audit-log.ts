// The audit log: every security event, stored with where it came from, readable by the staff
// of the tenant it belongs to.
import type { Store } from '../store.ts';
import { FailsAction, type Events, type SecurityEvent } from '../events.ts';
import type { Page, PageRequest, Principal } from '../types.ts';
import { requireTenantManager, seesTenantlessEvents } from '../permissions.ts';

/** Where the current request came from, supplied by the HTTP layer (nothing at the CLI). */
export interface RequestOrigin {
  ip?: string;
  requestId?: string;
}

export interface AuditEntry {
  id: number;
  type: string;
  at: number;
  userId: string | null;
  username: string | null;
  actorId: string | null;
  ip: string | null;
  requestId: string | null;
  detail: Record<string, unknown>;
}

export interface AuditQuery {
  type?: string;
  userId?: string;
  since?: number;
  until?: number;
}

export class AuditLog {
  private readonly store: Store;

  constructor(store: Store, events: Events, origin: () => RequestOrigin | undefined) {
    this.store = store;
    events.on(async (e) => {
      const o = origin() ?? {};
      // An event told inside a transaction is recorded in it (store.read is then the
      // transaction's): the row lands with the change, or neither.
      const repos = store.read;
      try {
        const user = e.userPk === null ? undefined : await repos.users.findByPk(e.userPk);
        const actor = e.actorPk == null ? undefined : await repos.users.findByPk(e.actorPk);
        await repos.audit.insert(this.row(e, o, user?.id ?? null, user?.username ?? (e.detail?.username as string | undefined) ?? null, actor?.id ?? null));
      } catch (err) {
        // Inside a transaction (PostgreSQL would refuse its commit anyway): no change without its record.
        if (store.inTransaction()) throw new FailsAction(err);
        throw err;
      }
    });
  }

  private row(e: SecurityEvent & { at: number }, o: RequestOrigin, userId: string | null, username: string | null, actorId: string | null) {
    return {
      tenant_pk: e.tenantPk, type: e.type, at: e.at, user_id: userId, username, actor_id: actorId,
      ip: o.ip?.slice(0, 64) ?? null, request_id: o.requestId?.slice(0, 100) ?? null, detail: JSON.stringify(e.detail ?? {}),
    };
  }

  async list(p: Principal, q: AuditQuery, page: PageRequest): Promise<Page<AuditEntry>> {
    requireTenantManager(p, p.tenant.pk);
    const r = await this.store.read.audit.list({ tenantPk: p.tenant.pk, withoutTenant: seesTenantlessEvents(p), ...q }, page);
    return {
      count: r.count,
      items: r.items.map((x) => ({
        id: Number(x.pk), type: x.type, at: x.at, userId: x.user_id, username: x.username, actorId: x.actor_id, ip: x.ip,
        requestId: x.request_id, detail: JSON.parse(x.detail) as Record<string, unknown>,
      })),
    };
  }
}
