// The machine-to-machine side of the OpenID provider: the client-credentials grant, and the
// introspection (RFC 7662) and revocation (RFC 7009) of this service's JWT access tokens.
//
// A client-credentials token is the service's access JWT with `sub` and `client_id` the client,
// and it is not stored (oidc-provider's own JWT access tokens are not either): issuing one writes
// nothing. Revoking one records its jti until it would have expired, in the OpenID provider's
// store (model REVOKED_MODEL); introspection reads that record. Tokens of the provider's code flow
// stand while the provider holds them (as Credentials checks them), the legacy APIs' tokens while
// Credentials accepts them. Everything else (refresh tokens, opaque values) stays with the provider.
import type { Store } from '../store.ts';
import type { ClientsService } from '../clients/clients-service.ts';
import type { Credentials } from '../authentication/credentials.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { Clock } from '../clock.ts';
import type { Client, Tenant } from '../types.ts';
import { DomainError } from '../errors.ts';
import { newUuid } from '../secrets.ts';
import type { AccessClaims, AccessTokens } from './access-tokens.ts';

/** The `fam` of a client-credentials token: the client, not a refresh family or a grant. */
export const CLIENT_FAMILY_PREFIX = 'client:';
/** Where a revoked client-credentials token's jti is kept (until its expiry) in oidc_payloads. */
export const REVOKED_MODEL = 'RevokedClientToken';

export interface IssuedClientToken {
  accessToken: string;
  expiresIn: number;
  /** The scope granted: exactly as asked (space-separated), or undefined when none was asked. */
  scope?: string;
}

/** RFC 7662's answer: `{ active: false }` or the token's claims. */
export type Introspection = { active: false } | {
  active: true; sub: string; client_id?: string; scope?: string; username?: string;
  exp: number; iat: number; iss: string; jti: string; token_type: 'Bearer'; aud?: string;
};

export class ClientGrants {
  private readonly d: { store: Store; clock: Clock; clients: ClientsService; accessTokens: AccessTokens; settings: SettingsService; credentials: Credentials };

  constructor(deps: ClientGrants['d']) {
    this.d = deps;
  }

  /**
   * The client-credentials grant for an authenticated client (ClientsService.authenticate).
   * UNAUTHORIZED_CLIENT for a public client or one not registered for the grant; INVALID_SCOPE
   * for a scope outside its registered ones (the rule of every token endpoint: checkGrant).
   */
  async issue(tenant: Tenant, client: Client, scope: string | undefined): Promise<IssuedClientToken> {
    if (!client.confidential) throw new DomainError('UNAUTHORIZED_CLIENT', 'A public client cannot use the "client_credentials" grant.');
    const scopes = scope === undefined || scope === '' ? [] : scope.split(' ');
    if (scopes.some((s) => s === '')) throw new DomainError('INVALID_SCOPE', 'The requested scope is malformed.');
    this.d.clients.checkGrant(client, 'client_credentials', scopes);
    const settings = await this.d.settings.forTenant(tenant.pk);
    const iat = Math.floor(this.d.clock.now() / 1000);
    const lifetime = settings.access_token_lifetime;
    const accessToken = await this.d.accessTokens.issueForClient({
      clientId: client.clientId, tenant: tenant.name, family: `${CLIENT_FAMILY_PREFIX}${client.clientId}`, jti: newUuid(), iat, exp: iat + lifetime,
      scope: scopes.length ? scopes.join(' ') : undefined, algorithm: settings.token_signing_algorithm, audience: settings.token_audience || undefined,
    });
    return { accessToken, expiresIn: lifetime, ...(scopes.length ? { scope: scopes.join(' ') } : {}) };
  }

  /**
   * Introspects one of this service's access JWTs for `caller` (an authenticated client of
   * `tenant`); undefined when `token` is not one (the provider answers for its own opaque tokens).
   * A public client learns only of its own tokens; a token of another tenant is not active here.
   */
  async introspect(tenant: Tenant, caller: Client, token: string): Promise<Introspection | undefined> {
    const claims = await this.ownJwt(token);
    if (!claims) return undefined;
    const inactive = { active: false } as const;
    const c = claims.c;
    if (!c || c.tenant !== tenant.name) return inactive;
    const clientId = typeof claims.raw.client_id === 'string' ? claims.raw.client_id : undefined;
    if (!caller.confidential && clientId !== caller.clientId) return inactive;
    if (!(await this.stands(tenant, c, clientId, token))) return inactive;
    const raw = claims.raw;
    return {
      active: true, sub: c.sub, ...(clientId ? { client_id: clientId } : {}), ...(typeof raw.scope === 'string' ? { scope: raw.scope } : {}),
      ...(typeof raw.username === 'string' ? { username: raw.username } : {}), exp: c.exp, iat: c.iat, iss: String(raw.iss),
      jti: c.jti, token_type: 'Bearer', ...(typeof raw.aud === 'string' ? { aud: raw.aud } : {}),
    };
  }

  /**
   * Revokes a client-credentials token of `caller` (RFC 7009: an unknown token, or another
   * client's, is no error and changes nothing). Answers false when `token` is not a
   * client-credentials JWT of this service (the provider then handles it).
   */
  async revoke(tenant: Tenant, caller: Client, token: string): Promise<boolean> {
    const claims = await this.ownJwt(token);
    const c = claims?.c;
    if (!c || !c.fam.startsWith(CLIENT_FAMILY_PREFIX)) return false;
    if (c.tenant !== tenant.name || claims!.raw.client_id !== caller.clientId) return true;
    await this.d.store.transaction((r) => r.oidcPayloads.upsert({
      tenantPk: tenant.pk, model: REVOKED_MODEL, id: c.jti, payload: '{}', grantId: null, uid: null, userCode: null, expiresAt: c.exp * 1000,
    }));
    return true;
  }

  /**
   * A JWT's verified claims; `c` null when it does not verify (another issuer's, expired, forged:
   * an inactive token, never an error); undefined when `token` is no JWT at all.
   */
  private async ownJwt(token: string): Promise<{ c: AccessClaims | null; raw: Record<string, unknown> } | undefined> {
    if (token.split('.').length !== 3) return undefined;
    const c = await this.d.accessTokens.verify(token).catch(() => null);
    return { c, raw: c ? decodePayload(token) : {} };
  }

  private async stands(tenant: Tenant, c: AccessClaims, clientId: string | undefined, token: string): Promise<boolean> {
    if (c.fam.startsWith(CLIENT_FAMILY_PREFIX)) {
      if (clientId === undefined || c.fam !== `${CLIENT_FAMILY_PREFIX}${clientId}`) return false;
      // The client must still be registered here, and the token not revoked.
      const client = await this.d.clients.identify(tenant, clientId).catch(() => undefined);
      if (!client) return false;
      return !(await this.d.store.read.oidcPayloads.find(tenant.pk, REVOKED_MODEL, c.jti, this.d.clock.now()));
    }
    // A user's token (the provider's code flow, or a legacy API's): it stands exactly when the
    // APIs would accept it as Bearer (Credentials: the provider still holds it, or its family stands).
    return this.d.credentials.accessToken(token).then(() => true, () => false);
  }
}

function decodePayload(token: string): Record<string, unknown> {
  try {
    return JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8')) as Record<string, unknown>;
  } catch {
    return {};
  }
}
