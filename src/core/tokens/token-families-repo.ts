// What token pairs, sign-out and the list of sign-ins need stored: refresh-token families (a
// sign-in) and their refresh tokens. The store implements it. Fields keep the columns' names.
import type { RefreshTokenKey } from './refresh-tokens.ts';

export interface FamilyRecord {
  id: string;
  tenant_pk: number;
  user_pk: number;
  created_at: number;
  revoked_at: number | null;
  revoked_reason: string | null;
  client_pk: number | null;
  scope: string | null;
  /** The session it was handed out with (the headless app client's pair), if any: ending that session ends the family. */
  session_id?: string | null;
}

/** A stored refresh token with its family's fields. */
export interface RefreshLookup {
  token_hash: string;
  family_id: string;
  /** Stored in the earlier format (a token issued before tokens named their family). */
  legacy: boolean;
  expires_at: number;
  used_at: number | null;
  user_pk: number;
  tenant_pk: number;
  revoked_at: number | null;
  client_pk: number | null;
  scope: string | null;
}

/** A family still signed in, with its newest refresh token's expiry and its client's id. */
export interface LiveFamily {
  id: string;
  created_at: number;
  client_id: string | null;
  expires_at: number;
}

export interface TokenFamiliesRepo {
  createFamily(f: Omit<FamilyRecord, 'revoked_at' | 'revoked_reason'>): Promise<void>;
  findFamily(id: string): Promise<FamilyRecord | undefined>;
  /** Revokes a live family (a revoked one keeps its first reason). */
  revokeFamily(id: string, reason: string, now: number): Promise<void>;
  /** Revokes every live family of a user but `keep` (the caller's own, when it changes its password). */
  revokeUserFamilies(userPk: number, reason: string, now: number, keep?: string): Promise<void>;
  /** Revokes every live family handed out with this session. */
  revokeSessionFamilies(sessionId: string, reason: string, now: number): Promise<void>;
  /** The user's live families (revoked ones and those with no live refresh token left out), newest first. */
  liveFamilies(userPk: number, now: number): Promise<LiveFamily[]>;
  insertRefresh(r: { token_hash: string; family_id: string; created_at: number; expires_at: number }): Promise<void>;
  /** A presented token by its key (see refresh-tokens.ts), with its family's fields. */
  findRefresh(key: RefreshTokenKey): Promise<RefreshLookup | undefined>;
  /** Marks a refresh token used; false when another request used it first (so at most one wins). */
  consumeRefresh(found: Pick<RefreshLookup, 'family_id' | 'token_hash' | 'legacy'>, now: number): Promise<boolean>;
  deleteExpired(now: number): Promise<void>;
}
