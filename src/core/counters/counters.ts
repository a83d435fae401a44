// Counters with an expiry (the rate limits: failed sign-ins per client address, e-mails per
// address). The core needs only `Counters`; which one runs is the composition root's choice: the
// database's (`storeCounters`, the default, so every instance counts together), Redis's
// (src/store/counters.ts, when REDIS_URL is set), or one process's (`localCounters`, for tools,
// tests, and as Redis's fallback).
import type { Store } from '../store.ts';

export interface Counters {
  /** Adds one to `key` (starting a window of `ttlSeconds` when new); returns the count and seconds left. */
  incr(key: string, ttlSeconds: number): Promise<{ count: number; ttl: number }>;
  get(key: string): Promise<{ count: number; ttl: number }>;
  /** The live counts of `keys`, in their order (0 for a key with none): one round trip. */
  counts(keys: string[]): Promise<number[]>;
}

/** What `storeCounters` needs stored. */
export interface CountersRepo {
  /** Adds one to `key`; an expired row starts again at 1 with a new expiry. Answers the row after. */
  incr(key: string, now: number, expiresAt: number): Promise<{ count: number; expiresAt: number }>;
  /** The live rows among `keys`. */
  find(keys: string[], now: number): Promise<Array<{ key: string; count: number; expiresAt: number }>>;
  deleteExpired(now: number): Promise<void>;
}

/** In one process's memory: plain JS, no store. */
export function localCounters(now: () => number = Date.now): Counters {
  const map = new Map<string, { count: number; until: number }>();
  const live = (key: string) => {
    const e = map.get(key);
    if (e && e.until <= now()) {
      map.delete(key);
      return undefined;
    }
    return e;
  };
  return {
    async incr(key, ttlSeconds) {
      if (map.size > 100_000) map.clear(); // a flood of addresses must not grow memory without end
      const e = live(key) ?? { count: 0, until: now() + ttlSeconds * 1000 };
      e.count++;
      map.set(key, e);
      return { count: e.count, ttl: Math.ceil((e.until - now()) / 1000) };
    },
    async get(key) {
      const e = live(key);
      return e ? { count: e.count, ttl: Math.ceil((e.until - now()) / 1000) } : { count: 0, ttl: 0 };
    },
    async counts(keys) {
      return keys.map((k) => live(k)?.count ?? 0);
    },
  };
}

/**
 * Counters kept by the store (the database's `counters` table). Each call is its own short
 * transaction (or joins the one under way, whose rollback then takes the count back with the
 * rest of its work). Expired rows are swept now and then, by the calls themselves.
 */
export function storeCounters(store: Store, now: () => number = Date.now): Counters {
  let calls = 0;
  const sweep = async () => {
    if (++calls % 500 === 0) await store.transaction((r) => r.counters.deleteExpired(now()));
  };
  return {
    async incr(key, ttlSeconds) {
      const t = now();
      const r = await store.transaction((repos) => repos.counters.incr(key, t, t + ttlSeconds * 1000));
      await sweep();
      return { count: r.count, ttl: Math.max(Math.ceil((r.expiresAt - t) / 1000), 0) };
    },
    async get(key) {
      const t = now();
      const [r] = await store.read.counters.find([key], t);
      return r ? { count: r.count, ttl: Math.max(Math.ceil((r.expiresAt - t) / 1000), 0) } : { count: 0, ttl: 0 };
    },
    async counts(keys) {
      const rows = await store.read.counters.find(keys, now());
      const by = new Map(rows.map((r) => [r.key, r.count]));
      return keys.map((k) => by.get(k) ?? 0);
    },
  };
}
