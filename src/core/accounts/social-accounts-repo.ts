// What the social accounts linked to users need stored; the store implements it.
import type { Page, PageRequest } from '../types.ts';

export interface SocialAccountRecord {
  pk: number;
  tenant_pk: number;
  user_pk: number;
  provider: string;
  uid: string;
  date_joined: number;
  last_login: number | null;
}

export interface SocialAccountsRepo {
  forUser(userPk: number, page: PageRequest): Promise<Page<SocialAccountRecord>>;
  find(pk: number): Promise<SocialAccountRecord | undefined>;
  /** The link of an upstream identity in a tenant (one identity, one account). */
  findByUid(tenantPk: number, provider: string, uid: string): Promise<SocialAccountRecord | undefined>;
  touch(pk: number, lastLogin: number): Promise<void>;
  /** An upstream account linked already (in the tenant) is a conflict (Store.isConflict). */
  insert(row: Omit<SocialAccountRecord, 'pk'>): Promise<SocialAccountRecord>;
  delete(pk: number): Promise<void>;
}
