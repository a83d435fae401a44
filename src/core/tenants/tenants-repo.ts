// What the tenants service needs stored; the store implements it.
import type { Tenant } from '../types.ts';

export interface TenantsRepo {
  findByName(name: string): Promise<Tenant | undefined>;
  findByPk(pk: number): Promise<Tenant | undefined>;
  list(): Promise<Tenant[]>;
  insert(t: Omit<Tenant, 'pk'>): Promise<Tenant>;
  update(pk: number, changes: { name?: string; displayName?: string; isActive?: boolean; updatedAt: number }): Promise<void>;
  /** Deletes the tenant with everything in it (its rows cascade). */
  delete(pk: number): Promise<void>;
}
