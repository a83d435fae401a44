// Tenants: every user, group, setting and token belongs to one. `default` always exists.
import type { Store } from '../../store/index.ts';
import type { Clock } from '../clock.ts';
import type { Tenant } from '../types.ts';
import { DomainError } from '../errors.ts';
import { newUuid } from '../secrets.ts';
import { isUniqueViolation } from '../../store/index.ts';

export const DEFAULT_TENANT = 'default';
const CACHE_MS = 2_000;

export class TenantsService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly byName = new Map<string, { tenant: Tenant; at: number }>();
  private readonly byPkCache = new Map<number, { tenant: Tenant; at: number }>();

  constructor(store: Store, clock: Clock) {
    this.store = store;
    this.clock = clock;
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
    const now = this.clock.now();
    try {
      return await this.store.transaction((r) =>
        r.tenants.insert({ id: newUuid(), name, displayName, isActive: true, createdAt: now, updatedAt: now }),
      );
    } catch (err) {
      if (isUniqueViolation(err)) throw new DomainError('VALIDATION_FAILED', 'exists', { fields: { name: ['A tenant with that name already exists.'] } });
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
}
