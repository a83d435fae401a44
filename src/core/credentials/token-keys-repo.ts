// What token keys (`Authorization: Token <key>`) need stored: only the key's SHA-256. The store implements it.

export interface TokenKeyRecord {
  key_hash: string;
  /** The public id a user's list of sign-ins names it by. */
  id: string;
  tenant_pk: number;
  user_pk: number;
  /** The session made with it at the same sign-in (REST-auth), if any. */
  session_id: string | null;
  created_at: number;
}

export interface TokenKeysRepo {
  insert(row: TokenKeyRecord): Promise<void>;
  find(keyHash: string): Promise<TokenKeyRecord | undefined>;
  findById(id: string): Promise<TokenKeyRecord | undefined>;
  /** Newest first. */
  forUser(userPk: number): Promise<TokenKeyRecord[]>;
  delete(keyHash: string): Promise<void>;
  /** Deletes every key of the user but `keep` (a hash). */
  deleteForUser(userPk: number, keep?: string): Promise<void>;
}
