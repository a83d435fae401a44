// What the OpenID provider keeps between requests (codes, tokens, grants, sessions, interactions),
// each a JSON payload of one model kind, named by an id, with an expiry. The provider's adapter
// (src/oidc/adapter.ts) speaks to this; the store implements it over both engines.
export interface OidcPayloadRecord {
  tenantPk: number;
  model: string;
  id: string;
  payload: string;
  /** The grant a code or token belongs to: revoking the grant removes them all. */
  grantId: string | null;
  /** A session's browser-side id. */
  uid: string | null;
  userCode: string | null;
  /** Epoch ms; null for no expiry. */
  expiresAt: number | null;
}

export interface OidcPayloadsRepo {
  upsert(r: OidcPayloadRecord): Promise<void>;
  /** Not expired at `now`; `consumedAt` set once consumed. */
  find(tenantPk: number, model: string, id: string, now: number): Promise<{ payload: string; consumedAt: number | null } | undefined>;
  findByUid(tenantPk: number, uid: string, now: number): Promise<{ payload: string; consumedAt: number | null } | undefined>;
  findByUserCode(tenantPk: number, userCode: string, now: number): Promise<{ payload: string; consumedAt: number | null } | undefined>;
  consume(tenantPk: number, model: string, id: string, now: number): Promise<void>;
  destroy(tenantPk: number, model: string, id: string): Promise<void>;
  revokeByGrantId(tenantPk: number, grantId: string): Promise<void>;
  deleteExpired(now: number): Promise<number>;
}
