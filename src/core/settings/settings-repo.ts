// What the settings service needs stored: a tenant's raw key/value pairs (settings-schema.ts
// gives them their types and defaults). The store implements it.
export interface SettingsRepo {
  all(tenantPk: number): Promise<Record<string, string>>;
  /** Sets or replaces one key. */
  put(tenantPk: number, key: string, value: string, now: number): Promise<void>;
}
