// What the login throttle (login-throttle.ts) needs stored: failed sign-ins per account name,
// exact on every instance. The store implements it.

export interface LoginFailureRecord {
  tenant_pk: number;
  username: string;
  failures: number;
  /** 0 when the attempts counted have not failed yet. */
  last_failure_at: number;
}

export interface LoginFailuresRepo {
  find(tenantPk: number, username: string): Promise<LoginFailureRecord | undefined>;
  /**
   * Claims an attempt before its password is checked: counts it now (a success clears the
   * row, a failure stamps its time with `markFailed`) and answers the new count with the time
   * of the last failure (0 when none). Parallel claims of one name are counted one after
   * another (the database locks the row until the transaction ends).
   */
  claim(tenantPk: number, username: string): Promise<{ failures: number; lastFailureAt: number }>;
  markFailed(tenantPk: number, username: string, now: number): Promise<void>;
  clear(tenantPk: number, username: string): Promise<void>;
}
