// The tenant's registered clients (/api/clients/) as oidc-provider client metadata. The secret
// stays hashed at rest: the metadata carries its SHA-256, and the provider's
// Client#compareClientSecret (patched in provider.ts) hashes what a client presents before the
// constant-time comparison. HMAC uses of the secret (client_secret_jwt, HS256 ID tokens) are
// therefore not offered: they would need the secret itself.
import type { Core } from '../core/index.ts';

const CLIENT_ID_RE = /^[A-Za-z0-9._~-]{1,100}$/;
export const PROVIDER_SCOPES = new Set(['openid', 'offline_access', 'profile', 'email', 'groups']);
const PROVIDER_GRANTS = new Set(['authorization_code', 'refresh_token', 'client_credentials']);

export async function clientMetadata(core: Core, tenantPk: number, clientId: string): Promise<Record<string, unknown> | undefined> {
  if (!CLIENT_ID_RE.test(clientId)) return undefined;
  const c = await core.store.read.clients.find(clientId);
  if (!c || c.tenantPk !== tenantPk) return undefined;
  const grants = c.grantTypes.filter((g) => PROVIDER_GRANTS.has(g));
  const code = grants.includes('authorization_code');
  const confidential = c.secretHash !== null;
  return {
    client_id: c.clientId,
    client_name: c.name,
    // The tenant's own application: no consent page (provider.ts, loadExistingGrant).
    first_party: c.firstParty,
    ...(confidential ? { client_secret: c.secretHash } : {}),
    token_endpoint_auth_method: confidential ? 'client_secret_basic' : 'none',
    // A client registered for none of the provider's grants still exists (it may introspect nothing):
    // it is refused each grant as unauthorized_client.
    grant_types: grants,
    response_types: code ? ['code'] : [],
    redirect_uris: code ? c.redirectUris : [],
    // Where a client may ask to land after signing out: its registered redirect URIs, matched exactly.
    post_logout_redirect_uris: code ? c.redirectUris : [],
    // The provider checks its own scopes against this list; the client's other scopes are checked
    // where a token is made (provider.ts), by the same rule as the other token endpoints.
    ...(c.scopes.some((s) => PROVIDER_SCOPES.has(s)) ? { scope: c.scopes.filter((s) => PROVIDER_SCOPES.has(s)).join(' ') } : {}),
  };
}
