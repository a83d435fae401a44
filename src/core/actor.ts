// Who acts in a use case. Every use case that more than a signed-in user may run takes an Actor,
// so that "nobody signed in" is never mistaken for "the operator": the command line and the
// bootstrap act as the operator, an anonymous visitor of a tenant (registration, password reset)
// acts as self-service, everyone else as the Principal their credential proved.
import type { Principal, Tenant } from './types.ts';

/** The person running the command line or the server's bootstrap: full authority. */
export interface Operator {
  readonly kind: 'operator';
}

/** An anonymous visitor of one tenant, doing what the tenant lets anyone do (sign up, ask for a reset). */
export interface SelfService {
  readonly kind: 'self_service';
  readonly tenant: Tenant;
}

export type Actor = Principal | Operator | SelfService;

export const OPERATOR: Operator = Object.freeze({ kind: 'operator' });

export const selfService = (tenant: Tenant): SelfService => ({ kind: 'self_service', tenant });

/** The user behind the actor, for the audit log's `actor`; null for the operator and visitors. */
export const actorUserPk = (a: Actor): number | null => (a.kind === 'user' ? a.user.pk : null);
