// Counters with an expiry, kept in the database: see core/counters/counters.ts (storeCounters).
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { CountersRepo } from '../../core/counters/counters.ts';

export function countersRepo(db: Kysely<DB>): CountersRepo {
  return {
    /** Adds one to `key`; an expired row starts again at 1 with a new expiry. Answers the row after. */
    async incr(key: string, now: number, expiresAt: number): Promise<{ count: number; expiresAt: number }> {
      const r = await db.insertInto('counters').values({ key, count: 1, expires_at: expiresAt })
        .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({
          count: eb.case().when('counters.expires_at', '<=', now).then(1).else(eb('counters.count', '+', 1)).end(),
          expires_at: eb.case().when('counters.expires_at', '<=', now).then(expiresAt).else(eb.ref('counters.expires_at')).end(),
        })))
        .returning(['count', 'expires_at'])
        .executeTakeFirstOrThrow();
      return { count: Number(r.count), expiresAt: Number(r.expires_at) };
    },
    /** The live rows among `keys`. */
    async find(keys: string[], now: number): Promise<Array<{ key: string; count: number; expiresAt: number }>> {
      if (keys.length === 0) return [];
      const rows = await db.selectFrom('counters').select(['key', 'count', 'expires_at']).where('key', 'in', keys).where('expires_at', '>', now).execute();
      return rows.map((r) => ({ key: r.key, count: Number(r.count), expiresAt: Number(r.expires_at) }));
    },
    async deleteExpired(now: number): Promise<void> {
      await db.deleteFrom('counters').where('expires_at', '<=', now).execute();
    },
  };
}
