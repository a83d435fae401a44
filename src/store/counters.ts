// Counters with an expiry (failed sign-ins per client address): in Redis when REDIS_URL is set,
// so every instance counts together; per instance otherwise, and whenever Redis fails.
import type { Redis } from 'ioredis';

export interface Counters {
  /** Adds one to `key` (starting a window of `ttlSeconds` when new); returns the count and seconds left. */
  incr(key: string, ttlSeconds: number): Promise<{ count: number; ttl: number }>;
  get(key: string): Promise<{ count: number; ttl: number }>;
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
  };
}

export function redisCounters(redis: Redis, onError: (err: unknown) => void): Counters {
  const fallback = localCounters();
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
  };
}
