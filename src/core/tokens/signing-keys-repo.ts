// What the key ring (key-ring.ts) needs stored: the JWT signing keys. The store implements it.

export type SigningKeyState = 'next' | 'current' | 'retired';

/** A signing key as stored (the JWKs as JSON text). */
export interface SigningKeyRecord {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  state: SigningKeyState;
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
}

export interface SigningKeysRepo {
  /** Every key, oldest first. */
  all(): Promise<SigningKeyRecord[]>;
  /** A second key of the same kid is a conflict (Store.isConflict). */
  insert(row: SigningKeyRecord): Promise<void>;
  /** Moves a key to `state`, stamping `activated_at` (current) or `retired_at` (retired) with `at`. */
  setState(kid: string, state: SigningKeyState, at: number): Promise<void>;
  deleteRetiredBefore(t: number): Promise<void>;
}
