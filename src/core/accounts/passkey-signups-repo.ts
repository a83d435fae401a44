// What signing up with a passkey alone needs stored (passkey-signup.ts); the store implements it
// (src/store/repos/passkey-signups.ts). A row is a sign-up waiting on its passkey: no account yet.

export interface PasskeySignupRecord {
  tokenHash: string;
  tenantPk: number;
  username: string;
  email: string;
  /** The WebAuthn user handle the passkey is made for (random), kept with the passkey once registered. */
  userHandle: string;
  /** SHA-256 of the challenge of the latest creation options given to this sign-up; null before any. */
  challengeHash: string | null;
  createdAt: number;
  expiresAt: number;
}

export interface PasskeySignupsRepo {
  insert(s: PasskeySignupRecord): Promise<void>;
  /** The sign-up, unless used (expiry is the caller's to check). */
  find(tokenHash: string): Promise<PasskeySignupRecord | undefined>;
  /** The challenge its latest creation options carry (an earlier one no longer completes it). */
  setChallenge(tokenHash: string, challengeHash: string): Promise<void>;
  /** Uses the sign-up up; false when another request did first (so at most one account is made). */
  consume(tokenHash: string, now: number): Promise<boolean>;
  deleteExpired(now: number): Promise<void>;
}
