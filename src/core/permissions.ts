// Who may do what: the one place these rules live. Services ask here, with the Actor or the
// Principal of the use case, and never decide by themselves.
import type { Actor } from './actor.ts';
import type { Principal, Tenant, User } from './types.ts';
import { DomainError, notFound, permissionDenied } from './errors.ts';

/**
 * A credential of a user who must first set up a second factor (the tenant's `mfa_required`)
 * acts only where enrolling is done: `enrolment` says the use case is one of those.
 */
export function requireFullSignIn(p: Principal, enrolment: boolean): void {
  if (p.mustEnrol && !enrolment) {
    throw new DomainError('PERMISSION_DENIED', 'This tenant requires a second factor: set one up first (the hosted pages\' security page, or the headless API\'s account/authenticators).');
  }
}

/** Superusers and the operator manage every tenant. */
export const isSuperuser = (a: Actor): boolean => a.kind === 'operator' || (a.kind === 'user' && a.user.isSuperuser);

export function requireSuperuser(a: Actor): void {
  if (!isSuperuser(a)) throw permissionDenied();
}

/** A superuser (or the operator) manages every tenant; a staff user manages its own; a visitor none. */
export const managesTenant = (a: Actor, tenantPk: number): boolean =>
  isSuperuser(a) || (a.kind === 'user' && a.user.isStaff && a.user.tenantPk === tenantPk);

export function requireTenantManager(a: Actor, tenantPk: number): void {
  if (!managesTenant(a, tenantPk)) throw permissionDenied();
}

/**
 * Creating a user: a tenant's managers in their tenant; a superuser in any; a visitor only an
 * ordinary, active account of the tenant it visits (registration can never make staff).
 */
export function requireMayCreateUser(a: Actor, tenant: Tenant, input: { isStaff?: boolean; isSuperuser?: boolean; isActive?: boolean }): void {
  if (a.kind === 'self_service') {
    if (a.tenant.pk !== tenant.pk || input.isStaff || input.isSuperuser || input.isActive === false) throw permissionDenied();
    return;
  }
  requireTenantManager(a, tenant.pk);
  if (input.isSuperuser && !isSuperuser(a)) throw permissionDenied();
}

/** Placing a user in another tenant than the one it is in (creating or moving it) is a superuser's act. */
export function requireMayPlaceElsewhere(a: Actor): void {
  if (!isSuperuser(a)) throw permissionDenied();
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

/** Changing another user's account flags (active, staff): the tenant's managers. */
export function requireMayChangeFlags(p: Principal, target: User, input: { isActive?: boolean; isStaff?: boolean; isSuperuser?: boolean }): void {
  const flags = (input.isActive !== undefined && input.isActive !== target.isActive) || (input.isStaff !== undefined && input.isStaff !== target.isStaff);
  if (flags && !managesTenant(p, target.tenantPk)) throw permissionDenied();
  if (input.isSuperuser !== undefined && input.isSuperuser !== target.isSuperuser && !p.user.isSuperuser) throw permissionDenied();
}

/** Deleting a user, or lifting its sign-in lock: the managers of its tenant. */
export function requireUserManager(p: Principal, target: User): void {
  if (!managesTenant(p, target.tenantPk)) throw permissionDenied();
}

/** Listing the users of a tenant: its managers see all; anyone else only itself, and only in its own tenant. */
export function userListScope(p: Principal, tenant: Tenant): 'all' | 'self' {
  if (managesTenant(p, tenant.pk)) return 'all';
  if (tenant.pk !== p.user.tenantPk) throw permissionDenied();
  return 'self';
}

/** Naming another tenant's users (`?tenant_id=`) is for superusers; others are told it does not exist. */
export function requireMayNameTenant(p: Principal): void {
  if (!p.user.isSuperuser) throw notFound();
}

/** A group in another tenant is hidden from everyone but superusers; then only its tenant's managers may act on it. */
export function requireGroupAccess(p: Principal, groupTenantPk: number): void {
  if (!p.user.isSuperuser && groupTenantPk !== p.user.tenantPk) throw notFound();
  requireTenantManager(p, groupTenantPk);
}

/** Superusers see the audit events that belong to no tenant (key rotations, tenant deletions). */
export const seesTenantlessEvents = (p: Principal): boolean => p.user.isSuperuser;
