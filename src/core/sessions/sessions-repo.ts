// What cookie sessions need stored (only hashes of their secrets); the store implements it.

export interface StoredSession {
  id: string;
  secret_hash: string;
  csrf_hash: string;
  tenant_pk: number;
  user_pk: number;
  created_at: number;
  expires_at: number;
  /** When a factor was last checked in this session (sign-in or reauthentication), for reauthentication's window. */
  authenticated_at: number | null;
  /** What the sign-in proved, space-separated (`pwd`, `otp`, `rc`, `webauthn`, ...). */
  amr: string | null;
}

export interface SessionsRepo {
  insert(s: StoredSession): Promise<void>;
  find(id: string): Promise<StoredSession | undefined>;
  /** The user's unexpired sessions, newest first. */
  liveForUser(userPk: number, now: number): Promise<StoredSession[]>;
  delete(id: string): Promise<void>;
  /** Deletes every session of the user but `keep`. */
  deleteForUser(userPk: number, keep?: string): Promise<void>;
  deleteExpired(now: number): Promise<void>;
  /** Records a reauthentication: `authenticated_at`, and `amr` grown by what was proven. */
  reauthenticated(id: string, at: number, amr: string): Promise<void>;
}
