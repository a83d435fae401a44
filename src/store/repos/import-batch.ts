// The store's side of `latchkey import`: the look-ups rows are matched on, and a whole batch
// written with multi-row statements (written once for both engines: INSERT ... ON CONFLICT and
// RETURNING are common to SQLite and PostgreSQL). The caller runs write() inside one transaction.
import crypto from 'node:crypto';
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import type { Engine } from '../database.ts';
import { toFlag } from './rows.ts';
import type { ImportBatch, ImportSink, PlannedUser } from '../../core/import/import-sink.ts';

// Well under SQLite's 32,766 bound parameters and PostgreSQL's 65,535 per statement.
const ROWS_PER_STATEMENT = 1000;

function parts<T>(rows: T[], n = ROWS_PER_STATEMENT): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < rows.length; i += n) out.push(rows.slice(i, i + n));
  return out;
}

const primaryVerified = (u: PlannedUser): boolean =>
  u.addresses.find((a) => a.email.toLowerCase() === u.email.toLowerCase())?.verified ?? false;

export function importBatchRepo(db: Kysely<DB>, engine: Engine) {
  void engine;
  return {
    async usersByUsername(tenantPk: number, usernames: string[]): Promise<Map<string, { id: string }>> {
      if (!usernames.length) return new Map();
      const rows = await db.selectFrom('users').select(['username', 'id']).where('tenant_pk', '=', tenantPk).where('username', 'in', usernames).execute();
      return new Map(rows.map((r) => [r.username, { id: r.id }]));
    },
    async verifiedOwners(tenantPk: number, emailsLower: string[]): Promise<Map<string, string>> {
      const out = new Map<string, string>();
      if (!emailsLower.length) return out;
      // The users' own verified addresses in one pass (lower(email) has no index: one scan, not one per chunk).
      const wanted = new Set(emailsLower);
      const own = await db.selectFrom('users').select(['email', 'username']).where('tenant_pk', '=', tenantPk).where('email_verified', '=', toFlag(true)).execute();
      for (const r of own) if (wanted.has(r.email.toLowerCase())) out.set(r.email.toLowerCase(), r.username);
      for (const part of parts(emailsLower)) {
        const rows = await db.selectFrom('email_addresses').innerJoin('users', 'users.pk', 'email_addresses.user_pk')
          .select(['email_addresses.email_lower as email', 'users.username'])
          .where('email_addresses.tenant_pk', '=', tenantPk).where('email_addresses.verified', '=', toFlag(true))
          .where('email_addresses.email_lower', 'in', part).execute();
        for (const r of rows) out.set(r.email, r.username);
      }
      return out;
    },
    async takenUserIds(ids: string[]): Promise<Set<string>> {
      if (!ids.length) return new Set();
      return new Set((await db.selectFrom('users').select('id').where('id', 'in', ids).execute()).map((r) => r.id));
    },
    async existingGroups(tenantPk: number, names: string[]): Promise<Set<string>> {
      if (!names.length) return new Set();
      return new Set((await db.selectFrom('groups').select('name').where('tenant_pk', '=', tenantPk).where('name', 'in', names).execute()).map((r) => r.name));
    },
    async clientTenants(clientIds: string[]): Promise<Map<string, number>> {
      if (!clientIds.length) return new Map();
      const rows = await db.selectFrom('clients').select(['client_id', 'tenant_pk']).where('client_id', 'in', clientIds).execute();
      return new Map(rows.map((r) => [r.client_id, r.tenant_pk]));
    },

    /** Writes the batch; call it inside a transaction. */
    async write(tenantPk: number, b: ImportBatch): Promise<void> {
      const now = b.now;
      // Groups first: the users' memberships point at them.
      for (const names of parts(b.groups)) {
        await db.insertInto('groups')
          .values(names.map((name) => ({ id: crypto.randomUUID(), tenant_pk: tenantPk, name, created_at: now, updated_at: now })))
          .onConflict((oc) => oc.columns(['tenant_pk', 'name']).doNothing())
          .execute();
      }
      const userPk = new Map<string, number>();
      for (const us of parts(b.users)) {
        const rows = await db.insertInto('users')
          .values(us.map((u) => ({
            id: u.id, tenant_pk: tenantPk, username: u.username, email: u.email, first_name: u.firstName, last_name: u.lastName,
            password_hash: u.passwordHash, is_active: toFlag(u.isActive), is_staff: toFlag(u.isStaff), is_superuser: toFlag(u.isSuperuser),
            last_login: u.lastLogin, password_changed_at: u.passwordChangedAt ?? null,
            profile: JSON.stringify(u.profile ?? {}), emm: JSON.stringify(u.emm ?? {}), avatar: u.avatar ?? null,
            email_verified: toFlag(primaryVerified(u)), created_at: u.createdAt ?? now, updated_at: now,
          })))
          // An update keeps the user's UUID, serial and creation time; the rest is the file's.
          .onConflict((oc) => oc.columns(['tenant_pk', 'username']).doUpdateSet((eb) => ({
            email: eb.ref('excluded.email'), first_name: eb.ref('excluded.first_name'), last_name: eb.ref('excluded.last_name'),
            password_hash: eb.ref('excluded.password_hash'), is_active: eb.ref('excluded.is_active'), is_staff: eb.ref('excluded.is_staff'),
            is_superuser: eb.ref('excluded.is_superuser'), last_login: eb.ref('excluded.last_login'),
            password_changed_at: eb.ref('excluded.password_changed_at'), profile: eb.ref('excluded.profile'), emm: eb.ref('excluded.emm'),
            avatar: eb.ref('excluded.avatar'), email_verified: eb.ref('excluded.email_verified'), updated_at: eb.ref('excluded.updated_at'),
          })))
          .returning(['pk', 'username'])
          .execute();
        for (const r of rows) userPk.set(r.username, r.pk);
      }
      const updated = b.users.filter((u) => u.mode === 'update').map((u) => userPk.get(u.username)!);
      for (const pks of parts(updated)) {
        await db.deleteFrom('email_addresses').where('user_pk', 'in', pks).execute();
        await db.deleteFrom('group_members').where('user_pk', 'in', pks).execute();
      }
      const addresses = b.users.flatMap((u) => u.addresses.map((a) => ({
        tenant_pk: tenantPk, user_pk: userPk.get(u.username)!, email: a.email, email_lower: a.email.toLowerCase(),
        verified: toFlag(a.verified), is_primary: toFlag(a.primary), created_at: now,
      })));
      for (const rows of parts(addresses)) await db.insertInto('email_addresses').values(rows).execute();
      const groupNames = [...new Set(b.users.flatMap((u) => u.groups))];
      const groupPk = new Map<string, number>();
      for (const names of parts(groupNames)) {
        for (const r of await db.selectFrom('groups').select(['pk', 'name']).where('tenant_pk', '=', tenantPk).where('name', 'in', names).execute()) groupPk.set(r.name, r.pk);
      }
      const members = b.users.flatMap((u) => u.groups.map((g) => ({ group_pk: groupPk.get(g)!, user_pk: userPk.get(u.username)!, created_at: now })));
      for (const rows of parts(members)) {
        await db.insertInto('group_members').values(rows).onConflict((oc) => oc.columns(['group_pk', 'user_pk']).doNothing()).execute();
      }
      for (const s of b.settings) {
        await db.insertInto('settings').values({ tenant_pk: tenantPk, key: s.key, value: s.value, updated_at: now })
          .onConflict((oc) => oc.columns(['tenant_pk', 'key']).doUpdateSet({ value: s.value, updated_at: now })).execute();
      }
      for (const c of b.clients) {
        // An existing client keeps its secret: files carry none.
        await db.insertInto('clients').values({
          client_id: c.clientId, tenant_pk: tenantPk, name: c.name, secret_hash: c.secretHash,
          grant_types: JSON.stringify(c.grantTypes), redirect_uris: JSON.stringify(c.redirectUris), scopes: JSON.stringify(c.scopes),
          first_party: toFlag(c.firstParty), created_at: now, updated_at: now,
        }).onConflict((oc) => oc.column('client_id').doUpdateSet((eb) => ({
          name: eb.ref('excluded.name'), grant_types: eb.ref('excluded.grant_types'), redirect_uris: eb.ref('excluded.redirect_uris'),
          scopes: eb.ref('excluded.scopes'), first_party: eb.ref('excluded.first_party'), updated_at: eb.ref('excluded.updated_at'),
        }))).execute();
      }
    },
  };
}

export type ImportBatchRepo = ReturnType<typeof importBatchRepo>;

/** The core's ImportSink over a store: look-ups outside any transaction, each batch in its own. */
export function importSink(store: { read: { importBatch: ImportBatchRepo }; transaction<T>(fn: (r: { importBatch: ImportBatchRepo }) => Promise<T>): Promise<T> }): ImportSink {
  const read = () => store.read.importBatch;
  return {
    usersByUsername: (t, names) => read().usersByUsername(t, names),
    verifiedOwners: (t, emails) => read().verifiedOwners(t, emails),
    takenUserIds: (ids) => read().takenUserIds(ids),
    existingGroups: (t, names) => read().existingGroups(t, names),
    clientTenants: (ids) => read().clientTenants(ids),
    writeBatch: (t, b) => store.transaction((r) => r.importBatch.write(t, b)),
  };
}
