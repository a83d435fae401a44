// One oidc-provider per tenant, built on first use and cached; rebuilt when the signing keys
// rotate (the provider signs ID tokens with the key ring's current keys). The module itself is
// loaded on first use too: an idle server that nobody signs in to through OIDC does not pay for it.
import { createHash, timingSafeEqual } from 'node:crypto';
import { createRequire } from 'node:module';
import type { Core, Tenant } from '../core/index.ts';
import { tenantIssuer } from '../core/tokens/access-tokens.ts';
import { adapterClass } from './adapter.ts';
import { PROVIDER_SCOPES } from './clients.ts';

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
  /** Renders the provider's own error pages (a wrong redirect URI, a bad request before one is known). */
  private readonly renderError: (tenant: Tenant, status: number, title: string, message: string, headers: Record<string, unknown>) => Promise<string>;

  constructor(core: Core, publicUrl: string, renderError: OidcProviders['renderError']) {
    this.core = core;
    this.publicUrl = publicUrl.replace(/\/+$/, '');
    this.renderError = renderError;
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
    const { default: Provider, errors } = await loadProvider();
    const core = this.core;
    const issuer = this.issuerOf(tenant.name);
    const basePath = new URL(issuer).pathname.replace(/\/+$/, '');
    const settings = await core.settings.forTenant(tenant.pk);
    const alg = settings.token_signing_algorithm;
    const renderError = this.renderError;
    // Cookie signing keys: derived from the current signing keys, so every instance has them.
    const cookieKeys = (jwks as Array<{ d?: string; kid?: string }>).map((k) => sha256Hex(`oidc-cookies|${tenant.pk}|${k.d ?? k.kid}`));

    const provider = new Provider(issuer, {
      adapter: adapterClass(core, tenant.pk) as never,
      jwks: { keys: jwks as never },
      routes: ROUTES,
      clientAuthMethods: ['client_secret_basic', 'client_secret_post', 'none'],
      clientDefaults: { id_token_signed_response_alg: alg, grant_types: ['authorization_code'], response_types: ['code'] },
      enabledJWA: { idTokenSigningAlgValues: ['ES256', 'RS256'] } as never,
      cookies: { keys: cookieKeys },
      scopes: [...PROVIDER_SCOPES],
      claims: {
        openid: ['sub'],
        profile: ['name', 'given_name', 'family_name', 'preferred_username', 'picture', 'updated_at', 'groups'],
        email: ['email', 'email_verified'],
        groups: ['groups'],
      },
      // The ID token carries the claims of the granted scopes, as most relying parties expect.
      conformIdTokenClaims: false,
      pkce: { required: (_ctx, client) => client.tokenEndpointAuthMethod === 'none' },
      rotateRefreshToken: true,
      // The provider keeps only its own scopes on a client-credentials token; the client's
      // registered ones (`reports`, ...) travel as an extra claim, checked where the token is made.
      extraTokenClaims: async (ctx, token) => {
        // The parameters keep only the provider's own scopes: the form has what was asked.
        const asked = (ctx.oidc?.body as { scope?: unknown } | undefined)?.scope;
        return token.kind === 'ClientCredentials' && typeof asked === 'string' && asked ? { scope: asked } : undefined;
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
      features: {
        devInteractions: { enabled: false },
        introspection: { enabled: true },
        revocation: { enabled: true },
        clientCredentials: { enabled: true },
        userinfo: { enabled: true },
        rpInitiatedLogout: {
          enabled: true,
          logoutSource: async (ctx, form) => {
            // The confirmation page: one button that posts the provider's own form (its xsrf field).
            ctx.type = 'html';
            ctx.body = `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Sign out</title></head><body><main><h1>Sign out</h1>${form}<button form="op.logoutForm" type="submit" name="logout" value="yes" autofocus>Sign out</button></main></body></html>`;
          },
          postLogoutSuccessSource: async (ctx) => {
            ctx.type = 'html';
            ctx.body = '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Signed out</title></head><body><main><h1>You are signed out</h1></main></body></html>';
          },
        },
      },
      interactions: { url: (_ctx, interaction) => `${basePath}${INTERACTION_PATH}/${interaction.uid}` },
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
        ctx.type = 'html';
        ctx.body = await renderError(tenant, status, String(out.error), String(out.error_description ?? 'The request could not be completed.'), ctx.req.headers);
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
    installJwtAccessTokens(provider, core, tenant, { alg, audience: settings.token_audience, InvalidScope: errors.InvalidScope });
    return { provider, tenant, issuer, basePath };
  }
}

/**
 * Access tokens are stored as the provider keeps them (opaque, by jti: introspection, revocation
 * and userinfo work as they do), but what the client receives is the service's own access JWT
 * with that jti (access-tokens.ts), which the adapter maps back to the jti.
 */
function installJwtAccessTokens(provider: OidcProvider, core: Core, tenant: Tenant, opts: { alg: 'ES256' | 'RS256'; audience: string; InvalidScope: new (description: string, scope: string) => Error }) {
  for (const model of [provider.AccessToken, provider.ClientCredentials] as unknown as Array<{ prototype: Record<string, unknown> }>) {
    const original = model.prototype.getValueAndPayload as (this: unknown) => Promise<{ value: string; payload: Record<string, unknown> }>;
    model.prototype.getValueAndPayload = async function getValueAndPayload(this: Record<string, unknown>) {
      const out = await original.call(this);
      const p = out.payload;
      const extra = (p.extra ?? {}) as { scope?: unknown };
      const scope = typeof p.scope === 'string' ? p.scope : typeof extra.scope === 'string' ? extra.scope : undefined;
      if (this.kind === 'ClientCredentials' && scope) {
        // The client's registered scopes bound what it may ask for (ClientsService.checkGrant's rule).
        const client = await core.store.read.clients.find(String(p.clientId));
        const unknown = scope.split(' ').find((s) => !client || (client.scopes.length > 0 && !client.scopes.includes(s)));
        if (unknown !== undefined) throw new opts.InvalidScope('requested scope is not allowed', unknown);
      }
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
      });
      return { value, payload: p };
    };
  }
}
