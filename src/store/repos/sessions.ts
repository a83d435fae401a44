import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { SessionsRepo, StoredSession } from '../../core/sessions/sessions-repo.ts';

export function sessionsRepo(db: Kysely<DB>): SessionsRepo {
  return {
    async insert(s: StoredSession): Promise<void> {
      await db.insertInto('sessions').values(s).execute();
    },
    async find(id: string): Promise<StoredSession | undefined> {
      return db.selectFrom('sessions').selectAll().where('id', '=', id).executeTakeFirst();
    },
    async liveForUser(userPk: number, now: number): Promise<StoredSession[]> {
      return db.selectFrom('sessions').selectAll().where('user_pk', '=', userPk).where('expires_at', '>', now).orderBy('created_at', 'desc').execute();
    },
    async delete(id: string): Promise<void> {
      await db.deleteFrom('sessions').where('id', '=', id).execute();
    },
    async deleteForUser(userPk: number, keep?: string): Promise<void> {
      let q = db.deleteFrom('sessions').where('user_pk', '=', userPk);
      if (keep) q = q.where('id', '!=', keep);
      await q.execute();
    },
    async deleteExpired(now: number): Promise<void> {
      await db.deleteFrom('sessions').where('expires_at', '<', now).execute();
    },
    async reauthenticated(id: string, at: number, amr: string): Promise<void> {
      await db.updateTable('sessions').set({ authenticated_at: at, amr }).where('id', '=', id).execute();
    },
  };
}
