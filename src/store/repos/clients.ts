import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import { toFlag } from './rows.ts';
import type { ClientRecord, ClientsRepo, NewClient } from '../../core/clients/clients-repo.ts';

export type { ClientRecord, NewClient };

const list = (text: string): string[] => {
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) ? v.filter((x) => typeof x === 'string') : [];
  } catch {
    return [];
  }
};

function toClient(r: any): ClientRecord {
  return {
    pk: r.pk, clientId: r.client_id, tenantPk: r.tenant_pk, name: r.name, confidential: r.secret_hash !== null,
    secretHash: r.secret_hash, grantTypes: list(r.grant_types), redirectUris: list(r.redirect_uris), scopes: list(r.scopes),
    firstParty: r.first_party === true || r.first_party === 1,
    createdAt: r.created_at, updatedAt: r.updated_at,
  };
}

export function clientsRepo(db: Kysely<DB>): ClientsRepo {
  return {
    async find(clientId: string): Promise<ClientRecord | undefined> {
      const r = await db.selectFrom('clients').selectAll().where('client_id', '=', clientId).executeTakeFirst();
      return r && toClient(r);
    },
    async findByPk(pk: number): Promise<ClientRecord | undefined> {
      const r = await db.selectFrom('clients').selectAll().where('pk', '=', pk).executeTakeFirst();
      return r && toClient(r);
    },
    async list(tenantPk: number, page: { offset: number; limit: number }): Promise<{ count: number; items: ClientRecord[] }> {
      const [{ n }] = await db.selectFrom('clients').where('tenant_pk', '=', tenantPk).select((eb) => eb.fn.countAll<number>().as('n')).execute();
      const rows = await db.selectFrom('clients').selectAll().where('tenant_pk', '=', tenantPk).orderBy('pk').limit(page.limit).offset(page.offset).execute();
      return { count: Number(n), items: rows.map(toClient) };
    },
    async insert(c: NewClient): Promise<void> {
      await db.insertInto('clients').values({
        client_id: c.clientId, tenant_pk: c.tenantPk, name: c.name, secret_hash: c.secretHash,
        grant_types: JSON.stringify(c.grantTypes), redirect_uris: JSON.stringify(c.redirectUris), scopes: JSON.stringify(c.scopes), first_party: toFlag(c.firstParty),
        created_at: c.createdAt, updated_at: c.updatedAt,
      }).execute();
    },
    async update(pk: number, c: { name?: string; grantTypes?: string[]; redirectUris?: string[]; scopes?: string[]; firstParty?: boolean; secretHash?: string | null; updatedAt: number }): Promise<void> {
      const values: Record<string, unknown> = { updated_at: c.updatedAt };
      if (c.name !== undefined) values.name = c.name;
      if (c.grantTypes !== undefined) values.grant_types = JSON.stringify(c.grantTypes);
      if (c.redirectUris !== undefined) values.redirect_uris = JSON.stringify(c.redirectUris);
      if (c.scopes !== undefined) values.scopes = JSON.stringify(c.scopes);
      if (c.firstParty !== undefined) values.first_party = toFlag(c.firstParty);
      if (c.secretHash !== undefined) values.secret_hash = c.secretHash;
      await db.updateTable('clients').set(values).where('pk', '=', pk).execute();
    },
    async delete(pk: number): Promise<void> {
      await db.deleteFrom('clients').where('pk', '=', pk).execute();
    },
  };
}
