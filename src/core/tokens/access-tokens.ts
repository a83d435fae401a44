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

/** Verified tokens are remembered until they expire, so a token's signature is checked once. */
const CACHE_MAX = 20_000;

export class AccessTokens {
  private readonly keys: KeyRing;
  private readonly clock: Clock;
  private readonly issuer: string;
  private readonly verified = new Map<string, AccessClaims>();

  constructor(keys: KeyRing, clock: Clock, issuer: string) {
    this.keys = keys;
    this.clock = clock;
    this.issuer = issuer;
  }

  async issue(input: IssueInput): Promise<{ token: string; claims: AccessClaims }> {
    const { sign } = await this.keys.signingKey(input.algorithm);
    const iat = Math.floor(this.clock.now() / 1000);
    const claims: AccessClaims = { sub: input.userId, tenant: input.tenant, fam: input.familyId, jti: newUuid(), iat, exp: iat + input.lifetimeSeconds };
    const token = sign({
      ...claims,
      iss: this.issuer,
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
          issuer: this.issuer,
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
    if (payload.token_type !== 'access' || typeof payload.tenant !== 'string' || typeof payload.fam !== 'string') {
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
