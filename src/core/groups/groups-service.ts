// Groups ("privileges" in the v1 API) and their members, managed by a tenant's staff.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { Group, Page, PageRequest, Principal, User } from '../types.ts';
import { fieldError, notFound, validationError } from '../errors.ts';
import { managesTenant, requireGroupAccess, requireTenantManager } from '../permissions.ts';
import { isUuid, newUuid } from '../secrets.ts';
import { normalizeUsername } from '../users/user-fields.ts';

export const GROUP_NAME_MAX = 150;
const NAME_TAKEN = 'A group with that name already exists.';

function nameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'This field may not be blank.';
  if ([...name].length > GROUP_NAME_MAX) return `Ensure this field has no more than ${GROUP_NAME_MAX} characters.`;
  return undefined;
}

/** Who to add to a group: by id or by username (exactly one). */
export interface MemberRef {
  id?: string;
  username?: string;
}

export class GroupsService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly events: Events;

  constructor(store: Store, clock: Clock, events: Events) {
    this.store = store;
    this.clock = clock;
    this.events = events;
  }

  private changed(p: Principal, group: Group, action: string, userPk: number | null = null) {
    return this.events.emit({ type: 'group.changed', tenantPk: group.tenantPk, userPk, actorPk: p.user.pk, detail: { action, group: group.name } });
  }

  async list(p: Principal, page: PageRequest): Promise<Page<Group>> {
    requireTenantManager(p, p.tenant.pk);
    return this.store.read.groups.list(p.tenant.pk, page);
  }

  /** A group the caller manages; NOT_FOUND for malformed ids and other tenants' groups. */
  async get(p: Principal, id: string): Promise<Group> {
    const group = isUuid(id) ? await this.store.read.groups.findById(id.toLowerCase()) : undefined;
    if (!group) throw notFound();
    requireGroupAccess(p, group.tenantPk);
    return group;
  }

  async create(p: Principal, name: string): Promise<Group> {
    requireTenantManager(p, p.tenant.pk);
    const np = nameProblem(name);
    if (np) throw fieldError('name', np);
    const now = this.clock.now();
    try {
      const group = await this.store.transaction(async (r) => {
        if (await r.groups.findByName(p.tenant.pk, name)) throw fieldError('name', NAME_TAKEN);
        const made = await r.groups.insert({ id: newUuid(), tenantPk: p.tenant.pk, name, createdAt: now, updatedAt: now });
        await this.changed(p, made, 'created');
        return made;
      });
      return group;
    } catch (err) {
      if (this.store.isConflict(err)) throw fieldError('name', NAME_TAKEN);
      throw err;
    }
  }

  async rename(p: Principal, id: string, name: string | undefined): Promise<Group> {
    const group = await this.get(p, id);
    if (name === undefined || name === group.name) return group;
    const np = nameProblem(name);
    if (np) throw fieldError('name', np);
    const now = this.clock.now();
    try {
      await this.store.transaction(async (r) => {
        if (await r.groups.findByName(group.tenantPk, name)) throw fieldError('name', NAME_TAKEN);
        await r.groups.rename(group.pk, name, now);
        await this.changed(p, { ...group, name }, 'renamed');
      });
    } catch (err) {
      if (this.store.isConflict(err)) throw fieldError('name', NAME_TAKEN);
      throw err;
    }
    return { ...group, name, updatedAt: now };
  }

  async delete(p: Principal, id: string): Promise<void> {
    const group = await this.get(p, id);
    await this.store.transaction(async (r) => {
      await r.groups.delete(group.pk);
      await this.changed(p, group, 'deleted');
    });
  }

  async members(p: Principal, groupId: string, page: PageRequest): Promise<Page<User>> {
    const group = await this.get(p, groupId);
    return this.store.read.groups.members(group.pk, page);
  }

  async addMember(p: Principal, groupId: string, ref: MemberRef): Promise<User> {
    const group = await this.get(p, groupId);
    if ((ref.id === undefined) === (ref.username === undefined)) {
      throw validationError({ non_field_errors: ['Name the user to add by "id" or by "username".'] });
    }
    const user = ref.id !== undefined
      ? (isUuid(ref.id) ? await this.store.read.users.findById(ref.id.toLowerCase()) : undefined)
      : await this.store.read.users.findByUsername(group.tenantPk, normalizeUsername(ref.username!));
    const field = ref.id !== undefined ? 'id' : 'username';
    if (!user || user.tenantPk !== group.tenantPk) throw fieldError(field, 'No such user in this group\'s tenant.');
    if (!managesTenant(p, user.tenantPk)) throw notFound();
    await this.store.transaction(async (r) => {
      if (!(await r.groups.isMember(group.pk, user.pk))) await r.groups.addMember(group.pk, user.pk, this.clock.now());
      await this.changed(p, group, 'member_added', user.pk);
    }).catch((err) => {
      if (!this.store.isConflict(err)) throw err; // added concurrently: the outcome is the same (and the other request recorded it)
    });
    return user;
  }

  async removeMember(p: Principal, groupId: string, userId: string): Promise<void> {
    const group = await this.get(p, groupId);
    const user = isUuid(userId) ? await this.store.read.users.findById(userId.toLowerCase()) : undefined;
    if (!user) throw notFound();
    await this.store.transaction(async (r) => {
      if (!(await r.groups.removeMember(group.pk, user.pk))) throw notFound();
      await this.changed(p, group, 'member_removed', user.pk);
    });
  }
}
