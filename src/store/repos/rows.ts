// Row -> domain object conversions shared by repositories.
import type { Group, Tenant, User } from '../../core/types.ts';

export const flag = (v: boolean | number): boolean => v === true || v === 1;
/** Flags are written as 0/1: SQLite binds no booleans, and PostgreSQL reads '0'/'1' as boolean. */
export const toFlag = (v: boolean): number => (v ? 1 : 0);

function parseObject(text: string | null | undefined): Record<string, unknown> {
  if (!text) return {};
  try {
    const v = JSON.parse(text);
    return v && typeof v === 'object' && !Array.isArray(v) ? v : {};
  } catch {
    return {};
  }
}

export function toTenant(r: any): Tenant {
  return {
    pk: r.pk, id: r.id, name: r.name, displayName: r.display_name, isActive: flag(r.is_active),
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export function toUser(r: any): User {
  return {
    pk: r.pk, id: r.id, tenantPk: r.tenant_pk, tenantName: r.tenant_name, username: r.username, email: r.email,
    firstName: r.first_name, lastName: r.last_name, passwordHash: r.password_hash,
    isActive: flag(r.is_active), isStaff: flag(r.is_staff), isSuperuser: flag(r.is_superuser),
    lastLogin: r.last_login, passwordChangedAt: r.password_changed_at, profile: parseObject(r.profile), emm: parseObject(r.emm),
    avatar: r.avatar ?? null, emailVerified: flag(r.email_verified ?? 0), createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export function toGroup(r: any): Group {
  return { pk: r.pk, id: r.id, tenantPk: r.tenant_pk, name: r.name, createdAt: r.created_at, updatedAt: r.updated_at };
}
