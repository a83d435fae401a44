// Speaking to an upstream provider, through openid-client (panva's certified relying party,
// over oauth4webapi): discovery, the authorization URL with state, nonce and PKCE, the code
// exchange with every check the library makes (state, `iss` of the response where the provider
// announces RFC 9207, the ID token's issuer, audience, signature, nonce and expiry), and the
// profile. A plain OAuth 2.0 preset (GitHub) runs through the same library without an ID token.
// The library's errors become two domain answers: the provider refused or answered wrongly
// (VALIDATION_FAILED), or it cannot be reached (UNAVAILABLE).
import * as oc from 'openid-client';
import { createRemoteJWKSet, customFetch, jwtVerify } from 'jose';
import { DomainError, validationError } from '../errors.ts';
import type { IdentityProviderRecord } from './identity-providers-repo.ts';
import { PRESETS, type Preset } from './presets.ts';
import { isInternalRefusal, publicFetch as guardedFetch } from './public-network.ts';

// openid-client's and jose's fetch hooks type their bodies their own way; at run time both are fetch's.
const publicFetch = guardedFetch as unknown as oc.CustomFetch;

const TIMEOUT_S = 10;
const CACHE_MS = 10 * 60_000;

/** What an upstream said of the person. */
export interface UpstreamIdentity {
  subject: string;
  email: string | null;
  emailVerified: boolean;
  name: string;
  givenName: string;
  familyName: string;
  preferredUsername: string | null;
  amr: string[];
}

/** A provider with its secret opened and its preset applied: what talking to it needs. */
export interface EffectiveProvider {
  record: IdentityProviderRecord;
  preset: Preset;
  clientSecret: string | null;
  issuer: string | null;
  authorizationEndpoint: string | null;
  tokenEndpoint: string | null;
  userinfoEndpoint: string | null;
  emailsEndpoint: string | null;
  scopes: string[];
}

export function effective(record: IdentityProviderRecord, clientSecret: string | null): EffectiveProvider {
  const preset = PRESETS[record.kind];
  return {
    record, preset, clientSecret,
    issuer: record.issuer ?? preset.issuer ?? null,
    authorizationEndpoint: record.authorizationEndpoint ?? preset.authorizationEndpoint ?? null,
    tokenEndpoint: record.tokenEndpoint ?? preset.tokenEndpoint ?? null,
    userinfoEndpoint: record.userinfoEndpoint ?? preset.userinfoEndpoint ?? null,
    emailsEndpoint: record.emailsEndpoint ?? preset.emailsEndpoint ?? null,
    scopes: record.scopes.length > 0 ? record.scopes : preset.scopes,
  };
}

/** Plain http is refused but on the loopback interface (a provider on the same machine, a test's). */
export function isLoopbackHttp(url: URL): boolean {
  return url.protocol === 'http:' && ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
}

export const unreachable = (name: string) => new DomainError('UNAVAILABLE', `The identity provider "${name}" cannot be reached; try again later.`);
export const refusedUpstream = (message: string) => validationError({ non_field_errors: [message] });

function classify(err: unknown, name: string): DomainError {
  if (err instanceof DomainError) return err;
  if (isInternalRefusal(err)) return refusedUpstream(`The identity provider "${name}" is on an internal network address: only a superuser may set up such a provider.`);
  if (err instanceof oc.AuthorizationResponseError) {
    return refusedUpstream(`The identity provider "${name}" did not sign you in (${err.error}).`);
  }
  if (err instanceof oc.ResponseBodyError) {
    if (err.status >= 500) return unreachable(name);
    return refusedUpstream(`The identity provider "${name}" refused the sign-in (${err.error}).`);
  }
  if (err instanceof oc.ClientError) {
    const code = (err as { code?: string }).code ?? '';
    // Its answer could not be had at all (network, timeout, not JSON, an error page).
    if (code === 'OAUTH_RESPONSE_IS_NOT_JSON' || code === 'OAUTH_RESPONSE_IS_NOT_CONFORM' || err.cause instanceof TypeError || /fetch failed|aborted|timeout/i.test(String((err.cause as Error | undefined)?.message ?? ''))) return unreachable(name);
    return refusedUpstream(`The answer of the identity provider "${name}" was refused: ${err.message}`);
  }
  return unreachable(name);
}

export class UpstreamClient {
  private readonly cache = new Map<string, { config: oc.Configuration; at: number }>();
  private readonly keySets = new Map<string, ReturnType<typeof createRemoteJWKSet>>();
  /** A development server (PUBLIC_URL on loopback http) connects anywhere. */
  private readonly anywhere: boolean;

  constructor(opts: { anywhere?: boolean } = {}) {
    this.anywhere = opts.anywhere ?? false;
  }

  /** The public internet only, unless a superuser saved the provider's addresses (public-network.ts). */
  private publicOnly(p: EffectiveProvider): boolean {
    return !this.anywhere && !p.record.internalNetwork;
  }

  /**
   * Tokens an app obtained from the provider itself (its native SDK): an ID token, verified
   * against the provider's published keys with its issuer and our client id as audience (there is
   * no nonce of ours to check); or, for a plain OAuth 2.0 provider, an access token, which the
   * profile API must accept.
   */
  async identifyToken(p: EffectiveProvider, t: { idToken?: string; accessToken?: string }): Promise<UpstreamIdentity> {
    const config = await this.configuration(p);
    try {
      if (p.preset.protocol === 'oidc') {
        if (!t.idToken) throw refusedUpstream('An id_token is required for this provider.');
        const meta = config.serverMetadata();
        if (!meta.jwks_uri) throw refusedUpstream(`The identity provider "${p.record.name}" publishes no keys.`);
        const guarded = this.publicOnly(p);
        let keys = this.keySets.get(`${guarded}:${meta.jwks_uri}`);
        if (!keys) {
          keys = createRemoteJWKSet(new URL(meta.jwks_uri), { timeoutDuration: TIMEOUT_S * 1000, ...(guarded ? { [customFetch]: guardedFetch } : {}) });
          if (this.keySets.size > 1000) this.keySets.clear();
          this.keySets.set(`${guarded}:${meta.jwks_uri}`, keys);
        }
        const { payload } = await jwtVerify(t.idToken, keys, { issuer: meta.issuer, audience: p.record.clientId, requiredClaims: ['sub', 'exp', 'iat'] }).catch((err: unknown) => {
          const code = (err as { code?: string }).code ?? '';
          if (code === 'ERR_JWKS_TIMEOUT' || err instanceof TypeError) throw unreachable(p.record.name);
          throw refusedUpstream(`The ID token was refused: ${(err as Error).message}`);
        });
        const claims: Record<string, unknown> = { ...payload };
        if (claims.email === undefined && t.accessToken && meta.userinfo_endpoint) {
          for (const [k, v] of Object.entries(await oc.fetchUserInfo(config, t.accessToken, String(claims.sub)))) if (claims[k] === undefined) claims[k] = v;
        }
        return fromClaims(claims);
      }
      if (!t.accessToken) throw refusedUpstream('An access_token is required for this provider.');
      return await this.githubProfile(config, p, t.accessToken);
    } catch (err) {
      throw classify(err, p.record.name);
    }
  }

  /** The library's configuration of a provider: discovered for OpenID Connect (cached ten minutes), built from the endpoints for OAuth 2.0. */
  async configuration(p: EffectiveProvider, fresh = false): Promise<oc.Configuration> {
    const guarded = this.publicOnly(p);
    const key = `${p.record.pk}:${p.record.updatedAt}:${guarded}`;
    const hit = this.cache.get(key);
    if (!fresh && hit && Date.now() - hit.at < CACHE_MS) return hit.config;
    const auth = p.clientSecret ? oc.ClientSecretPost(p.clientSecret) : oc.None();
    let config: oc.Configuration;
    try {
      if (p.preset.protocol === 'oidc') {
        const issuer = new URL(p.issuer!);
        config = await oc.discovery(issuer, p.record.clientId, p.clientSecret ?? undefined, auth, {
          timeout: TIMEOUT_S, execute: isLoopbackHttp(issuer) ? [oc.allowInsecureRequests] : [],
          ...(guarded ? { [oc.customFetch]: publicFetch } : {}),
        });
        // The ID token's signature is checked against the provider's published keys, not only trusted for coming over TLS.
        oc.enableNonRepudiationChecks(config);
        // Endpoints set on the provider win over discovery's (a stand-in, a proxy).
        const m = JSON.parse(JSON.stringify(config.serverMetadata())) as oc.ServerMetadata;
        if (p.record.authorizationEndpoint || p.record.tokenEndpoint || p.record.userinfoEndpoint) {
          config = new oc.Configuration({
            ...m,
            ...(p.record.authorizationEndpoint ? { authorization_endpoint: p.record.authorizationEndpoint } : {}),
            ...(p.record.tokenEndpoint ? { token_endpoint: p.record.tokenEndpoint } : {}),
            ...(p.record.userinfoEndpoint ? { userinfo_endpoint: p.record.userinfoEndpoint } : {}),
          }, p.record.clientId, p.clientSecret ?? undefined, auth);
          oc.enableNonRepudiationChecks(config);
          if (isLoopbackHttp(issuer)) oc.allowInsecureRequests(config);
        }
      } else {
        const authorize = new URL(p.authorizationEndpoint!);
        config = new oc.Configuration({
          issuer: authorize.origin, authorization_endpoint: p.authorizationEndpoint!, token_endpoint: p.tokenEndpoint!,
        }, p.record.clientId, p.clientSecret ?? undefined, auth);
        if ([p.authorizationEndpoint!, p.tokenEndpoint!, p.userinfoEndpoint ?? 'https://x'].some((u) => isLoopbackHttp(new URL(u)))) oc.allowInsecureRequests(config);
      }
    } catch (err) {
      throw classify(err, p.record.name);
    }
    config.timeout = TIMEOUT_S;
    if (guarded) config[oc.customFetch] = publicFetch;
    if (this.cache.size > 1000) this.cache.clear();
    this.cache.set(key, { config, at: Date.now() });
    return config;
  }

  /** Where the browser goes to sign in upstream. */
  async authorizationUrl(p: EffectiveProvider, a: { redirectUri: string; state: string; nonce: string; codeVerifier: string; loginHint?: string }): Promise<string> {
    const config = await this.configuration(p);
    const params: Record<string, string> = {
      redirect_uri: a.redirectUri, scope: p.scopes.join(' '), state: a.state,
      code_challenge: await oc.calculatePKCECodeChallenge(a.codeVerifier), code_challenge_method: 'S256',
    };
    if (p.preset.protocol === 'oidc') params.nonce = a.nonce;
    if (p.preset.formPost) params.response_mode = 'form_post';
    if (a.loginHint) params.login_hint = a.loginHint;
    return oc.buildAuthorizationUrl(config, params).href;
  }

  /** Exchanges the callback's code (every check of the library) and reads who signed in. */
  async identify(p: EffectiveProvider, callback: URL, a: { state: string; nonce: string; codeVerifier: string; redirectUri: string }): Promise<UpstreamIdentity> {
    const config = await this.configuration(p);
    // The library compares the callback with redirect_uri: the URL as registered, with the query the provider sent.
    const current = new URL(a.redirectUri);
    current.search = callback.search;
    // Apple's `user` (posted with the code, the first time) is not the library's: taken off, read for the name alone.
    const posted = p.preset.formPost ? postedNames(current.searchParams.get('user')) : {};
    current.searchParams.delete('user');
    try {
      if (p.preset.protocol === 'oidc') {
        const tokens = await oc.authorizationCodeGrant(config, current, { pkceCodeVerifier: a.codeVerifier, expectedState: a.state, expectedNonce: a.nonce, idTokenExpected: true });
        // The ID token's claims win; the unsigned `user` adds only names it lacks.
        const claims: Record<string, unknown> = { ...posted, ...tokens.claims()! };
        const userinfo = config.serverMetadata().userinfo_endpoint;
        if ((claims.email === undefined || claims.name === undefined) && userinfo && tokens.access_token) {
          const more = await oc.fetchUserInfo(config, tokens.access_token, String(claims.sub));
          for (const [k, v] of Object.entries(more)) if (claims[k] === undefined) claims[k] = v;
        }
        return fromClaims(claims);
      }
      const tokens = await oc.authorizationCodeGrant(config, current, { pkceCodeVerifier: a.codeVerifier, expectedState: a.state, idTokenExpected: false });
      return await this.githubProfile(config, p, tokens.access_token);
    } catch (err) {
      throw classify(err, p.record.name);
    }
  }

  /** GitHub's profile API: the user's numeric id, and its addresses with whether each is verified. */
  private async githubProfile(config: oc.Configuration, p: EffectiveProvider, accessToken: string): Promise<UpstreamIdentity> {
    const headers = new Headers({ accept: 'application/vnd.github+json', 'user-agent': 'Latchkey' });
    const read = async (url: string) => {
      const res = await oc.fetchProtectedResource(config, accessToken, new URL(url), 'GET', undefined, headers);
      if (!res.ok) throw res.status >= 500 ? unreachable(p.record.name) : refusedUpstream(`The identity provider "${p.record.name}" refused its profile (${res.status}).`);
      return res.json() as Promise<unknown>;
    };
    const user = (await read(p.userinfoEndpoint!)) as Record<string, unknown>;
    if (user === null || typeof user !== 'object' || (typeof user.id !== 'number' && typeof user.id !== 'string')) throw refusedUpstream(`The identity provider "${p.record.name}" answered no user id.`);
    let email: string | null = null;
    let verified = false;
    if (p.emailsEndpoint) {
      const list = await read(p.emailsEndpoint);
      const primary = Array.isArray(list) ? list.find((e) => e && typeof e === 'object' && e.primary === true && typeof e.email === 'string') : undefined;
      if (primary) {
        email = primary.email;
        verified = primary.verified === true;
      }
    }
    if (email === null && typeof user.email === 'string') email = user.email;
    const name = typeof user.name === 'string' ? user.name : '';
    return {
      subject: String(user.id), email, emailVerified: verified, name, givenName: '', familyName: '',
      preferredUsername: typeof user.login === 'string' ? user.login : null, amr: [],
    };
  }
}

/** The names in Apple's posted `user` (`{"name":{"firstName","lastName"}}`), as claims; nothing else of it is believed. */
function postedNames(user: string | null): Record<string, string> {
  if (!user || user.length > 2000) return {};
  try {
    const name = (JSON.parse(user) as { name?: { firstName?: unknown; lastName?: unknown } }).name;
    const given = typeof name?.firstName === 'string' ? name.firstName.slice(0, 150) : '';
    const family = typeof name?.lastName === 'string' ? name.lastName.slice(0, 150) : '';
    return { ...(given ? { given_name: given } : {}), ...(family ? { family_name: family } : {}), ...(given || family ? { name: `${given} ${family}`.trim() } : {}) };
  } catch {
    return {};
  }
}

function fromClaims(c: Record<string, unknown>): UpstreamIdentity {
  const str = (v: unknown) => (typeof v === 'string' ? v : '');
  return {
    subject: String(c.sub),
    email: typeof c.email === 'string' && c.email !== '' ? c.email : null,
    // Some providers (Apple) send the flag as a string.
    emailVerified: c.email_verified === true || c.email_verified === 'true',
    name: str(c.name), givenName: str(c.given_name), familyName: str(c.family_name),
    preferredUsername: typeof c.preferred_username === 'string' ? c.preferred_username : null,
    amr: Array.isArray(c.amr) ? c.amr.filter((x): x is string => typeof x === 'string') : [],
  };
}
