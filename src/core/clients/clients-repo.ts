// What the clients service needs stored; the store implements it.
import type { Client, Page, PageRequest } from '../types.ts';

/** A client as stored: with the SHA-256 of its secret (null for a public client). */
export interface ClientRecord extends Client {
  secretHash: string | null;
}

export type NewClient = Omit<ClientRecord, 'pk' | 'confidential'>;

export interface ClientsRepo {
  find(clientId: string): Promise<ClientRecord | undefined>;
  findByPk(pk: number): Promise<ClientRecord | undefined>;
  list(tenantPk: number, page: PageRequest): Promise<Page<ClientRecord>>;
  /** A taken client id is a conflict (Store.isConflict). */
  insert(c: NewClient): Promise<void>;
  update(pk: number, c: { name?: string; grantTypes?: string[]; redirectUris?: string[]; scopes?: string[]; firstParty?: boolean; secretHash?: string | null; updatedAt: number }): Promise<void>;
  delete(pk: number): Promise<void>;
}
