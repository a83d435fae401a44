// What second factors need stored; the store implements it (src/store/repos/authenticators.ts).

export type AuthenticatorType = 'totp' | 'recovery_codes' | 'webauthn';

export interface AuthenticatorRecord {
  pk: number;
  tenantPk: number;
  userPk: number;
  type: AuthenticatorType;
  /** A passkey's name (the user's words); null for the others. */
  name: string | null;
  /** A passkey's credential id (base64url); null for the others. */
  credentialId: string | null;
  /** The type's own state as JSON (totp.ts, recovery-codes.ts, the passkeys' module say what). */
  data: string;
  createdAt: number;
  lastUsedAt: number | null;
}

export interface AuthenticatorsRepo {
  insert(a: Omit<AuthenticatorRecord, 'pk'>): Promise<number>;
  forUser(userPk: number): Promise<AuthenticatorRecord[]>;
  byCredentialId(credentialId: string): Promise<AuthenticatorRecord | undefined>;
  /**
   * Replaces `data` only if it is still `expected` (a code used once, a counter moved on): false
   * when another request changed it first, so two requests cannot both spend one code.
   */
  swapData(pk: number, expected: string, next: string, lastUsedAt: number): Promise<boolean>;
  rename(pk: number, name: string): Promise<void>;
  /** Authenticators of one type across every user, in pk order after `afterPk` (for resealing seeds). */
  listOfType(type: AuthenticatorType, afterPk: number, limit: number): Promise<AuthenticatorRecord[]>;
  delete(pk: number): Promise<void>;
  deleteForUser(userPk: number, type: AuthenticatorType): Promise<void>;
}

export interface WebauthnChallengeRecord {
  challengeHash: string;
  tenantPk: number;
  /** The user the ceremony is for; null for a passwordless sign-in (anyone's passkey). */
  userPk: number | null;
  purpose: 'register' | 'authenticate' | 'login' | 'signup';
  createdAt: number;
  expiresAt: number;
}

export interface WebauthnChallengesRepo {
  insert(c: WebauthnChallengeRecord): Promise<void>;
  /** Uses the challenge up and answers it; undefined when unknown, expired or used. */
  consume(challengeHash: string, now: number): Promise<WebauthnChallengeRecord | undefined>;
  deleteExpired(now: number): Promise<void>;
}

export interface TrustedBrowserRecord {
  tokenHash: string;
  tenantPk: number;
  userPk: number;
  createdAt: number;
  expiresAt: number;
}

export interface TrustedBrowsersRepo {
  insert(t: TrustedBrowserRecord): Promise<void>;
  find(tokenHash: string): Promise<TrustedBrowserRecord | undefined>;
  deleteForUser(userPk: number): Promise<void>;
}
