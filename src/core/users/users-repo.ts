// What the users service (and the sign-in, which finds accounts) needs stored; the store implements it.
import type { Page, PageRequest, User } from '../types.ts';

export type NewUser = Omit<User, 'pk' | 'tenantName'>;
export type UserChanges = Partial<Pick<User,
  'tenantPk' | 'username' | 'email' | 'firstName' | 'lastName' | 'passwordHash' | 'isActive' | 'isStaff' |
  'isSuperuser' | 'lastLogin' | 'passwordChangedAt' | 'updatedAt' | 'profile' | 'emm' | 'avatar' | 'emailVerified'>>;

export interface UsersRepo {
  findById(id: string): Promise<User | undefined>;
  findByPk(pk: number): Promise<User | undefined>;
  findByUsername(tenantPk: number, username: string): Promise<User | undefined>;
  /**
   * The one user whose e-mail is this (case-insensitive), or among several the one who has
   * verified it (someone else entering the same address must not take it); else undefined.
   */
  findOneByEmail(tenantPk: number, email: string): Promise<User | undefined>;
  /** A tenant's users by pk; with `onlyPk`, that one user alone (or none). */
  list(tenantPk: number, page: PageRequest, onlyPk?: number): Promise<Page<User>>;
  countSuperusers(tenantPk: number): Promise<number>;
  /**
   * The stored password hash of the first user of the tenant at or after `fraction` (0 to 1) of
   * its range of pks, wrapping round; undefined when no user of the tenant has one. For the
   * sign-in's decoy check of an unknown name (first-factors.ts).
   */
  passwordHashAt(tenantPk: number, fraction: number): Promise<string | undefined>;
  /** Answers the new user's pk; a taken username is a conflict (Store.isConflict). */
  insert(u: NewUser): Promise<number>;
  /** Sets the fields named (undefined ones are kept). */
  update(pk: number, changes: UserChanges): Promise<void>;
  /** Deletes the user; its memberships, credentials and addresses go with it. */
  delete(pk: number): Promise<void>;
}
