// What e-mailed one-time tokens (verification, password reset) need stored: only their hashes.
// The store implements it.

export interface EmailTokenRecord {
  token_hash: string;
  purpose: 'verify' | 'reset' | 'login_code';
  user_pk: number;
  /** The address a verification token confirms (null for a reset). */
  email_pk: number | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface EmailTokensRepo {
  insert(row: EmailTokenRecord): Promise<void>;
  find(hash: string): Promise<EmailTokenRecord | undefined>;
  /** Marks a token used; false when it was used already (single use, race-safe). */
  consume(hash: string, now: number): Promise<boolean>;
}
