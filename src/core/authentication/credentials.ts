// Turning a presented credential into the Principal it stands for: a Bearer access token, a
// `sessionid` cookie, a `Token` key. (A password is not a credential of this kind: it signs in,
// through the sign-in flow.) Each is checked its own way, then held to the one rule of
// credential-rule.ts.
import type { Store } from '../store.ts';
import type { ClientsService } from '../clients/clients-service.ts';
import { tokenInvalid } from '../errors.ts';
import { sha256 } from '../secrets.ts';
import type { SessionsService } from '../sessions/sessions-service.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import { OIDC_FAMILY_PREFIX, type AccessTokens } from '../tokens/access-tokens.ts';
import type { Principal, Tenant, User } from '../types.ts';
import { standing } from './credential-rule.ts';

export class Credentials {
  private readonly d: {
    store: Store; tenants: TenantsService; clients: ClientsService; sessions: SessionsService; accessTokens: AccessTokens;
    /** Whether the user must set up a second factor before anything else (second-factors.ts). */
    mustEnrol: (tenant: Tenant, user: User) => Promise<boolean>;
  };

  constructor(deps: Credentials['d']) {
    this.d = deps;
  }

  /** The Principal behind a Bearer access token; TOKEN_INVALID when it no longer stands. */
  async accessToken(token: string): Promise<Principal> {
    const claims = await this.d.accessTokens.verify(token);
    const user = await this.d.store.read.users.findById(claims.sub);
    const tenant = user && (await this.d.tenants.byPk(user.tenantPk));
    const s = standing(user, tenant, claims.tenant);
    if (s === 'user_gone') throw tokenInvalid('User not found or inactive');
    if (s === 'tenant_disabled') throw tokenInvalid('Tenant is disabled');
    if (claims.fam.startsWith(OIDC_FAMILY_PREFIX)) {
      // A token of the OpenID provider stands while the provider still holds it (revoking it, or
      // its grant, or a detected refresh-token reuse, removes it); its client is the one it was issued to.
      const held = await this.d.store.read.oidcPayloads.find(user!.tenantPk, 'AccessToken', claims.jti, 0);
      if (!held) throw tokenInvalid('Token has been revoked');
      const clientId = (JSON.parse(held.payload) as { clientId?: unknown }).clientId;
      const client = typeof clientId === 'string' ? await this.d.clients.identify(tenant!, clientId).catch(() => undefined) : undefined;
      return { kind: 'user', user: user!, tenant: tenant!, method: 'jwt', client };
    }
    const family = await this.d.store.read.tokens.findFamily(claims.fam);
    if (!family || family.revoked_at !== null || family.user_pk !== user!.pk) throw tokenInvalid('Token has been revoked');
    const client = family.client_pk === null ? undefined : await this.d.clients.byPk(family.client_pk);
    return { kind: 'user', user: user!, tenant: tenant!, method: 'jwt', familyId: family.id, client };
  }

  /** The Principal behind a `sessionid` cookie, or null when the session is not (or no longer) valid. */
  async session(cookie: string): Promise<{ principal: Principal; csrfOk: (token: string | undefined) => boolean } | null> {
    const session = await this.d.sessions.find(cookie);
    if (!session) return null;
    const user = await this.d.store.read.users.findByPk(session.userPk);
    const tenant = user && (await this.d.tenants.byPk(user.tenantPk));
    if (standing(user, tenant, session.tenantPk) !== 'stands') return null;
    return {
      principal: {
        kind: 'user', user: user!, tenant: tenant!, method: 'session', sessionId: session.id, authenticatedAt: session.authenticatedAt, amr: session.amr,
        mustEnrol: await this.d.mustEnrol(tenant!, user!),
      },
      csrfOk: (t) => this.d.sessions.checkCsrf(session, t),
    };
  }

  /** The Principal behind a `Token` key, or null when it is unknown or its user can no longer act. */
  async tokenKey(key: string): Promise<Principal | null> {
    if (key.length < 20 || key.length > 200) return null;
    const hash = sha256(key);
    const row = await this.d.store.read.tokenKeys.find(hash);
    if (!row) return null;
    const user = await this.d.store.read.users.findByPk(row.user_pk);
    const tenant = user && (await this.d.tenants.byPk(user.tenantPk));
    if (standing(user, tenant, row.tenant_pk) !== 'stands') return null;
    return { kind: 'user', user: user!, tenant: tenant!, method: 'token', tokenKeyHash: hash, mustEnrol: await this.d.mustEnrol(tenant!, user!) };
  }
}
