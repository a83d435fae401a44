// Token pairs: an access token and a refresh token of one family (a sign-in), as the v1 and
// OAuth2 APIs hand them out. A new pair starts a family; refreshing rotates within it.
import type { Repos, Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { ClientsService } from '../clients/clients-service.ts';
import { DomainError, tokenInvalid } from '../errors.ts';
import type { Events } from '../events.ts';
import { newUuid } from '../secrets.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { Client, Tenant } from '../types.ts';
import { standing } from '../authentication/credential-rule.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { Settings } from '../settings/settings-schema.ts';
import type { AccessTokens } from './access-tokens.ts';
import { newRefreshToken, refreshTokenKey, type RefreshTokenKey } from './refresh-tokens.ts';
import { isJwtShaped, type RefreshKeys } from './refresh-keys.ts';
import type { IssueContext, PairMaker } from '../sign-in/issuers.ts';

export interface TokenPair {
  access: string;
  refresh: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Granted scopes (as asked), space-separated; '' when none were asked. */
  scope: string;
}

export type RefreshFormat = 'jwt' | 'opaque';

export interface RefreshGrant {
  /** The registered client asking, when there is one. */
  client?: Client;
  scopes?: string[];
  /** The next refresh token's form: a JWT (the v1 API, as simplejwt's) or `<family>.<secret>`. */
  refreshFormat?: RefreshFormat;
  /** At the OAuth token endpoint a refresh token works only for the client it was issued to. */
  enforceClient?: boolean;
  /** A request that names a tenant (X-Tenant) gets nothing from another tenant's token. */
  tenant?: Tenant;
}

/** What a tenant's settings say about the tokens it issues. */
export const tokenSettings = (s: Settings) => ({ algorithm: s.token_signing_algorithm, audience: s.token_audience });

export class TokenPairs implements PairMaker {
  private readonly d: {
    store: Store; clock: Clock; settings: SettingsService; accessTokens: AccessTokens; refreshKeys: RefreshKeys;
    clients: ClientsService; tenants: TenantsService; events: Events;
  };

  constructor(deps: TokenPairs['d']) {
    this.d = deps;
  }

  /** A refresh token of `format` for a family: a JWT (the v1 API, as simplejwt's) or `<family>.<secret>`. */
  async newRefresh(familyId: string, userId: string, now: number, settings: Settings, format: RefreshFormat | undefined): Promise<{ token: string; hash: string }> {
    if (format !== 'jwt') return newRefreshToken(familyId);
    const iat = Math.floor(now / 1000);
    return this.d.refreshKeys.issue({ familyId, userId, iat, exp: Math.floor((now + settings.refresh_token_lifetime * 1000) / 1000) });
  }

  /** A pair of a new family: the reads and the refresh token now, the family written in the caller's transaction, the access token signed after. */
  async prepare(ctx: IssueContext, refreshFormat: RefreshFormat) {
    const { user, tenant, client, scopes } = ctx;
    const settings = await this.d.settings.forTenant(tenant.pk);
    const now = this.d.clock.now();
    const familyId = newUuid();
    const refresh = await this.newRefresh(familyId, user.id, now, settings, refreshFormat);
    const groups = await this.d.store.read.groups.namesForUser(user.pk);
    const scope = scopes.join(' ');
    return {
      write: async (r: Repos, link?: { sessionId: string }) => {
        await r.tokens.createFamily({ id: familyId, tenant_pk: tenant.pk, user_pk: user.pk, created_at: now, client_pk: client?.pk ?? null, scope, session_id: link?.sessionId ?? null });
        await r.tokens.insertRefresh({ token_hash: refresh.hash, family_id: familyId, created_at: now, expires_at: now + settings.refresh_token_lifetime * 1000 });
      },
      finish: async (): Promise<TokenPair> => {
        const { token } = await this.d.accessTokens.issue({
          userId: user.id, username: user.username, tenant: tenant.name, familyId, groups, lifetimeSeconds: settings.access_token_lifetime,
          clientId: client?.clientId, scope, ...tokenSettings(settings),
        });
        return { access: token, refresh: refresh.token, expiresIn: settings.access_token_lifetime, scope };
      },
    };
  }

  /** The store key of a presented refresh token of either form, or undefined when it cannot be one of ours. */
  async presented(token: string): Promise<(RefreshTokenKey & { userId?: string }) | undefined> {
    return isJwtShaped(token) ? this.d.refreshKeys.read(token) : refreshTokenKey(token);
  }

  /**
   * Rotates a refresh token. Presenting one that was already used means it leaked (or a client
   * raced itself): the whole family is revoked, as OAuth 2.0 Security BCP §4.14 advises.
   */
  async refresh(refreshToken: string, grant: RefreshGrant = {}): Promise<TokenPair> {
    const key = await this.presented(refreshToken);
    const found = key && (await this.d.store.read.tokens.findRefresh(key));
    const now = this.d.clock.now();
    if (!found || found.revoked_at !== null || found.expires_at <= now) throw tokenInvalid();
    if (grant.tenant && found.tenant_pk !== grant.tenant.pk) throw tokenInvalid();
    if (grant.enforceClient && (found.client_pk ?? undefined) !== grant.client?.pk) throw tokenInvalid();
    const client = found.client_pk === null ? undefined : await this.d.clients.byPk(found.client_pk);
    // A refresh names only scopes of the original grant (RFC 6749 §6): those granted at sign-in;
    // for a sign-in that asked none (an unrestricted token, no scope claim), the scopes its client
    // is registered with, which it could have asked then (requests-oauthlib names the session's
    // scope only when refreshing). With no client, or a client registered with no scopes, none.
    const granted = found.scope ? found.scope.split(' ') : client?.scopes ?? [];
    this.d.clients.checkGrant(grant.client, 'refresh_token', grant.scopes ?? []);
    if (grant.scopes?.some((s) => !granted.includes(s))) {
      throw new DomainError('INVALID_SCOPE', 'A refresh cannot widen the scope granted at sign-in.');
    }
    const scope = grant.scopes && grant.scopes.length > 0 ? grant.scopes.join(' ') : found.scope ?? '';
    const user = await this.d.store.read.users.findByPk(found.user_pk);
    const tenant = user && (await this.d.tenants.byPk(user.tenantPk));
    if (!user || !tenant || standing(user, tenant, found.tenant_pk) !== 'stands') throw tokenInvalid();
    if (key.userId !== undefined && key.userId !== user.id) throw tokenInvalid();
    const settings = await this.d.settings.forTenant(tenant.pk);
    const next = await this.newRefresh(found.family_id, user.id, now, settings, grant.refreshFormat);
    const rotated = await this.d.store.transaction(async (r) => {
      if (await r.tokens.consumeRefresh(found, now)) {
        await r.tokens.insertRefresh({ token_hash: next.hash, family_id: found.family_id, created_at: now, expires_at: now + settings.refresh_token_lifetime * 1000 });
        return true;
      }
      // Used before (or by a request that won the race with this one): the family is revoked.
      await r.tokens.revokeFamily(found.family_id, 'refresh_token_reused', now);
      await this.d.events.emit({ type: 'refresh_token.reused', tenantPk: found.tenant_pk, userPk: found.user_pk, detail: { family: found.family_id } });
      return false;
    });
    if (!rotated) throw tokenInvalid();
    const groups = await this.d.store.read.groups.namesForUser(user.pk);
    const { token } = await this.d.accessTokens.issue({
      userId: user.id, username: user.username, tenant: tenant.name, familyId: found.family_id, groups,
      lifetimeSeconds: settings.access_token_lifetime, clientId: client?.clientId, scope, ...tokenSettings(settings),
    });
    return { access: token, refresh: next.token, expiresIn: settings.access_token_lifetime, scope };
  }
}
