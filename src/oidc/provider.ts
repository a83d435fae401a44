// One oidc-provider per tenant, built on first use and cached; rebuilt when the signing keys
// rotate (the provider signs ID tokens with the key ring's current keys). The module itself is
// loaded on first use too: an idle server that nobody signs in to through OIDC does not pay for it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Core, Tenant } from '../core/index.ts';
import { tenantIssuer } from '../core/tokens/access-tokens.ts';
import { adapterClass } from './adapter.ts';
import { PROVIDER_SCOPES } from './clients.ts';
import { ExpirySweep } from './sweep.ts';
import { ACR_2FA, ACR_VALUES, asksTwoFactors } from './acr.ts';

type ProviderModule = typeof import('oidc-provider');
export type OidcProvider = InstanceType<ProviderModule['default']>;

/** The provider's own endpoints, under the issuer, below a prefix that no dialect uses. */
export const ROUTES = {
  authorization: '/oidc/auth',
  token: '/oidc/token',
  userinfo: '/oidc/me',
  jwks: '/oidc/jwks',
  introspection: '/oidc/token/introspection',
  revocation: '/oidc/token/revocation',
  end_session: '/oidc/session/end',
  pushed_authorization_request: '/oidc/request',
  backchannel_authentication: '/oidc/backchannel',
  code_verification: '/oidc/device',
  device_authorization: '/oidc/device/auth',
  registration: '/oidc/reg',
  challenge: '/oidc/challenge',
} as const;

/** Path of the interaction pages, under the issuer's path (oidc-routes.ts serves them). */
export const INTERACTION_PATH = '/interaction';

let loaded: ProviderModule | undefined;
async function loadProvider(): Promise<ProviderModule> {
  loaded ??= await import('oidc-provider');
  return loaded;
}

const sha256Hex = (s: string) => createHash('sha256').update(s).digest('hex');

/** The hosted pages the provider draws itself (oidc-routes.ts supplies them from src/http/pages). */
export interface ProviderPages {
  /** A request the provider refuses before it can redirect (a wrong redirect URI, an unknown client). */
  error(tenant: Tenant, opts: { status: number; error: string; description: string; headers: Record<string, unknown>; uiLocales?: string }): Promise<Page>;
  /** RP-initiated logout's question; `form` is the provider's own form (its xsrf field), which the page's buttons submit. */
  logout(tenant: Tenant, opts: { form: string; clientName?: string; headers: Record<string, unknown>; uiLocales?: string }): Promise<Page>;
  /** After a logout that names no post_logout_redirect_uri. */
  loggedOut(tenant: Tenant, opts: { headers: Record<string, unknown>; uiLocales?: string }): Promise<Page>;
}
export interface Page {
  html: string;
  headers: Record<string, string>;
}

export interface TenantProvider {
  provider: OidcProvider;
  tenant: Tenant;
  issuer: string;
  /** The issuer's path below the host: '' for default, '/tenants/NAME' otherwise. */
  basePath: string;
}

export class OidcProviders {
  private readonly core: Core;
  private readonly publicUrl: string;
  private readonly cache = new Map<string, { version: string; built: Promise<TenantProvider> }>();
  private readonly pages: ProviderPages;
  /** One sweep of expired rows for every tenant's provider. */
  readonly sweep: ExpirySweep;

  constructor(core: Core, publicUrl: string, pages: ProviderPages) {
    this.core = core;
    this.sweep = new ExpirySweep((now) => core.store.transaction((r) => r.oidcPayloads.deleteExpired(now)));
    this.publicUrl = publicUrl.replace(/\/+$/, '');
    this.pages = pages;
  }

  issuerOf(tenantName: string): string {
    return tenantIssuer(this.publicUrl, tenantName);
  }

  /** The tenant's provider; throws the core's TENANT_UNAVAILABLE for an unknown or disabled tenant. */
  async get(tenantName: string): Promise<TenantProvider> {
    const tenant = await this.core.tenants.resolve(tenantName);
    const { keys, version } = await this.core.keys.currentPrivateJwks();
    const settings = await this.core.settings.forTenant(tenant.pk);
    const key = `${tenant.pk}`;
    const stamp = `${version}|${settings.access_token_lifetime}|${settings.refresh_token_lifetime}|${settings.token_signing_algorithm}|${settings.token_audience}`;
    const hit = this.cache.get(key);
    if (hit && hit.version === stamp) return hit.built;
    const built = this.build(tenant, keys).catch((err) => {
      this.cache.delete(key);
      throw err;
    });
    this.cache.set(key, { version: stamp, built });
    return built;
  }

  private async build(tenant: Tenant, jwks: object[]): Promise<TenantProvider> {
    const { default: Provider, errors, interactionPolicy } = await loadProvider();
    const core = this.core;
    const issuer = this.issuerOf(tenant.name);
    const basePath = new URL(issuer).pathname.replace(/\/+$/, '');
    const settings = await core.settings.forTenant(tenant.pk);
    const alg = settings.token_signing_algorithm;
    const pages = this.pages;
    const send = (ctx: { type: string; body: unknown; set(h: Record<string, string>): void }, page: Page) => {
      ctx.set(page.headers);
      ctx.type = 'html';
      ctx.body = page.html;
    };
    const uiLocales = (ctx: { oidc?: { params?: { ui_locales?: unknown } } }) => {
      const v = ctx.oidc?.params?.ui_locales;
      return typeof v === 'string' ? v : undefined;
    };
    // The sign-in prompt's checks run on every authorization request, a session or not, once the
    // client and its redirect URI are known: an unknown scope is refused there (invalid_scope, to
    // the registered redirect URI) instead of being dropped in silence, as the library would.
    const policy = interactionPolicy.base();
    policy.get('login')!.checks.push(new interactionPolicy.Check('unknown_scope', 'a requested scope is not offered', (ctx) => {
      // As sent (the library narrows params.scope to its own scopes before the checks run);
      // request objects and PAR are not offered, so the query or the form is where it came.
      const sent = (ctx.method === 'POST' ? (ctx.oidc.body as { scope?: unknown } | undefined) : ctx.query) ?? {};
      const scope = (sent as { scope?: unknown }).scope;
      const asked = typeof scope === 'string' ? scope.split(' ').filter(Boolean) : [];
      const unknown = asked.find((scope) => !PROVIDER_SCOPES.has(scope));
      if (unknown !== undefined) throw new errors.InvalidScope('requested scope is not offered here', unknown);
      return interactionPolicy.Check.NO_NEED_TO_PROMPT;
    }));
    // A client asking for two factors (acr.ts) gets the sign-in again when the session proved one.
    policy.get('login')!.checks.push(new interactionPolicy.Check('acr_2fa', 'two factors are asked for', (ctx) => {
      const { oidc } = ctx;
      if (!oidc.session?.accountId || oidc.result?.login || !asksTwoFactors(oidc.params as { acr_values?: unknown; claims?: unknown })) return interactionPolicy.Check.NO_NEED_TO_PROMPT;
      return oidc.session?.acr === ACR_2FA ? interactionPolicy.Check.NO_NEED_TO_PROMPT : interactionPolicy.Check.REQUEST_PROMPT;
    }));
    // Cookie signing keys: derived from the current signing keys, so every instance has them.
    const cookieKeys = (jwks as Array<{ d?: string; kid?: string }>).map((k) => sha256Hex(`oidc-cookies|${tenant.pk}|${k.d ?? k.kid}`));

    const provider = new Provider(issuer, {
      adapter: adapterClass(core, tenant.pk, this.sweep) as never,
      jwks: { keys: jwks as never },
      routes: ROUTES,
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      clientDefaults: { id_token_signed_response_alg: alg, grant_types: ['authorization_code'], response_types: ['code'] },
      enabledJWA: { idTokenSigningAlgValues: ['ES256', 'RS256'] } as never,
      cookies: { keys: cookieKeys },
      scopes: [...PROVIDER_SCOPES],
      acrValues: [...ACR_VALUES],
      claims: {
        // How the user signed in (acr.ts): in every ID token (userinfo's claims come from findAccount, which has none of these).
        openid: ['sub', 'acr', 'amr', 'auth_time'],
        profile: ['name', 'given_name', 'family_name', 'preferred_username', 'picture', 'updated_at', 'groups'],
        email: ['email', 'email_verified'],
        groups: ['groups'],
      },
      // The ID token carries the claims of the granted scopes, as most relying parties expect.
      conformIdTokenClaims: false,
      pkce: { required: (_ctx, client) => client.tokenEndpointAuthMethod === 'none' },
      rotateRefreshToken: true,
      extraTokenClaims: async (ctx) => {
        // A user's access token says how the user signed in, as the ID token does (acr.ts).
        const source = (ctx.oidc?.entities?.AuthorizationCode ?? ctx.oidc?.entities?.RefreshToken ?? ctx.oidc?.entities?.DeviceCode) as { acr?: unknown; amr?: unknown } | undefined;
        return source && (source.acr !== undefined || source.amr !== undefined) ? { acr: source.acr, amr: source.amr } : undefined;
      },
      ttl: {
        AccessToken: settings.access_token_lifetime,
        ClientCredentials: settings.access_token_lifetime,
        RefreshToken: settings.refresh_token_lifetime,
        AuthorizationCode: 60,
        IdToken: settings.access_token_lifetime,
        Interaction: 900,
        Session: 14 * 86_400,
        Grant: settings.refresh_token_lifetime,
      },
      extraClientMetadata: { properties: ['first_party'] },
      // A first-party client (clients.ts) is the tenant's own application: the grant of what it
      // asks for is made here, so no consent page is shown (unless the client asks with prompt=consent).
      loadExistingGrant: async (ctx) => {
        const { oidc } = ctx;
        const client = oidc.client!;
        const grantId = oidc.result?.consent?.grantId || oidc.session!.grantIdFor(client.clientId);
        const existing = grantId ? await oidc.provider.Grant.find(grantId) : undefined;
        if (!(client as unknown as { first_party?: unknown }).first_party || !oidc.session?.accountId) return existing;
        const grant = existing ?? new oidc.provider.Grant({ accountId: oidc.session.accountId, clientId: client.clientId });
        const scopes = [...oidc.requestParamOIDCScopes].filter((scope) => PROVIDER_SCOPES.has(scope));
        if (scopes.length) grant.addOIDCScope(scopes.join(' '));
        const claims = [...oidc.requestParamClaims];
        if (claims.length) grant.addOIDCClaims(claims);
        await grant.save();
        return grant;
      },
      // The library (and OpenID Connect's default) grants offline_access only with prompt=consent;
      // a first-party client allowed the refresh_token grant gets a refresh token without that
      // page. It is bound to the provider's session unless offline_access was granted.
      issueRefreshToken: async (_ctx, client, source) => client.grantTypeAllowed('refresh_token')
        && (source.scopes.has('offline_access') || (client as unknown as { first_party?: unknown }).first_party === true),
      features: {
        devInteractions: { enabled: false },
        // Not offered (docs/oidc.md); the library would otherwise advertise and serve it by default.
        pushedAuthorizationRequests: { enabled: false },
        introspection: { enabled: true },
        revocation: { enabled: true },
        // Advertised in discovery; the grant itself is answered before the provider, through the
        // core (oidc-routes.ts, ClientGrants), as are introspection and revocation of JWTs.
        clientCredentials: { enabled: true },
        userinfo: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: async (ctx, form) => {
            const client = ctx.oidc.client;
            send(ctx, await pages.logout(tenant, { form, clientName: client?.clientName ?? undefined, headers: ctx.req.headers, uiLocales: uiLocales(ctx) }));
          },
          postLogoutSuccessSource: async (ctx) => {
            send(ctx, await pages.loggedOut(tenant, { headers: ctx.req.headers, uiLocales: uiLocales(ctx) }));
          },
        },
      },
      interactions: { policy, url: (_ctx, interaction) => `${basePath}${INTERACTION_PATH}/${interaction.uid}` },
      findAccount: async (_ctx, sub) => {
        const user = await core.store.read.users.findById(sub);
        if (!user || user.tenantPk !== tenant.pk || !user.isActive) return undefined;
        return {
          accountId: user.id,
          claims: async () => {
            const groups = await core.store.read.groups.namesForUser(user.pk);
            const name = [user.firstName, user.lastName].filter(Boolean).join(' ');
            return {
              sub: user.id,
              preferred_username: user.username,
              ...(name ? { name } : {}),
              ...(user.firstName ? { given_name: user.firstName } : {}),
              ...(user.lastName ? { family_name: user.lastName } : {}),
              ...(user.avatar ? { picture: user.avatar } : {}),
              updated_at: Math.floor(user.updatedAt / 1000),
              ...(user.email ? { email: user.email, email_verified: user.emailVerified } : {}),
              groups,
            };
          },
        };
      },
      renderError: async (ctx, out) => {
        const status = ctx.status >= 400 ? ctx.status : 400;
        const page = await pages.error(tenant, { status, error: String(out.error), description: String(out.error_description ?? ''), headers: ctx.req.headers, uiLocales: uiLocales(ctx) });
        send(ctx, page);
        ctx.status = status;
      },
    });
    // The issuer is PUBLIC_URL: the mount hands the provider the public host and scheme.
    provider.proxy = true;
    // Client secrets are kept as SHA-256 (clients.ts): compare the hash of the presented one.
    const Client = provider.Client as unknown as { prototype: { compareClientSecret(this: { clientSecret?: string }, actual: string): boolean } };
    Client.prototype.compareClientSecret = function compare(actual: string) {
      const stored = Buffer.from(this.clientSecret ?? '', 'utf8');
      const presented = Buffer.from(sha256Hex(String(actual)), 'utf8');
      return stored.length === presented.length && timingSafeEqual(stored, presented);
    };
    installJwtAccessTokens(provider, core, tenant, { alg, audience: settings.token_audience });
    // Error bodies carry `detail` too, as every token endpoint of the service (design.md).
    provider.use(async (ctx, next) => {
      await next();
      const body = ctx.body as Record<string, unknown> | undefined;
      if (ctx.status >= 400 && body && typeof body === 'object' && !Buffer.isBuffer(body) && typeof body.error === 'string' && !('detail' in body)) {
        ctx.body = { ...body, detail: typeof body.error_description === 'string' ? body.error_description : body.error };
      }
    });
    return { provider, tenant, issuer, basePath };
  }
}

/**
 * Access tokens are stored as the provider keeps them (opaque, by jti: introspection, revocation
 * and userinfo work as they do), but what the client receives is the service's own access JWT
 * with that jti (access-tokens.ts), which the adapter maps back to the jti.
 */
function installJwtAccessTokens(provider: OidcProvider, core: Core, tenant: Tenant, opts: { alg: 'ES256' | 'RS256'; audience: string }) {
  for (const model of [provider.AccessToken] as unknown as Array<{ prototype: Record<string, unknown> }>) {
    const original = model.prototype.getValueAndPayload as (this: unknown) => Promise<{ value: string; payload: Record<string, unknown> }>;
    model.prototype.getValueAndPayload = async function getValueAndPayload(this: Record<string, unknown>) {
      const out = await original.call(this);
      const p = out.payload;
      const extra = (p.extra ?? {}) as { acr?: unknown; amr?: unknown };
      const scope = typeof p.scope === 'string' ? p.scope : undefined;
      const accountId = typeof p.accountId === 'string' ? p.accountId : undefined;
      let username: string | undefined;
      let groups: string[] = [];
      if (accountId) {
        const user = await core.store.read.users.findById(accountId);
        if (user) {
          username = user.username;
          groups = await core.store.read.groups.namesForUser(user.pk);
        }
      }
      const value = await core.accessTokens.issueForProvider({
        sub: accountId ?? String(p.clientId), tenant: tenant.name, grantId: String(p.grantId ?? p.jti), jti: String(p.jti),
        iat: Number(p.iat), exp: Number(p.exp), clientId: String(p.clientId), scope,
        username, groups, algorithm: opts.alg, audience: opts.audience || undefined,
        ...(typeof extra.acr === 'string' ? { acr: extra.acr } : {}),
        ...(Array.isArray(extra.amr) ? { amr: extra.amr.filter((m): m is string => typeof m === 'string') } : {}),
      });
      return { value, payload: p };
    };
  }
}
