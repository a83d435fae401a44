// What the groups service (and the access token's group claim) needs stored; the store implements it.
import type { Group, Page, PageRequest, User } from '../types.ts';

export interface GroupsRepo {
  findById(id: string): Promise<Group | undefined>;
  findByName(tenantPk: number, name: string): Promise<Group | undefined>;
  list(tenantPk: number, page: PageRequest): Promise<Page<Group>>;
  /** A taken name in the tenant is a conflict (Store.isConflict). */
  insert(g: Omit<Group, 'pk'>): Promise<Group>;
  rename(pk: number, name: string, now: number): Promise<void>;
  delete(pk: number): Promise<void>;
  members(groupPk: number, page: PageRequest): Promise<Page<User>>;
  isMember(groupPk: number, userPk: number): Promise<boolean>;
  /** A membership that exists already is a conflict (Store.isConflict). */
  addMember(groupPk: number, userPk: number, now: number): Promise<void>;
  /** False when the user was not a member. */
  removeMember(groupPk: number, userPk: number): Promise<boolean>;
  removeAllMemberships(userPk: number): Promise<void>;
  /** The names of the user's groups, sorted: in every access token issued. */
  namesForUser(userPk: number): Promise<string[]>;
}
