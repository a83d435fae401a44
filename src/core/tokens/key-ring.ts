// Signing keys kept in the database, per algorithm: one `current` key signs, one `next` key is
// published ahead of use (verifiers cache the JWKS), and `retired` keys stay published until their
// last tokens expire. ES256 keys exist from the first start; RS256 keys once a tenant asks for them
// (the `token_signing_algorithm` setting): an RSA key costs a generation and a longer JWKS.
import { createPrivateKey } from 'node:crypto';
import { createSigner } from 'fast-jwt';
import { exportJWK, generateKeyPair, importJWK, type CryptoKey, type JWK } from 'jose';
import type { Store } from '../store.ts';
import type { SigningKeyRecord } from './signing-keys-repo.ts';
import type { Clock } from '../clock.ts';
import { newUuid } from '../secrets.ts';

export type SigningAlg = 'ES256' | 'RS256';
export const DEFAULT_SIGNING_ALG: SigningAlg = 'ES256';

interface LoadedKey {
  kid: string;
  alg: SigningAlg;
  state: SigningKeyRecord['state'];
  publicJwk: JWK;
  privateJwk: string;
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

export interface RotatedKeys {
  alg: SigningAlg;
  current: string;
  next: string;
}

export class KeyRing {
  private keys: LoadedKey[] = [];
  private loadedAt = 0;
  private lastUnknownReload = 0;
  private loading: Promise<void> | undefined;
  private queued: Promise<void> | undefined;
  private readonly store: Store;
  private readonly clock: Clock;
  /** One key creation per algorithm at a time in this process. */
  private readonly ensuring = new Map<SigningAlg, Promise<void>>();

  constructor(store: Store, clock: Clock) {
    this.store = store;
    this.clock = clock;
  }

  private async generate(alg: SigningAlg, state: SigningKeyRecord['state']): Promise<SigningKeyRecord> {
    const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true, ...(alg === 'RS256' ? { modulusLength: 2048 } : {}) });
    const kid = newUuid();
    const pub = { ...(await exportJWK(publicKey)), kid, alg, use: 'sig' };
    const priv = { ...(await exportJWK(privateKey)), kid, alg };
    const now = this.clock.now();
    return {
      kid, alg, private_jwk: JSON.stringify(priv), public_jwk: JSON.stringify(pub), state,
      created_at: now, activated_at: state === 'current' ? now : null, retired_at: null,
    };
  }

  /** Creates the current and next keys of an algorithm if the database has none (ES256 at first start). */
  ensure(alg: SigningAlg = DEFAULT_SIGNING_ALG): Promise<void> {
    let p = this.ensuring.get(alg);
    if (!p) {
      p = this.create(alg).finally(() => this.ensuring.delete(alg));
      this.ensuring.set(alg, p);
    }
    return p;
  }

  private async create(alg: SigningAlg): Promise<void> {
    const rows = await this.store.read.signingKeys.all();
    const has = (s: string) => rows.some((r) => r.state === s && r.alg === alg);
    if (!has('current') || !has('next')) {
      const current = has('current') ? undefined : await this.generate(alg, 'current');
      const next = has('next') ? undefined : await this.generate(alg, 'next');
      try {
        await this.store.transaction(async (r) => {
          const again = await r.signingKeys.all();
          if (current && !again.some((k) => k.state === 'current' && k.alg === alg)) await r.signingKeys.insert(current);
          if (next && !again.some((k) => k.state === 'next' && k.alg === alg)) await r.signingKeys.insert(next);
        });
      } catch (err) {
        if (!this.store.isConflict(err)) throw err; // another instance created them first
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
    const rows = await this.store.read.signingKeys.all();
    const extra = [...new Set(rows.map((k) => k.alg))].flatMap((alg) => (['current', 'next'] as const).flatMap((state) => rows
      .filter((k) => k.alg === alg)
      .filter((k) => k.state === state)
      .sort((a, b) => a.created_at - b.created_at || (a.kid < b.kid ? -1 : 1))
      .slice(1)));
    if (!extra.length) return;
    const now = this.clock.now();
    await this.store.transaction(async (r) => {
      for (const k of extra) await r.signingKeys.setState(k.kid, 'retired', now);
    });
  }

  /**
   * For every algorithm in use (ES256 always, RS256 once created): promotes the next key to
   * current, retires the current one, and publishes a new next key, in one transaction, in which
   * `record` runs too.
   */
  async rotate(record?: (rotated: RotatedKeys[]) => Promise<void>): Promise<{ current: string; next: string; rotated: RotatedKeys[] }> {
    const algs = new Set<SigningAlg>([DEFAULT_SIGNING_ALG, ...(await this.store.read.signingKeys.all()).map((k) => k.alg as SigningAlg)]);
    // Keys are made before the transaction: an RSA key takes long enough to hold the write lock.
    const fresh = new Map<SigningAlg, SigningKeyRecord[]>();
    for (const alg of algs) fresh.set(alg, [await this.generate(alg, 'next'), await this.generate(alg, 'next')]);
    const now = this.clock.now();
    const result = await this.store.transaction(async (r) => {
      const all = await r.signingKeys.all();
      const out: RotatedKeys[] = [];
      for (const alg of algs) {
        const rows = all.filter((k) => k.alg === alg);
        const [made, spare] = fresh.get(alg)!;
        const current = rows.find((k) => k.state === 'current');
        const next = rows.find((k) => k.state === 'next');
        if (current) await r.signingKeys.setState(current.kid, 'retired', now);
        if (next) await r.signingKeys.setState(next.kid, 'current', now);
        await r.signingKeys.insert(next ? made! : { ...made!, state: 'current', activated_at: now });
        if (!next) await r.signingKeys.insert(spare!);
        out.push({ alg, current: next ? next.kid : made!.kid, next: next ? made!.kid : spare!.kid });
      }
      await r.signingKeys.deleteRetiredBefore(now - RETIRED_KEY_GRACE_MS);
      // The audit row, in the rotation's own transaction.
      await record?.(out);
      return out;
    });
    await this.reload();
    const main = result.find((k) => k.alg === DEFAULT_SIGNING_ALG)!;
    return { current: main.current, next: main.next, rotated: result };
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
        kid: row.kid, alg, state: row.state, publicJwk, privateJwk: row.private_jwk, retiredAt: row.retired_at,
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

  /** The signer of the algorithm's current key (its keys are created on first use). */
  async signingKey(alg: SigningAlg = DEFAULT_SIGNING_ALG): Promise<{ kid: string; alg: SigningAlg; sign: (payload: Record<string, unknown>) => string }> {
    await this.fresh();
    let k = this.keys.find((x) => x.state === 'current' && x.alg === alg);
    if (!k) {
      await this.ensure(alg);
      k = this.keys.find((x) => x.state === 'current' && x.alg === alg);
    }
    if (!k) throw new Error(`no current ${alg} signing key`);
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

  /**
   * The current keys' private JWKs (ES256 first), for the OpenID provider, which signs ID tokens
   * with them; their kids name the set, so a rotation is seen as a new one.
   */
  async currentPrivateJwks(): Promise<{ keys: JWK[]; version: string }> {
    await this.fresh();
    const current = this.keys.filter((k) => k.state === 'current').sort((a, b) => (a.alg === DEFAULT_SIGNING_ALG ? -1 : b.alg === DEFAULT_SIGNING_ALG ? 1 : 0));
    return { keys: current.map((k) => ({ ...(JSON.parse(k.privateJwk) as JWK), use: 'sig' })), version: current.map((k) => k.kid).join(',') };
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
