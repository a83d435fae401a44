// Counters with an expiry shared by the instances: in Redis when REDIS_URL is set, in the
// database otherwise (and whenever Redis fails). What a counter is, the per-process and the
// database's, are the core's (core/counters/counters.ts); this file adds Redis's.
import type { Redis } from 'ioredis';
import { localCounters, storeCounters, type Counters } from '../core/counters/counters.ts';

export type { Counters };
export { localCounters };
/** The database's counters (the core's default when no others are given). */
export const databaseCounters = storeCounters;

/** In Redis; a failed call is counted by `fallback` instead (and reported to `onError`). */
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
