// The reads behind `latchkey export`: a tenant's settings, groups, clients, and its users page
// by page (keyset on the serial) with their addresses and group names in two more queries.
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import { flag, toUser } from './rows.ts';
import type { ExportSource, ExportedUser } from '../../core/import/export-tenant.ts';

const list = (text: string): string[] => {
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
};

export function exportSource(db: Kysely<DB>): ExportSource {
  return {
    async settings(tenantPk) {
      const rows = await db.selectFrom('settings').select(['key', 'value']).where('tenant_pk', '=', tenantPk).execute();
      return Object.fromEntries(rows.map((r) => [r.key, r.value]));
    },
    async groups(tenantPk) {
      return (await db.selectFrom('groups').select('name').where('tenant_pk', '=', tenantPk).orderBy('pk').execute()).map((r) => r.name);
    },
    async clients(tenantPk) {
      const rows = await db.selectFrom('clients').selectAll().where('tenant_pk', '=', tenantPk).orderBy('pk').execute();
      return rows.map((r) => ({
        clientId: r.client_id, name: r.name, confidential: r.secret_hash !== null,
        grantTypes: list(r.grant_types), redirectUris: list(r.redirect_uris), scopes: list(r.scopes), firstParty: flag(r.first_party),
      }));
    },
    async usersAfter(tenantPk, afterPk, limit) {
      const rows = await db.selectFrom('users').selectAll().where('tenant_pk', '=', tenantPk).where('pk', '>', afterPk).orderBy('pk').limit(limit).execute();
      if (!rows.length) return [];
      const pks = rows.map((r) => r.pk);
      const addresses = await db.selectFrom('email_addresses').select(['user_pk', 'email', 'verified', 'is_primary'])
        .where('user_pk', 'in', pks).orderBy('pk').execute();
      const members = await db.selectFrom('group_members').innerJoin('groups', 'groups.pk', 'group_members.group_pk')
        .select(['group_members.user_pk', 'groups.name']).where('group_members.user_pk', 'in', pks).orderBy('groups.name').execute();
      const byUser = new Map<number, ExportedUser>();
      const ownVerified = new Map(rows.map((r) => [r.pk, flag(r.email_verified)]));
      const out = rows.map((r) => {
        const u = toUser(r);
        const e: ExportedUser = {
          pk: u.pk, id: u.id, username: u.username, email: u.email, firstName: u.firstName, lastName: u.lastName,
          passwordHash: u.passwordHash, isActive: u.isActive, isStaff: u.isStaff, isSuperuser: u.isSuperuser,
          lastLogin: u.lastLogin, createdAt: u.createdAt, passwordChangedAt: u.passwordChangedAt,
          profile: u.profile, emm: u.emm, avatar: u.avatar, addresses: [], groups: [],
        };
        byUser.set(u.pk, e);
        return e;
      });
      for (const a of addresses) byUser.get(a.user_pk)!.addresses.push({ email: a.email, verified: flag(a.verified), primary: flag(a.is_primary) });
      for (const m of members) byUser.get(m.user_pk)!.groups.push(m.name);
      // A user whose own address has no address row (made before e-mail addresses were kept) still exports it.
      for (const e of out) {
        if (e.email && !e.addresses.some((a) => a.email.toLowerCase() === e.email.toLowerCase())) {
          e.addresses.unshift({ email: e.email, verified: ownVerified.get(e.pk)!, primary: !e.addresses.some((a) => a.primary) });
        }
      }
      return out;
    },
  };
}
