// Counters with an expiry (the rate limits: failed sign-ins per client address, e-mails per
// address): in Redis when REDIS_URL is set, in the database otherwise (and whenever Redis
// fails), so every instance counts together. Per-process counters are for tools and tests.
import type { Redis } from 'ioredis';
import type { Store } from './index.ts';

export interface Counters {
  /** Adds one to `key` (starting a window of `ttlSeconds` when new); returns the count and seconds left. */
  incr(key: string, ttlSeconds: number): Promise<{ count: number; ttl: number }>;
  get(key: string): Promise<{ count: number; ttl: number }>;
  /** The live counts of `keys`, in their order (0 for a key with none): one round trip. */
  counts(keys: string[]): Promise<number[]>;
}

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
 * Counters in the database's `counters` table. Each call is its own short transaction (or joins
 * the one under way, whose rollback then takes the count back with the rest of its work).
 * Expired rows are swept now and then, by the calls themselves.
 */
export function databaseCounters(store: Store, now: () => number = Date.now): Counters {
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

export function redisCounters(redis: Redis, onError: (err: unknown) => void, fallback: Counters = localCounters()): Counters {
  return {
    async incr(key, ttlSeconds) {
      try {
        const k = `latchkey:count:${key}`;
        const [[, count], [, ttl]] = (await redis.multi().incr(k).ttl(k).exec()) as [[null, number], [null, number]];
        if (ttl < 0) await redis.expire(k, ttlSeconds);
        return { count, ttl: ttl < 0 ? ttlSeconds : ttl };
      } catch (err) {
        onError(err);
        return fallback.incr(key, ttlSeconds);
      }
    },
    async get(key) {
      try {
        const k = `latchkey:count:${key}`;
        const [[, count], [, ttl]] = (await redis.multi().get(k).ttl(k).exec()) as [[null, string | null], [null, number]];
        return { count: Number(count ?? 0), ttl: Math.max(ttl, 0) };
      } catch (err) {
        onError(err);
        return fallback.get(key);
      }
    },
    async counts(keys) {
      if (keys.length === 0) return [];
      try {
        const values = await redis.mget(keys.map((k) => `latchkey:count:${k}`));
        return values.map((v) => Number(v ?? 0));
      } catch (err) {
        onError(err);
        return fallback.counts(keys);
      }
    },
  };
}
