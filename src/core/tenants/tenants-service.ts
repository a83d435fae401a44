// Tenants: every user, group, setting and token belongs to one. `default` always exists.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { Tenant } from '../types.ts';
import { DomainError, FieldErrorBag, fieldError, notFound, validationError } from '../errors.ts';
import { requireSuperuser } from '../permissions.ts';
import { actorUserPk, type Actor } from '../actor.ts';
import { newUuid } from '../secrets.ts';

export const DEFAULT_TENANT = 'default';
const CACHE_MS = 2_000;

const TENANT_NAME_RE = /^[a-z0-9][a-z0-9._-]{0,63}$/;

function tenantNameProblem(name: string): string | undefined {
  if (!TENANT_NAME_RE.test(name)) {
    return 'Enter a valid tenant name: 1 to 64 lower-case letters, digits, ".", "_" or "-", starting with a letter or digit.';
  }
  return undefined;
}

export interface TenantChanges {
  name?: string;
  displayName?: string;
  isActive?: boolean;
}

export class TenantsService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly events: Events;
  private readonly byName = new Map<string, { tenant: Tenant; at: number }>();
  private readonly byPkCache = new Map<number, { tenant: Tenant; at: number }>();

  constructor(store: Store, clock: Clock, events: Events) {
    this.store = store;
    this.clock = clock;
    this.events = events;
  }

  async ensureDefault(): Promise<Tenant> {
    const found = await this.store.read.tenants.findByName(DEFAULT_TENANT);
    if (found) return found;
    try {
      return await this.create(DEFAULT_TENANT, 'Default');
    } catch (err) {
      const again = await this.store.read.tenants.findByName(DEFAULT_TENANT);
      if (again) return again; // another instance created it first
      throw err;
    }
  }

  async create(name: string, displayName: string): Promise<Tenant> {
    const errors = new FieldErrorBag();
    const np = tenantNameProblem(name);
    if (np) errors.add('name', np);
    if ([...displayName].length > 200) errors.add('display_name', 'Ensure this field has no more than 200 characters.');
    errors.throwIfAny();
    const now = this.clock.now();
    try {
      return await this.store.transaction((r) =>
        r.tenants.insert({ id: newUuid(), name, displayName, isActive: true, createdAt: now, updatedAt: now }),
      );
    } catch (err) {
      if (this.store.isConflict(err)) throw new DomainError('VALIDATION_FAILED', 'exists', { fields: { name: ['A tenant with that name already exists.'] } });
      throw err;
    }
  }

  private remember(t: Tenant): Tenant {
    const at = Date.now();
    this.byName.set(t.name, { tenant: t, at });
    this.byPkCache.set(t.pk, { tenant: t, at });
    return t;
  }

  /** The tenant a request acts in, by name; unknown or disabled tenants are refused. */
  async resolve(name: string | undefined): Promise<Tenant> {
    const key = name ?? DEFAULT_TENANT;
    const hit = this.byName.get(key);
    let tenant = hit && Date.now() - hit.at < CACHE_MS ? hit.tenant : undefined;
    if (!tenant) {
      const found = await this.store.read.tenants.findByName(key);
      if (found) tenant = this.remember(found);
    }
    if (!tenant) throw new DomainError('TENANT_UNAVAILABLE', `Unknown tenant "${key}".`);
    if (!tenant.isActive) throw new DomainError('TENANT_UNAVAILABLE', `Tenant "${key}" is disabled.`);
    return tenant;
  }

  async byPk(pk: number): Promise<Tenant | undefined> {
    const hit = this.byPkCache.get(pk);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.tenant;
    const found = await this.store.read.tenants.findByPk(pk);
    return found && this.remember(found);
  }

  /** For checks that must not act on a stale view (placing a user in a tenant). */
  async findByName(name: string): Promise<Tenant | undefined> {
    return this.store.read.tenants.findByName(name);
  }

  /** Drops every cached tenant (another instance changed one). */
  invalidate(): void {
    this.byName.clear();
    this.byPkCache.clear();
  }

  private forget(t: Tenant): void {
    this.byName.delete(t.name);
    this.byPkCache.delete(t.pk);
  }

  // --- administration (superusers and the operator) ------------------------------------------

  async adminList(a: Actor): Promise<Tenant[]> {
    requireSuperuser(a);
    return this.store.read.tenants.list();
  }

  async adminGet(a: Actor, name: string): Promise<Tenant> {
    requireSuperuser(a);
    const t = await this.store.read.tenants.findByName(name);
    if (!t) throw notFound();
    return t;
  }

  async adminCreate(a: Actor, name: string, displayName: string | undefined): Promise<Tenant> {
    requireSuperuser(a);
    const t = await this.store.transaction(async () => {
      const made = await this.create(name, displayName ?? name); // joins this transaction
      await this.events.emit({ type: 'tenant.changed', tenantPk: made.pk, userPk: null, actorPk: actorUserPk(a), detail: { action: 'created', name } });
      return made;
    });
    return t;
  }

  /** Renames, retitles, disables or re-enables a tenant. The default tenant cannot be renamed or disabled. */
  async adminUpdate(a: Actor, name: string, changes: TenantChanges): Promise<Tenant> {
    const t = await this.adminGet(a, name);
    const errors = new FieldErrorBag();
    if (changes.name !== undefined && changes.name !== t.name) {
      if (t.name === DEFAULT_TENANT) errors.add('name', 'The default tenant cannot be renamed.');
      const np = tenantNameProblem(changes.name);
      if (np) errors.add('name', np);
    }
    if (changes.isActive === false && t.name === DEFAULT_TENANT) errors.add('is_active', 'The default tenant cannot be disabled.');
    if (changes.displayName !== undefined && [...changes.displayName].length > 200) {
      errors.add('display_name', 'Ensure this field has no more than 200 characters.');
    }
    errors.throwIfAny();
    try {
      await this.store.transaction(async (r) => {
        await r.tenants.update(t.pk, { ...changes, updatedAt: this.clock.now() });
        await this.events.emit({
          type: 'tenant.changed', tenantPk: t.pk, userPk: null, actorPk: actorUserPk(a),
          detail: { action: 'updated', name: changes.name ?? t.name, is_active: changes.isActive ?? t.isActive },
        });
      });
    } catch (err) {
      if (this.store.isConflict(err)) throw fieldError('name', 'A tenant with that name already exists.');
      throw err;
    }
    this.forget(t);
    return (await this.store.read.tenants.findByPk(t.pk))!;
  }

  /** Deletes a tenant with everything in it. The default tenant stays. */
  async adminDelete(a: Actor, name: string): Promise<void> {
    const t = await this.adminGet(a, name);
    if (t.name === DEFAULT_TENANT) throw validationError({ non_field_errors: ['The default tenant cannot be deleted.'] });
    if (a.kind === 'user' && t.pk === a.user.tenantPk) throw validationError({ non_field_errors: ['You cannot delete the tenant you are signed in to.'] });
    await this.store.transaction(async (r) => {
      await r.tenants.delete(t.pk);
      await this.events.emit({ type: 'tenant.changed', tenantPk: null, userPk: null, actorPk: actorUserPk(a), detail: { action: 'deleted', name: t.name } });
    });
    this.forget(t);
  }
}
