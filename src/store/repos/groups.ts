import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { Group, PageRequest, User } from '../../core/types.ts';
import { toGroup, toUser } from './rows.ts';
import type { Engine } from '../database.ts';
import { preparedQuery } from '../prepared.ts';
import type { GroupsRepo } from '../../core/groups/groups-repo.ts';

// A subquery rather than a join, which SQLite would plan again on every run (see users.ts).
const groupNamesOfUser = preparedQuery((db, userPk: number) =>
  db.selectFrom('groups').select('groups.name')
    .where('groups.pk', 'in', (eb) => eb.selectFrom('group_members').select('group_members.group_pk').where('group_members.user_pk', '=', userPk))
    .orderBy('groups.name'));

export function groupsRepo(db: Kysely<DB>, engine: Engine): GroupsRepo {
  return {
    async findById(id: string): Promise<Group | undefined> {
      const r = await db.selectFrom('groups').selectAll().where('id', '=', id).executeTakeFirst();
      return r && toGroup(r);
    },
    async findByName(tenantPk: number, name: string): Promise<Group | undefined> {
      const r = await db.selectFrom('groups').selectAll().where('tenant_pk', '=', tenantPk).where('name', '=', name).executeTakeFirst();
      return r && toGroup(r);
    },
    async list(tenantPk: number, page: PageRequest): Promise<{ count: number; items: Group[] }> {
      const [{ n }] = await db.selectFrom('groups').where('tenant_pk', '=', tenantPk).select((eb) => eb.fn.countAll<number>().as('n')).execute();
      const rows = await db.selectFrom('groups').selectAll().where('tenant_pk', '=', tenantPk).orderBy('pk').limit(page.limit).offset(page.offset).execute();
      return { count: Number(n), items: rows.map(toGroup) };
    },
    async insert(g: Omit<Group, 'pk'>): Promise<Group> {
      const r = await db
        .insertInto('groups')
        .values({ id: g.id, tenant_pk: g.tenantPk, name: g.name, created_at: g.createdAt, updated_at: g.updatedAt })
        .returningAll()
        .executeTakeFirstOrThrow();
      return toGroup(r);
    },
    async rename(pk: number, name: string, now: number): Promise<void> {
      await db.updateTable('groups').set({ name, updated_at: now }).where('pk', '=', pk).execute();
    },
    async delete(pk: number): Promise<void> {
      await db.deleteFrom('groups').where('pk', '=', pk).execute();
    },
    async members(groupPk: number, page: PageRequest): Promise<{ count: number; items: User[] }> {
      const [{ n }] = await db.selectFrom('group_members').where('group_pk', '=', groupPk).select((eb) => eb.fn.countAll<number>().as('n')).execute();
      const rows = await db
        .selectFrom('group_members')
        .innerJoin('users', 'users.pk', 'group_members.user_pk')
        .innerJoin('tenants', 'tenants.pk', 'users.tenant_pk')
        .selectAll('users')
        .select('tenants.name as tenant_name')
        .where('group_members.group_pk', '=', groupPk)
        .orderBy('users.pk')
        .limit(page.limit)
        .offset(page.offset)
        .execute();
      return { count: Number(n), items: rows.map(toUser) };
    },
    async isMember(groupPk: number, userPk: number): Promise<boolean> {
      const r = await db.selectFrom('group_members').select('user_pk').where('group_pk', '=', groupPk).where('user_pk', '=', userPk).executeTakeFirst();
      return r !== undefined;
    },
    async addMember(groupPk: number, userPk: number, now: number): Promise<void> {
      await db.insertInto('group_members').values({ group_pk: groupPk, user_pk: userPk, created_at: now }).execute();
    },
    async removeMember(groupPk: number, userPk: number): Promise<boolean> {
      const r = await db.deleteFrom('group_members').where('group_pk', '=', groupPk).where('user_pk', '=', userPk).executeTakeFirst();
      return Number(r.numDeletedRows) > 0;
    },
    async removeAllMemberships(userPk: number): Promise<void> {
      await db.deleteFrom('group_members').where('user_pk', '=', userPk).execute();
    },
    /** The names in every access token issued: compiled once (see users.ts on joins and STAT4). */
    async namesForUser(userPk: number): Promise<string[]> {
      return (await groupNamesOfUser(db, engine, userPk)).rows.map((r) => r.name);
    },
  };
}
