// Who may do what: the one place these rules live.
import type { Principal, User } from './types.ts';
import { notFound, permissionDenied } from './errors.ts';

export function requireSuperuser(p: Principal): void {
  if (!p.user.isSuperuser) throw permissionDenied();
}

/** A superuser manages every tenant; a staff user manages its own. */
export const managesTenant = (p: Principal, tenantPk: number): boolean =>
  p.user.isSuperuser || (p.user.isStaff && p.user.tenantPk === tenantPk);

export function requireTenantManager(p: Principal, tenantPk: number): void {
  if (!managesTenant(p, tenantPk)) throw permissionDenied();
}

/**
 * A user may see and edit itself; a manager of the user's tenant may see and edit anyone in it.
 * Someone in another tenant is told the user does not exist rather than that it is forbidden.
 */
export function requireUserAccess(p: Principal, target: User): void {
  if (p.user.pk === target.pk) return;
  if (managesTenant(p, target.tenantPk)) {
    // Staff manage users, but only a superuser manages a superuser.
    if (target.isSuperuser && !p.user.isSuperuser) throw permissionDenied();
    return;
  }
  if (p.user.tenantPk !== target.tenantPk) throw notFound();
  throw permissionDenied();
}
