import { sql, type Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { Engine } from '../database.ts';
import { preparedQuery } from '../prepared.ts';
import type { PageRequest, User } from '../../core/types.ts';
import { toFlag, toUser } from './rows.ts';
import type { NewUser, UserChanges, UsersRepo } from '../../core/users/users-repo.ts';

export type { NewUser, UserChanges };

const COLUMNS: Record<keyof UserChanges, string> = {
  tenantPk: 'tenant_pk', username: 'username', email: 'email', firstName: 'first_name', lastName: 'last_name',
  passwordHash: 'password_hash', isActive: 'is_active', isStaff: 'is_staff', isSuperuser: 'is_superuser',
  lastLogin: 'last_login', passwordChangedAt: 'password_changed_at', updatedAt: 'updated_at',
  profile: 'profile', emm: 'emm', avatar: 'avatar', emailVerified: 'email_verified',
};

// The tenant's name by a scalar subquery, not a join: SQLite (better-sqlite3 is built with
// STAT4) plans a join over the bound values and so prepares it again on every run, about
// 25 µs per user lookup; this form is planned once. Same rows (users.tenant_pk is a foreign key).
const selectUsers = (db: Kysely<DB>) =>
  db.selectFrom('users').selectAll('users')
    .select((eb) => eb.selectFrom('tenants').select('tenants.name').whereRef('tenants.pk', '=', 'users.tenant_pk').as('tenant_name'));

// The look-ups behind every authenticated request and every sign-in, compiled once.
const byId = preparedQuery((db, id: string) => selectUsers(db).where('users.id', '=', id));
const byPk = preparedQuery((db, pk: number) => selectUsers(db).where('users.pk', '=', pk));
const byUsername = preparedQuery((db, tenantPk: number, username: string) =>
  selectUsers(db).where('users.tenant_pk', '=', tenantPk).where('users.username', '=', username));
const countInTenant = preparedQuery((db, tenantPk: number) =>
  db.selectFrom('users').where('tenant_pk', '=', tenantPk).select((eb) => eb.fn.countAll<number>().as('n')));
const pageInTenant = preparedQuery((db, tenantPk: number, limit: number, offset: number) =>
  selectUsers(db).where('users.tenant_pk', '=', tenantPk).orderBy('users.pk').limit(limit).offset(offset));

export function usersRepo(db: Kysely<DB>, engine: Engine): UsersRepo {
  const base = () => selectUsers(db);

  return {
    async findById(id: string): Promise<User | undefined> {
      const r = (await byId(db, engine, id)).rows[0];
      return r && toUser(r);
    },
    async findByPk(pk: number): Promise<User | undefined> {
      const r = (await byPk(db, engine, pk)).rows[0];
      return r && toUser(r);
    },
    async findByUsername(tenantPk: number, username: string): Promise<User | undefined> {
      const r = (await byUsername(db, engine, tenantPk, username)).rows[0];
      return r && toUser(r);
    },
    /**
     * The one user whose e-mail is this (case-insensitive), or among several the one who has
     * verified it (someone else entering the same address must not take it); else undefined.
     */
    async findOneByEmail(tenantPk: number, email: string): Promise<User | undefined> {
      if (!email) return undefined;
      const rows = (await base().where('users.tenant_pk', '=', tenantPk).where(sql<string>`lower(users.email)`, '=', email.toLowerCase())
        .orderBy('users.email_verified', 'desc').limit(3).execute()).map(toUser);
      if (rows.length === 1) return rows[0];
      const verified = rows.filter((u) => u.emailVerified);
      return verified.length === 1 ? verified[0] : undefined;
    },
    async list(tenantPk: number, page: PageRequest, onlyPk?: number): Promise<{ count: number; items: User[] }> {
      if (onlyPk === undefined) {
        const [{ n }] = (await countInTenant(db, engine, tenantPk)).rows;
        const rows = (await pageInTenant(db, engine, tenantPk, page.limit, page.offset)).rows;
        return { count: Number(n), items: rows.map(toUser) };
      }
      let q = base().where('users.tenant_pk', '=', tenantPk);
      let c = db.selectFrom('users').where('tenant_pk', '=', tenantPk);
      if (onlyPk !== undefined) {
        q = q.where('users.pk', '=', onlyPk);
        c = c.where('pk', '=', onlyPk);
      }
      const [{ n }] = await c.select((eb) => eb.fn.countAll<number>().as('n')).execute();
      const rows = await q.orderBy('users.pk').limit(page.limit).offset(page.offset).execute();
      return { count: Number(n), items: rows.map(toUser) };
    },
    async passwordHashAt(tenantPk: number, fraction: number): Promise<string | undefined> {
      const range = await db.selectFrom('users').where('tenant_pk', '=', tenantPk).where('password_hash', 'is not', null)
        .select((eb) => [eb.fn.min<number>('pk').as('lo'), eb.fn.max<number>('pk').as('hi')]).executeTakeFirst();
      if (!range || range.lo === null || range.hi === null) return undefined;
      const lo = Number(range.lo);
      const at = lo + Math.floor(Math.min(Math.max(fraction, 0), 0.999999) * (Number(range.hi) - lo + 1));
      const row = await db.selectFrom('users').select('password_hash').where('tenant_pk', '=', tenantPk).where('password_hash', 'is not', null)
        .where('pk', '>=', at).orderBy('pk').limit(1).executeTakeFirst();
      return row?.password_hash ?? undefined;
    },
    async countSuperusers(tenantPk: number): Promise<number> {
      const [{ n }] = await db
        .selectFrom('users')
        .where('tenant_pk', '=', tenantPk)
        .where('is_superuser', '=', toFlag(true))
        .select((eb) => eb.fn.countAll<number>().as('n'))
        .execute();
      return Number(n);
    },
    async insert(u: NewUser): Promise<number> {
      const r = await db
        .insertInto('users')
        .values({
          id: u.id, tenant_pk: u.tenantPk, username: u.username, email: u.email, first_name: u.firstName,
          last_name: u.lastName, password_hash: u.passwordHash, is_active: toFlag(u.isActive),
          is_staff: toFlag(u.isStaff), is_superuser: toFlag(u.isSuperuser), last_login: u.lastLogin,
          password_changed_at: u.passwordChangedAt, profile: JSON.stringify(u.profile), emm: JSON.stringify(u.emm),
          avatar: u.avatar, email_verified: toFlag(u.emailVerified), created_at: u.createdAt, updated_at: u.updatedAt,
        })
        .returning('pk')
        .executeTakeFirstOrThrow();
      return r.pk;
    },
    async update(pk: number, changes: UserChanges): Promise<void> {
      const values: Record<string, unknown> = {};
      for (const [k, v] of Object.entries(changes)) {
        if (v === undefined) continue;
        values[COLUMNS[k as keyof UserChanges]] = typeof v === 'boolean' ? toFlag(v) : v !== null && typeof v === 'object' ? JSON.stringify(v) : v;
      }
      if (Object.keys(values).length === 0) return;
      await db.updateTable('users').set(values).where('pk', '=', pk).execute();
    },
    async delete(pk: number): Promise<void> {
      await db.deleteFrom('users').where('pk', '=', pk).execute();
    },
  };
}
