// The v1 refresh token as a JSON web token, as simplejwt's is (front-ends read its `exp`):
// HS256, signed with a key only Latchkey holds (it alone verifies refresh tokens), kept in the
// database so every instance shares it. The claims are simplejwt's (`token_type: "refresh"`,
// `exp`, `iat`, `jti`, `user_id`) and the family (`fam`); the `jti` is the token's secret, 32
// random bytes, and the store keeps only its hash, keyed by the family as the opaque format's
// (so rotation, single use and reuse detection are the family design's, unchanged). A
// rotation (`latchkey keys rotate`) makes a new current key; retired keys verify the tokens
// they signed until those expire (at most the longest refresh lifetime a tenant may set).
import { createDecoder, createSigner, createVerifier } from 'fast-jwt';
import type { Repos, Store } from '../store.ts';
import type { RefreshKeyRecord } from './refresh-keys-repo.ts';
import type { Clock } from '../clock.ts';
import { isUuid, newUuid, randomToken, sha256 } from '../secrets.ts';
import type { RefreshTokenKey } from './refresh-tokens.ts';

/** The longest refresh_token_lifetime (settings-schema.ts), and a minute: a retired key's use. */
const RETIRED_KEY_KEEP_MS = 31_536_000_000 + 60_000;
const RELOAD_MS = 5_000;
const UNKNOWN_KID_RELOAD_MS = 1_000;
const JTI = /^[A-Za-z0-9_-]{43}$/;

interface LoadedKey {
  kid: string;
  state: RefreshKeyRecord['state'];
  sign: (payload: Record<string, unknown>) => string;
  verify: (token: string) => Record<string, unknown>;
}

export interface ReadRefreshJwt extends RefreshTokenKey {
  familyId: string;
  /** The user's id the token names (`user_id`). */
  userId: string;
}

const decode = createDecoder({ complete: true });

export class RefreshKeys {
  private keys: LoadedKey[] = [];
  private loadedAt = 0;
  private lastUnknownReload = 0;
  private loading: Promise<void> | undefined;
  private readonly store: Store;
  private readonly clock: Clock;

  constructor(store: Store, clock: Clock) {
    this.store = store;
    this.clock = clock;
  }

  private newRow(): RefreshKeyRecord {
    return { kid: newUuid(), secret: randomToken(32), state: 'current', created_at: this.clock.now(), retired_at: null };
  }

  /** Creates the first key when there is none (at prepare). Two instances racing may each make one: both verify, either signs. */
  async ensure(): Promise<void> {
    const rows = await this.store.read.refreshKeys.all();
    if (!rows.some((r) => r.state === 'current')) await this.store.transaction((r) => r.refreshKeys.insert(this.newRow()));
    await this.reload();
  }

  /** Retires the current key(s) and makes a new one, in the caller's transaction. */
  async rotate(r: Pick<Repos, 'refreshKeys'>): Promise<string> {
    const now = this.clock.now();
    for (const k of await r.refreshKeys.all()) if (k.state === 'current') await r.refreshKeys.retire(k.kid, now);
    const row = this.newRow();
    await r.refreshKeys.insert(row);
    await r.refreshKeys.deleteRetiredBefore(now - RETIRED_KEY_KEEP_MS);
    await this.store.afterCommit(() => this.reload().catch(() => {}));
    return row.kid;
  }

  reload(): Promise<void> {
    this.loading ??= this.load().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async load(): Promise<void> {
    const rows = await this.store.read.refreshKeys.all();
    this.keys = rows.map((row) => ({
      kid: row.kid, state: row.state,
      sign: createSigner({ key: row.secret, algorithm: 'HS256', kid: row.kid, header: { alg: 'HS256', typ: 'JWT' } }),
      // Expiry is checked against the core's clock by the caller.
      verify: createVerifier({ key: row.secret, algorithms: ['HS256'], ignoreExpiration: true, ignoreNotBefore: true, cache: false }),
    }));
    this.loadedAt = Date.now();
  }

  private async fresh(): Promise<void> {
    if (this.loading) await this.loading.catch(() => {});
    if (this.keys.length === 0 || Date.now() - this.loadedAt > RELOAD_MS) await this.reload();
  }

  /** A new refresh JWT and the hash the store keeps of it. */
  async issue(input: { familyId: string; userId: string; iat: number; exp: number }): Promise<{ token: string; hash: string }> {
    await this.fresh();
    let key = this.keys.findLast((k) => k.state === 'current');
    if (!key) {
      await this.ensure();
      key = this.keys.findLast((k) => k.state === 'current');
    }
    if (!key) throw new Error('no current refresh-token key');
    const jti = randomToken(32);
    const token = key.sign({ token_type: 'refresh', exp: input.exp, iat: input.iat, jti, user_id: input.userId, fam: input.familyId });
    return { token, hash: sha256(jti) };
  }

  /**
   * The key to look a presented refresh JWT up by, or undefined when it is not one of ours:
   * unsigned or signed otherwise (`alg: none`, another key), altered, malformed, or expired.
   */
  async read(token: string): Promise<ReadRefreshJwt | undefined> {
    if (token.length > 2048) return undefined;
    let kid: unknown;
    try {
      kid = (decode(token) as { header: { kid?: unknown } }).header.kid;
    } catch {
      return undefined;
    }
    if (typeof kid !== 'string' || !isUuid(kid)) return undefined;
    await this.fresh();
    let key = this.keys.find((k) => k.kid === kid);
    if (!key && Date.now() - this.lastUnknownReload > UNKNOWN_KID_RELOAD_MS) {
      this.lastUnknownReload = Date.now();
      await this.reload();
      key = this.keys.find((k) => k.kid === kid);
    }
    if (!key) return undefined;
    let claims: Record<string, unknown>;
    try {
      claims = key.verify(token);
    } catch {
      return undefined;
    }
    const { token_type, exp, jti, user_id, fam } = claims;
    if (token_type !== 'refresh' || typeof exp !== 'number' || typeof jti !== 'string' || !JTI.test(jti)) return undefined;
    if (typeof user_id !== 'string' || typeof fam !== 'string' || !isUuid(fam) || fam !== fam.toLowerCase()) return undefined;
    if (exp * 1000 <= this.clock.now()) return undefined;
    return { familyId: fam, hash: sha256(jti), userId: user_id };
  }
}

/** Whether a presented refresh token has a JWT's shape (three parts), rather than `<family>.<secret>`. */
export const isJwtShaped = (token: string) => token.split('.').length === 3;
