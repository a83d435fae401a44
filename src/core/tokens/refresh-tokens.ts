// The refresh token's format: `<family id>.<secret>`. The family id lets the store find the
// token by its family (one key probe, and a rotation that writes one page); it is no secret (an
// access token's `fam` claim carries it too), so only the secret's 32 random bytes guard the
// token, and only the hash of the whole token is stored. Tokens issued before this format (the
// secret alone) are still read, from the table they were stored in.
import { isUuid, randomToken, sha256 } from '../secrets.ts';

export interface RefreshTokenKey {
  /** The family named in the token; undefined for a token of the earlier format. */
  familyId?: string;
  /** SHA-256 of the whole token: what the store keeps. */
  hash: string;
}

export function newRefreshToken(familyId: string): { token: string; hash: string } {
  const token = `${familyId}.${randomToken(32)}`;
  return { token, hash: sha256(token) };
}

/** The key to look a presented token up by, or undefined when it cannot be one of ours. */
export function refreshTokenKey(token: string): RefreshTokenKey | undefined {
  if (token.length === 0 || token.length > 512) return undefined;
  const dot = token.indexOf('.');
  if (dot < 0) return { hash: sha256(token) };
  const familyId = token.slice(0, dot);
  if (!isUuid(familyId) || familyId !== familyId.toLowerCase()) return undefined;
  return { familyId, hash: sha256(token) };
}
