// JWT access tokens (RFC 9068 header `typ: at+jwt`), signed and checked with the key ring.
import { jwtVerify, type JWTPayload } from 'jose';
import type { Clock } from '../clock.ts';
import type { KeyRing, SigningAlg } from './key-ring.ts';
import { newUuid } from '../secrets.ts';
import { tokenInvalid } from '../errors.ts';

export interface AccessClaims {
  sub: string;
  tenant: string;
  /** The refresh-token family the token belongs to: revoking the family revokes the token. */
  fam: string;
  jti: string;
  iat: number;
  exp: number;
}

export interface IssueInput {
  userId: string;
  username: string;
  tenant: string;
  familyId: string;
  groups: string[];
  lifetimeSeconds: number;
  /** The registered client the token was issued to. */
  clientId?: string;
  /** Granted scopes, space-separated (RFC 9068 `scope`). */
  scope?: string;
  /** The tenant's `token_signing_algorithm` (ES256 when not given). */
  algorithm?: SigningAlg;
  /** The tenant's `token_audience`: an `aud` claim when not empty. */
  audience?: string;
}

/** A tenant's issuer (design.md): `default` is PUBLIC_URL, tenant NAME is PUBLIC_URL/tenants/NAME. */
export function tenantIssuer(publicUrl: string, tenant: string): string {
  const base = publicUrl.replace(/\/+$/, '');
  return tenant === 'default' ? base : `${base}/tenants/${encodeURIComponent(tenant)}`;
}

/**
 * The `fam` of an access token the OpenID provider issued: its grant, not a refresh family
 * (Credentials checks such a token against the provider's store).
 */
export const OIDC_FAMILY_PREFIX = 'oidc:';

/** Verified tokens are remembered until they expire, so a token's signature is checked once. */
const CACHE_MAX = 20_000;

export class AccessTokens {
  private readonly keys: KeyRing;
  private readonly clock: Clock;
  private readonly publicUrl: string;
  private readonly verified = new Map<string, AccessClaims>();

  constructor(keys: KeyRing, clock: Clock, publicUrl: string) {
    this.keys = keys;
    this.clock = clock;
    this.publicUrl = publicUrl;
  }

  issuerOf(tenant: string): string {
    return tenantIssuer(this.publicUrl, tenant);
  }

  /**
   * Whether `iss` is one of this service's issuers. Which tenant the token acts in is its `tenant`
   * claim, held to the user's own tenant by the credential rule (the answer a token of another
   * tenant has always had).
   */
  private isOurIssuer(iss: unknown): boolean {
    const base = this.issuerOf('default');
    return typeof iss === 'string' && (iss === base || (iss.startsWith(`${base}/tenants/`) && !iss.slice(base.length + 9).includes('/')));
  }

  async issue(input: IssueInput): Promise<{ token: string; claims: AccessClaims }> {
    const { sign } = await this.keys.signingKey(input.algorithm);
    const iat = Math.floor(this.clock.now() / 1000);
    const claims: AccessClaims = { sub: input.userId, tenant: input.tenant, fam: input.familyId, jti: newUuid(), iat, exp: iat + input.lifetimeSeconds };
    const token = sign({
      ...claims,
      iss: this.issuerOf(input.tenant),
      token_type: 'access', // the claim simplejwt-based resource servers check
      user_id: input.userId,
      username: input.username,
      groups: input.groups,
      ...(input.clientId ? { client_id: input.clientId } : {}),
      ...(input.scope ? { scope: input.scope } : {}),
      ...(input.audience ? { aud: input.audience } : {}),
    });
    return { token, claims };
  }

  /**
   * An access token the OpenID provider hands out (src/oidc/): the same format, with the
   * provider's own jti and lifetime; `fam` names its grant, `sub` the user (or the client, for
   * client credentials).
   */
  async issueForProvider(input: {
    sub: string; tenant: string; grantId: string; jti: string; iat: number; exp: number; clientId: string;
    scope?: string; username?: string; groups: string[]; algorithm?: SigningAlg; audience?: string;
    /** How the user signed in (the provider's `acr` and RFC 8176 `amr`), as the ID token says it. */
    acr?: string; amr?: string[];
  }): Promise<string> {
    const { sign } = await this.keys.signingKey(input.algorithm);
    return sign({
      sub: input.sub, tenant: input.tenant, fam: `${OIDC_FAMILY_PREFIX}${input.grantId}`, jti: input.jti, iat: input.iat, exp: input.exp,
      iss: this.issuerOf(input.tenant),
      token_type: 'access',
      ...(input.username !== undefined ? { user_id: input.sub, username: input.username } : {}),
      groups: input.groups,
      client_id: input.clientId,
      ...(input.scope ? { scope: input.scope } : {}),
      ...(input.audience ? { aud: input.audience } : {}),
      ...(input.acr ? { acr: input.acr } : {}),
      ...(input.amr?.length ? { amr: input.amr } : {}),
    });
  }

  /** A client-credentials token (client-grants.ts): the same format, naming the client and no user. */
  async issueForClient(input: {
    clientId: string; tenant: string; family: string; jti: string; iat: number; exp: number; scope?: string; algorithm?: SigningAlg; audience?: string;
  }): Promise<string> {
    const { sign } = await this.keys.signingKey(input.algorithm);
    return sign({
      sub: input.clientId, tenant: input.tenant, fam: input.family, jti: input.jti, iat: input.iat, exp: input.exp,
      iss: this.issuerOf(input.tenant), token_type: 'access', groups: [], client_id: input.clientId,
      ...(input.scope ? { scope: input.scope } : {}),
      ...(input.audience ? { aud: input.audience } : {}),
    });
  }

  /** Checks signature, algorithm, type, issuer and lifetime; throws TOKEN_INVALID otherwise. */
  async verify(token: string): Promise<AccessClaims> {
    const nowSec = this.clock.now() / 1000;
    const cached = this.verified.get(token);
    if (cached) {
      if (cached.exp > nowSec && cached.iat <= nowSec + 60) return cached;
      this.verified.delete(token);
      throw tokenInvalid('Given token not valid for any token type'); // the same answer as a full check: no hint that the token was seen before
    }
    let payload: JWTPayload;
    try {
      ({ payload } = await jwtVerify(
        token,
        async (header) => {
          const found = header.kid ? await this.keys.verificationKey(header.kid) : undefined;
          if (!found || found.alg !== header.alg) throw new Error('unknown key');
          return found.key;
        },
        {
          algorithms: ['ES256', 'RS256'],
          typ: 'at+jwt',
          currentDate: new Date(this.clock.now()),
          clockTolerance: 0,
          requiredClaims: ['sub', 'exp', 'iat', 'jti'],
        },
      ));
    } catch {
      throw tokenInvalid('Given token not valid for any token type');
    }
    if (payload.token_type !== 'access' || typeof payload.tenant !== 'string' || typeof payload.fam !== 'string' || !this.isOurIssuer(payload.iss)) {
      throw tokenInvalid('Given token not valid for any token type');
    }
    if (payload.iat! > nowSec + 60) throw tokenInvalid('Given token not valid for any token type');
    const claims: AccessClaims = {
      sub: payload.sub!, tenant: payload.tenant, fam: payload.fam, jti: payload.jti!, iat: payload.iat!, exp: payload.exp!,
    };
    if (this.verified.size >= CACHE_MAX) this.verified.clear();
    this.verified.set(token, claims);
    return claims;
  }
}
