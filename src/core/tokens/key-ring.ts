// Signing keys kept in the database: one `current` key signs, one `next` key is published ahead of
// use (verifiers cache the JWKS), and `retired` keys stay published until their last tokens expire.
import { createPrivateKey } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Store } from '../../store/index.ts';
import type { SigningKeyRow } from '../../store/repos/signing-keys.ts';
import { isUniqueViolation } from '../../store/index.ts';
import type { Clock } from '../clock.ts';
import { newUuid } from '../secrets.ts';

export type SigningAlg = 'ES256' | 'RS256';

interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  state: SigningKeyRow['state'];
  publicJwk: JWK;
  /** Signs a JWT with this key: header {alg, kid, typ: at+jwt}, the payload as given. */
  sign: (payload: Record<string, unknown>) => string;
  publicKey: CryptoKey;
  retiredAt: number | null;
}

/** How long a retired key stays published: the longest access-token lifetime a tenant may set. */
const RETIRED_KEY_GRACE_MS = 86_400_000 + 60_000;
/** Keys are re-read this often, so a rotation on one instance reaches the others. */
const RELOAD_MS = 5_000;
const UNKNOWN_KID_RELOAD_MS = 1_000;

export class KeyRing {
  private keys: LoadedKey[] = [];
  private loadedAt = 0;
  private lastUnknownReload = 0;
  private loading: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private readonly store: Store;
  private readonly clock: Clock;
  readonly alg: SigningAlg;

  constructor(store: Store, clock: Clock, alg: SigningAlg = 'ES256') {
    this.store = store;
    this.clock = clock;
    this.alg = alg;
  }

  private async generate(state: SigningKeyRow['state']): Promise<SigningKeyRow> {
    const { privateKey, publicKey } = await generateKeyPair(this.alg, { extractable: true });
    const kid = newUuid();
    const pub = { ...(await exportJWK(publicKey)), kid, alg: this.alg, use: 'sig' };
    const priv = { ...(await exportJWK(privateKey)), kid, alg: this.alg };
    const now = this.clock.now();
    return {
      kid, alg: this.alg, private_jwk: JSON.stringify(priv), public_jwk: JSON.stringify(pub), state,
      created_at: now, activated_at: state === 'current' ? now : null, retired_at: null,
    };
  }

  /** Creates the first current and next keys if the database has none (at first start). */
  async ensure(): Promise<void> {
    const rows = await this.store.read.signingKeys.all();
    const has = (s: string) => rows.some((r) => r.state === s && r.alg === this.alg);
    if (!has('current') || !has('next')) {
      const current = has('current') ? undefined : await this.generate('current');
      const next = has('next') ? undefined : await this.generate('next');
      try {
        await this.store.transaction(async (r) => {
          const again = await r.signingKeys.all();
          if (current && !again.some((k) => k.state === 'current' && k.alg === this.alg)) await r.signingKeys.insert(current);
          if (next && !again.some((k) => k.state === 'next' && k.alg === this.alg)) await r.signingKeys.insert(next);
        });
      } catch (err) {
        if (!isUniqueViolation(err)) throw err; // another instance created them first
      }
    }
    await this.settleDuplicates();
    await this.reload();
  }

  /**
   * Instances starting at once on an empty database could each insert a current and a next key
   * (each checked before the other committed), and `rotate` then left one of the two currents in
   * use for good. Every instance keeps the same one of each, the earliest made, and retires the
   * others (still published for their grace, so whatever they signed still verifies).
   */
  private async settleDuplicates(): Promise<void> {
    const rows = (await this.store.read.signingKeys.all()).filter((k) => k.alg === this.alg);
    const extra = (['current', 'next'] as const).flatMap((state) => rows
      .filter((k) => k.state === state)
      .sort((a, b) => a.created_at - b.created_at || (a.kid < b.kid ? -1 : 1))
      .slice(1));
    if (!extra.length) return;
    const now = this.clock.now();
    await this.store.transaction(async (r) => {
      for (const k of extra) await r.signingKeys.setState(k.kid, 'retired', now);
    });
  }

  /** Promotes the next key to current, retires the current one, and publishes a new next key. */
  async rotate(): Promise<{ current: string; next: string }> {
    const fresh = await this.generate('next');
    const now = this.clock.now();
    const result = await this.store.transaction(async (r) => {
      const rows = (await r.signingKeys.all()).filter((k) => k.alg === this.alg);
      const current = rows.find((k) => k.state === 'current');
      const next = rows.find((k) => k.state === 'next');
      if (current) await r.signingKeys.setState(current.kid, 'retired', now);
      if (next) await r.signingKeys.setState(next.kid, 'current', now);
      await r.signingKeys.insert(next ? fresh : { ...fresh, state: 'current', activated_at: now });
      if (!next) await r.signingKeys.insert({ ...(await this.generate('next')) });
      await r.signingKeys.deleteRetiredBefore(now - RETIRED_KEY_GRACE_MS);
      return { current: next ? next.kid : fresh.kid, next: fresh.kid };
    });
    await this.reload();
    return result;
  }

  /**
   * Re-reads the keys, with a read that starts after this call: joining a read already under way
   * (which may have read the rows before a rotation committed) lost rotations for up to
   * RELOAD_MS, here and on instances told through Redis. Callers meanwhile share one queued read.
   */
  private reload(): Promise<void> {
    if (!this.loading) return this.startLoad();
    this.queued ??= this.loading.catch(() => {}).then(() => {
      this.queued = undefined;
      return this.startLoad();
    });
    return this.queued;
  }

  private startLoad(): Promise<void> {
    const p: Promise<void> = this.load().finally(() => {
      if (this.loading === p) this.loading = undefined;
    });
    this.loading = p;
    return p;
  }

  private async load(): Promise<void> {
    const rows = await this.store.read.signingKeys.all();
    const loaded: LoadedKey[] = [];
    for (const row of rows) {
      const alg = row.alg as SigningAlg;
      const publicJwk = JSON.parse(row.public_jwk) as JWK;
      loaded.push({
        kid: row.kid, alg, state: row.state, publicJwk, retiredAt: row.retired_at,
        sign: signerFor(row.private_jwk, alg, row.kid),
        publicKey: (await importJWK(publicJwk, alg)) as CryptoKey,
      });
    }
    this.keys = loaded;
    this.loadedAt = Date.now();
  }

  /** Re-reads the keys now (another instance rotated them). */
  async reloadNow(): Promise<void> {
    await this.reload();
  }

  private async fresh(): Promise<void> {
    // A read under way may bring a rotation another instance announced: wait for it.
    const pending = this.queued ?? this.loading;
    if (pending) await pending.catch(() => {});
    if (Date.now() - this.loadedAt > RELOAD_MS || this.keys.length === 0) await this.reload();
  }

  /** The current key's signer. */
  async signingKey(): Promise<{ kid: string; alg: SigningAlg; sign: (payload: Record<string, unknown>) => string }> {
    await this.fresh();
    const k = this.keys.find((x) => x.state === 'current' && x.alg === this.alg);
    if (!k) throw new Error('no current signing key: run migrations and start the server once');
    return { kid: k.kid, alg: k.alg, sign: k.sign };
  }

  /** The public key for a `kid`, or undefined when it is not (or no longer) one of ours. */
  async verificationKey(kid: string): Promise<{ alg: SigningAlg; key: CryptoKey } | undefined> {
    await this.fresh();
    let k = this.keys.find((x) => x.kid === kid);
    if (!k && Date.now() - this.lastUnknownReload > UNKNOWN_KID_RELOAD_MS) {
      this.lastUnknownReload = Date.now();
      await this.reload();
      k = this.keys.find((x) => x.kid === kid);
    }
    if (!k) return undefined;
    if (k.state === 'retired' && k.retiredAt !== null && this.clock.now() - k.retiredAt > RETIRED_KEY_GRACE_MS) return undefined;
    return { alg: k.alg, key: k.publicKey };
  }

  /** The published key set: current, next, and retired keys still within their grace. */
  async jwks(): Promise<{ keys: JWK[] }> {
    await this.fresh();
    const now = this.clock.now();
    const order = { current: 0, next: 1, retired: 2 } as const;
    return {
      keys: this.keys
        .filter((k) => k.state !== 'retired' || (k.retiredAt !== null && now - k.retiredAt <= RETIRED_KEY_GRACE_MS))
        .sort((a, b) => order[a.state] - order[b.state])
        .map((k) => k.publicJwk),
    };
  }
}

/**
 * Signing goes through fast-jwt, which signs with node:crypto synchronously: about 35 µs for an
 * ES256 token against about 160 µs through jose's WebCrypto path (measured on the bench machine),
 * and every login and refresh signs one. Verification and the JWKS stay with jose.
 * `iat` and `exp` come in the payload (the core's clock), so fast-jwt adds no claims of its own.
 */
function signerFor(privateJwk: string, alg: SigningAlg, kid: string): (payload: Record<string, unknown>) => string {
  const pem = createPrivateKey({ key: JSON.parse(privateJwk) as import('node:crypto').JsonWebKey, format: 'jwk' }).export({ format: 'pem', type: 'pkcs8' }) as string;
  return createSigner({ key: pem, algorithm: alg, kid, header: { alg, typ: 'at+jwt' } });
}
