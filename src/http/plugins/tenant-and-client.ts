// Which tenant a request acts in and which registered application it comes through: the
// `X-Tenant` header (the tenant's name; none means `default`) and `X-Client-Id`.
import type { FastifyRequest } from 'fastify';
import type { Client, Core } from '../../core/index.ts';
import { DomainError } from '../../core/index.ts';

/** The tenant a not-yet-authenticated request names (X-Tenant), or undefined for `default`. */
export function requestedTenant(request: FastifyRequest): string | undefined {
  const t = request.headers['x-tenant'];
  return typeof t === 'string' && t !== '' ? t : undefined;
}

/**
 * Checks the calling application: an `X-Client-Id` must name a client registered in the
 * request's tenant (401 otherwise), and a tenant may require one on every request.
 */
export async function checkClient(core: Core, request: FastifyRequest): Promise<Client | undefined> {
  const tenant = request.principal?.tenant ?? (await core.tenants.resolve(requestedTenant(request)));
  const header = request.headers['x-client-id'];
  const clientId = typeof header === 'string' && header !== '' ? header : undefined;
  if (clientId === undefined) {
    if ((await core.settings.forTenant(tenant.pk)).require_client_id) {
      throw new DomainError('INVALID_CLIENT', 'This tenant requires a registered client id in the X-Client-Id header.');
    }
    return undefined;
  }
  const client = await core.clients.identify(tenant, clientId);
  request.client = client;
  if (request.principal && !request.principal.client) request.principal.client = client;
  return client;
}
