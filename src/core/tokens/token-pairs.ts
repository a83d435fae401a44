// Token pairs: an access token and a refresh token of one family (a sign-in), as the v1 and
// OAuth2 APIs hand them out. A new pair starts a family; refreshing rotates within it.
import type { Repos, Store } from '../../store/index.ts';
import type { Clock } from '../clock.ts';
import { newUuid } from '../secrets.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { Settings } from '../settings/settings-schema.ts';
import type { AccessTokens } from './access-tokens.ts';
import { newRefreshToken } from './refresh-tokens.ts';
import type { RefreshKeys } from './refresh-keys.ts';
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

/** What a tenant's settings say about the tokens it issues. */
export const tokenSettings = (s: Settings) => ({ algorithm: s.token_signing_algorithm, audience: s.token_audience });

export class TokenPairs implements PairMaker {
  private readonly d: { store: Store; clock: Clock; settings: SettingsService; accessTokens: AccessTokens; refreshKeys: RefreshKeys };

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
      write: async (r: Repos) => {
        await r.tokens.createFamily({ id: familyId, tenant_pk: tenant.pk, user_pk: user.pk, created_at: now, client_pk: client?.pk ?? null, scope });
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
}
