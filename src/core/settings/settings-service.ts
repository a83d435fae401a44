import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { Principal } from '../types.ts';
import { requireTenantManager } from '../permissions.ts';
import { FieldErrorBag } from '../errors.ts';
import { SETTING_KEYS, formatSetting, publicSetting, isSettingKey, parseSetting, resolveSettings, type Settings } from './settings-schema.ts';

const CACHE_MS = 1_000;

export interface SettingEntry {
  key: string;
  value: string;
}

export class SettingsService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly events: Events;

  constructor(store: Store, clock: Clock, events: Events) {
    this.store = store;
    this.clock = clock;
    this.events = events;
  }

  // Settings are read on hot paths; a change made here is seen at once on this instance and
  // within CACHE_MS on the others.
  private readonly cache = new Map<number, { settings: Settings; at: number }>();

  /** Drops a tenant's cached settings (another instance changed them). */
  invalidate(tenantPk: number): void {
    this.cache.delete(tenantPk);
  }

  /** The effective settings of a tenant. */
  async forTenant(tenantPk: number): Promise<Settings> {
    const hit = this.cache.get(tenantPk);
    if (hit && Date.now() - hit.at < CACHE_MS) return hit.settings;
    const settings = resolveSettings(await this.store.read.settings.all(tenantPk));
    this.cache.set(tenantPk, { settings, at: Date.now() });
    return settings;
  }

  /** Every known key with its effective value, sorted by key. */
  async list(p: Principal, tenantPk: number): Promise<SettingEntry[]> {
    requireTenantManager(p, tenantPk);
    const settings = await this.forTenant(tenantPk);
    return SETTING_KEYS.map((key) => ({ key, value: publicSetting(settings[key]) }));
  }

  async set(p: Principal, tenantPk: number, key: string, value: string): Promise<SettingEntry> {
    requireTenantManager(p, tenantPk);
    const errors = new FieldErrorBag();
    if (!isSettingKey(key)) {
      errors.add('key', `Unknown configuration key "${key}". Known keys: ${SETTING_KEYS.join(', ')}.`);
      errors.throwIfAny();
      throw new Error('unreachable');
    }
    const parsed = parseSetting(key, value);
    if ('error' in parsed) errors.add('value', parsed.error);
    errors.throwIfAny();
    const normalized = formatSetting((parsed as { value: Settings[keyof Settings] }).value);
    await this.store.transaction(async (r) => {
      await r.settings.put(tenantPk, key, normalized, this.clock.now());
      await this.events.emit({ type: 'settings.changed', tenantPk, userPk: null, actorPk: p.user.pk, detail: { key, value: publicSetting((parsed as { value: Settings[keyof Settings] }).value) } });
    });
    this.cache.delete(tenantPk);
    return { key, value: publicSetting((parsed as { value: Settings[keyof Settings] }).value) };
  }
}
