// What a user's e-mail addresses need stored; the store implements it.
import type { Page, PageRequest } from '../types.ts';
import type { EmailAddress } from './email-address.ts';

export interface EmailAddressesRepo {
  /** The user's addresses by pk, with their count; all of them without `page`. */
  forUser(userPk: number, page?: PageRequest): Promise<Page<EmailAddress>>;
  find(pk: number): Promise<EmailAddress | undefined>;
  /** The user's address of this spelling (case-insensitive). */
  findForUser(userPk: number, email: string): Promise<EmailAddress | undefined>;
  /** The address as verified by a user of the tenant, if any. */
  verifiedOwner(tenantPk: number, email: string): Promise<EmailAddress | undefined>;
  /** Every address with this spelling in the tenant (for sign-in and reset by e-mail). */
  byEmail(tenantPk: number, email: string): Promise<EmailAddress[]>;
  /** The same address twice for a user, or verified by two users of a tenant, is a conflict (Store.isConflict). */
  insert(e: Omit<EmailAddress, 'pk'>): Promise<EmailAddress>;
  setVerified(pk: number): Promise<void>;
  /** Makes `pk` the user's one primary address. */
  setPrimary(userPk: number, pk: number): Promise<void>;
  delete(pk: number): Promise<void>;
}
