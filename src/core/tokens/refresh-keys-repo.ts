// What refresh-keys.ts needs stored: the HMAC keys of v1 refresh JWTs. The store implements it.

export interface RefreshKeyRecord {
  kid: string;
  secret: string;
  state: 'current' | 'retired';
  created_at: number;
  retired_at: number | null;
}

export interface RefreshKeysRepo {
  /** Every key, oldest first. */
  all(): Promise<RefreshKeyRecord[]>;
  insert(row: RefreshKeyRecord): Promise<void>;
  retire(kid: string, at: number): Promise<void>;
  deleteRetiredBefore(t: number): Promise<void>;
}
