// Users: create, read, update and delete, with the permission and field rules of every dialect.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { Page, PageRequest, Principal, Tenant, User } from '../types.ts';
import { FieldErrorBag, fieldError, notFound } from '../errors.ts';
import { requireMayChangeFlags, requireMayCreateUser, requireMayNameTenant, requireMayPlaceElsewhere, requireUserAccess, requireUserManager, userListScope } from '../permissions.ts';
import { actorUserPk, type Actor } from '../actor.ts';
import { isUuid, newUuid } from '../secrets.ts';
import type { Passwords } from '../credentials/passwords.ts';
import { endAllSignIns, signInOf } from '../sessions/end-sign-ins.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import { avatarProblem, emailProblem, nameProblem, normalizeEmail, normalizeUsername, usernameProblem } from './user-fields.ts';

export interface CreateUserInput {
  username: string;
  /** Null gives an account that cannot sign in with a password. */
  password: string | null;
  email?: string;
  firstName?: string;
  lastName?: string;
  /** Tenant name; defaults to the caller's tenant. */
  tenant?: string;
  isActive?: boolean;
  isStaff?: boolean;
  isSuperuser?: boolean;
  profile?: Record<string, unknown>;
  emm?: Record<string, unknown>;
  avatar?: string | null;
}

export interface UpdateUserInput {
  username?: string;
  /** Sets the password; every sign-in of the user ends but the caller's own. */
  password?: string;
  profile?: Record<string, unknown>;
  emm?: Record<string, unknown>;
  avatar?: string | null;
  email?: string;
  firstName?: string;
  lastName?: string;
  tenant?: string;
  isActive?: boolean;
  isStaff?: boolean;
  isSuperuser?: boolean;
}

const USERNAME_TAKEN = 'A user with that username already exists.';

/** JSON kept with a user is bounded: a profile is data about a person, not a document store. */
export const JSON_FIELD_MAX_BYTES = 16 * 1024;
export const JSON_FIELD_MAX_DEPTH = 5;

/** Whether a JSON value nests deeper than `limit`; iterative, so a 100,000-level body cannot overflow the stack. */
function nestsDeeperThan(v: unknown, limit: number): boolean {
  const stack: Array<[unknown, number]> = [[v, 0]];
  while (stack.length > 0) {
    const [x, d] = stack.pop()!;
    if (x === null || typeof x !== 'object') continue;
    if (d >= limit) return true;
    for (const c of Array.isArray(x) ? x : Object.values(x)) stack.push([c, d + 1]);
  }
  return false;
}

function checkJsonFields(errors: FieldErrorBag, input: { profile?: unknown; emm?: unknown; avatar?: string | null }): void {
  if (input.avatar !== undefined) {
    const ap = avatarProblem(input.avatar);
    if (ap) errors.add('avatar', ap);
  }
  for (const field of ['profile', 'emm'] as const) {
    const v = input[field];
    if (v === undefined) continue;
    if (v === null || typeof v !== 'object' || Array.isArray(v)) errors.add(field, 'Expected a JSON object.');
    // Depth first: JSON.stringify of a very deep value throws RangeError (a 500) before any size check.
    else if (nestsDeeperThan(v, JSON_FIELD_MAX_DEPTH)) errors.add(field, `Must be nested at most ${JSON_FIELD_MAX_DEPTH} levels deep.`);
    else if (Buffer.byteLength(JSON.stringify(v)) > JSON_FIELD_MAX_BYTES) errors.add(field, `Must be at most ${JSON_FIELD_MAX_BYTES} bytes of JSON.`);
  }
}

export class UsersService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly passwords: Passwords;
  private readonly tenants: TenantsService;
  private readonly events: Events;

  constructor(deps: { store: Store; clock: Clock; passwords: Passwords; tenants: TenantsService; events: Events }) {
    this.events = deps.events;
    this.store = deps.store;
    this.clock = deps.clock;
    this.passwords = deps.passwords;
    this.tenants = deps.tenants;
  }

  /** Finds a user the caller may see; NOT_FOUND for malformed ids, unknown users and other tenants. */
  async get(p: Principal, id: string): Promise<User> {
    // The caller itself was read from the store for this very request.
    if (id.toLowerCase() === p.user.id) return p.user;
    const user = isUuid(id) ? await this.store.read.users.findById(id.toLowerCase()) : undefined;
    if (!user) throw notFound();
    requireUserAccess(p, user);
    return user;
  }

  /** Lists a tenant's users: all of them for its managers, only oneself for anyone else. */
  async list(p: Principal, page: PageRequest, tenant?: Tenant): Promise<Page<User>> {
    const t = tenant ?? p.tenant;
    return userListScope(p, t) === 'all' ? this.store.read.users.list(t.pk, page) : this.store.read.users.list(t.pk, page, p.user.pk);
  }

  /** Lists the users of the tenant named by a superuser (the v1 API's `?tenant_id=`); NOT_FOUND for anyone else. */
  async listInTenant(p: Principal, page: PageRequest, tenantName: string): Promise<Page<User>> {
    requireMayNameTenant(p);
    const t = await this.tenants.findByName(tenantName);
    if (!t) throw notFound();
    return this.list(p, page, t);
  }

  private async targetTenant(a: Actor, name: string | undefined, current: number): Promise<Tenant | undefined> {
    if (name === undefined) return undefined;
    const t = await this.tenants.findByName(name);
    if (t && t.pk === current) return t;
    requireMayPlaceElsewhere(a);
    if (!t) throw fieldError('tenant_id', `Unknown tenant "${name}".`);
    return t;
  }

  /** The tenant an actor acts in when it names none: its own, the visited one, or `default` for the operator. */
  private async homeTenant(a: Actor): Promise<Tenant> {
    if (a.kind === 'user') return a.tenant;
    if (a.kind === 'self_service') return a.tenant;
    return this.tenants.resolve(undefined);
  }

  /**
   * Checks a new account as `create` would (permissions, username rules and uniqueness, address,
   * names, password policy) and writes nothing: for a sign-up that makes the account later (a
   * passkey's, once the passkey is registered). Throws the same errors `create` throws.
   */
  async checkNew(a: Actor, input: CreateUserInput): Promise<void> {
    await this.admit(a, input);
  }

  private async admit(a: Actor, input: CreateUserInput): Promise<{ tenant: Tenant; username: string; email: string }> {
    const home = await this.homeTenant(a);
    const tenant = (await this.targetTenant(a, input.tenant, home.pk)) ?? home;
    requireMayCreateUser(a, tenant, input);
    const username = normalizeUsername(input.username);
    const email = normalizeEmail(input.email ?? '');
    const errors = new FieldErrorBag();
    const up = usernameProblem(username);
    if (up) errors.add('username', up);
    const ep = emailProblem(email);
    if (ep) errors.add('email', ep);
    for (const [field, value] of [['first_name', input.firstName], ['last_name', input.lastName]] as const) {
      const np = value === undefined ? undefined : nameProblem(value);
      if (np) errors.add(field, np);
    }
    checkJsonFields(errors, input);
    if (input.password !== null) {
      for (const m of await this.passwords.problems(tenant.pk, input.password, { username, email })) errors.add('password', m);
    }
    if (!up && (await this.store.read.users.findByUsername(tenant.pk, username))) errors.add('username', USERNAME_TAKEN);
    errors.throwIfAny();
    return { tenant, username, email };
  }

  async create(a: Actor, input: CreateUserInput): Promise<User> {
    const { tenant, username, email } = await this.admit(a, input);
    // Hash before the transaction: a write transaction must not wait on a 10 ms hash.
    const passwordHash = input.password === null ? null : await this.passwords.hash(input.password);
    const now = this.clock.now();
    const id = newUuid();
    try {
      return await this.store.transaction(async (r) => {
        await r.users.insert({
          id, tenantPk: tenant.pk, username, email, firstName: input.firstName ?? '', lastName: input.lastName ?? '',
          passwordHash, isActive: input.isActive ?? true, isStaff: input.isStaff ?? false,
          isSuperuser: input.isSuperuser ?? false, lastLogin: null, passwordChangedAt: passwordHash ? now : null,
          profile: input.profile ?? {}, emm: input.emm ?? {}, avatar: input.avatar ?? null, emailVerified: false, createdAt: now, updatedAt: now,
        });
        const created = (await r.users.findById(id))!;
        await this.events.emit({ type: 'user.created', tenantPk: tenant.pk, userPk: created.pk, actorPk: actorUserPk(a), detail: { username } });
        return created;
      });
    } catch (err) {
      if (this.store.isConflict(err)) throw fieldError('username', USERNAME_TAKEN);
      throw err;
    }
  }

  async update(p: Principal, id: string, input: UpdateUserInput): Promise<User> {
    const user = await this.get(p, id);
    requireMayChangeFlags(p, user, input);
    const tenant = await this.targetTenant(p, input.tenant, user.tenantPk);
    const moving = tenant !== undefined && tenant.pk !== user.tenantPk;

    const errors = new FieldErrorBag();
    const email = input.email === undefined ? undefined : normalizeEmail(input.email);
    const ep = email === undefined ? undefined : emailProblem(email);
    if (ep) errors.add('email', ep);
    for (const [field, value] of [['first_name', input.firstName], ['last_name', input.lastName]] as const) {
      const np = value === undefined ? undefined : nameProblem(value);
      if (np) errors.add(field, np);
    }
    checkJsonFields(errors, input);
    const username = input.username === undefined ? undefined : normalizeUsername(input.username);
    const renaming = username !== undefined && username !== user.username;
    if (renaming) {
      const up = usernameProblem(username);
      if (up) errors.add('username', up);
      else if (await this.store.read.users.findByUsername(moving ? tenant.pk : user.tenantPk, username)) errors.add('username', USERNAME_TAKEN);
    }
    const finalName = renaming ? username : user.username;
    if (input.password !== undefined) {
      for (const m of await this.passwords.problems(user.tenantPk, input.password, { username: finalName, email: email ?? user.email })) errors.add('password', m);
    }
    if (moving && (await this.store.read.users.findByUsername(tenant.pk, finalName))) {
      errors.add('tenant_id', `A user named "${finalName}" already exists in tenant "${tenant.name}".`);
    }
    errors.throwIfAny();

    const passwordHash = input.password === undefined ? undefined : await this.passwords.hash(input.password);
    // A new address is verified only if the user verified it before (REST-auth e-mail addresses).
    const emailVerified = email === undefined || email.toLowerCase() === user.email.toLowerCase() ? undefined
      : Boolean(email && (await this.store.read.emailAddresses.findForUser(user.pk, email))?.verified);
    const self = p.user.pk === user.pk;
    const now = this.clock.now();
    try {
      return await this.store.transaction(async (r) => {
        if (passwordHash !== undefined) {
          await this.passwords.write(r, user, passwordHash, {
            event: { type: 'password.changed', by: self ? 'self' : 'administrator', actorPk: self ? null : p.user.pk }, keep: self ? signInOf(p) : {},
          });
        }
        await r.users.update(user.pk, {
          email, emailVerified, firstName: input.firstName, lastName: input.lastName, isActive: input.isActive, isStaff: input.isStaff,
          isSuperuser: input.isSuperuser, tenantPk: moving ? tenant.pk : undefined, updatedAt: now,
          username: renaming ? username : undefined, profile: input.profile, emm: input.emm, avatar: input.avatar,
        });
        // Signing in again is the way to see a deactivated account's access end everywhere at once.
        if (input.isActive === false && user.isActive) await endAllSignIns(r, now, user.pk, 'deactivated');
        if (moving) {
          // Groups and credentials belong to the old tenant.
          await r.groups.removeAllMemberships(user.pk);
          await endAllSignIns(r, now, user.pk, 'tenant_changed');
          // So does the proof of owning an address (REST-auth): in the new tenant it is made anew.
          for (const a of (await r.emailAddresses.forUser(user.pk)).items) {
            await r.emailAddresses.delete(a.pk);
            await r.emailAddresses.insert({ ...a, tenantPk: tenant.pk, verified: false });
          }
          await r.users.update(user.pk, { emailVerified: false });
        }
        const updated = (await r.users.findById(user.id))!;
        const actorPk = p.user.pk === user.pk ? null : p.user.pk;
        const base = { tenantPk: updated.tenantPk, userPk: user.pk, actorPk };
        if (email !== undefined && email !== user.email) await this.events.emit({ ...base, type: 'email.changed' });
        const changed = (['username', 'isActive', 'isStaff', 'isSuperuser', 'firstName', 'lastName', 'tenantPk', 'avatar'] as const)
          .filter((k) => updated[k] !== user[k]);
        if (changed.length || input.profile !== undefined || input.emm !== undefined) {
          await this.events.emit({ ...base, type: 'user.updated', detail: { fields: [...changed, ...(input.profile ? ['profile'] : []), ...(input.emm ? ['emm'] : [])].join(',') } });
        }
        return updated;
      });
    } catch (err) {
      if (this.store.isConflict(err)) throw fieldError(moving ? 'tenant_id' : 'username', USERNAME_TAKEN);
      throw err;
    }
  }

  /** Finds a user by its integer pk, with the same visibility rules as `get`. */
  async getByPk(p: Principal, pk: number): Promise<User> {
    const user = Number.isSafeInteger(pk) && pk > 0 ? await this.store.read.users.findByPk(pk) : undefined;
    if (!user) throw notFound();
    requireUserAccess(p, user);
    return user;
  }

  /** Sets a user's password (oneself, or a manager for someone in its tenant). */
  async setPassword(p: Principal, id: string, password: string): Promise<User> {
    return this.update(p, id, { password });
  }

  async delete(p: Principal, id: string): Promise<void> {
    const user = await this.get(p, id);
    requireUserManager(p, user);
    await this.store.transaction(async (r) => {
      await r.users.delete(user.pk);
      await this.events.emit({ type: 'user.deleted', tenantPk: user.tenantPk, userPk: null, actorPk: p.user.pk, detail: { username: user.username, user_id: user.id } });
    });
  }
}
