// The one rule every presented credential (access token, refresh token, session, token key,
// pending sign-in) is held to after its own checks: it stands only while its user exists and is
// active, is still in the tenant the credential was issued in, and that tenant is active.
import type { Tenant, User } from '../types.ts';

export type Standing = 'stands' | 'user_gone' | 'tenant_disabled';

/** `issuedIn`: the tenant the credential was issued in, by pk (stored credentials) or name (a token's claim). */
export function standing(user: User | undefined, tenant: Tenant | undefined, issuedIn: number | string): Standing {
  if (!user || !user.isActive) return 'user_gone';
  if (typeof issuedIn === 'number' ? user.tenantPk !== issuedIn : user.tenantName !== issuedIn) return 'user_gone';
  if (!tenant || !tenant.isActive || tenant.pk !== user.tenantPk) return 'tenant_disabled';
  return 'stands';
}
