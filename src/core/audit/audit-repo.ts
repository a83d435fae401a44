// What the audit log needs stored; the store implements it. Fields keep the columns' names.
import type { Page, PageRequest } from '../types.ts';

export interface AuditRecord {
  pk: number;
  tenant_pk: number | null;
  type: string;
  at: number;
  user_id: string | null;
  username: string | null;
  actor_id: string | null;
  ip: string | null;
  request_id: string | null;
  /** JSON text. */
  detail: string;
}

/** A row to record (its pk is the store's to give). */
export type AuditRow = Omit<AuditRecord, 'pk'> & { pk?: number };

export interface AuditFilter {
  tenantPk: number;
  /** Also the events that belong to no tenant (key rotations, tenant deletions): for superusers. */
  withoutTenant?: boolean;
  type?: string;
  userId?: string;
  since?: number;
  until?: number;
}

export interface AuditRepo {
  insert(row: AuditRow): Promise<void>;
  /** Newest first. */
  list(f: AuditFilter, page: PageRequest): Promise<Page<AuditRecord>>;
}
