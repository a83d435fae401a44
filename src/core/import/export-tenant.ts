// `latchkey export`: a tenant as the records an import reads back (users with their hashes,
// addresses and groups; groups; settings; clients without secrets), read page by page.
import type { ImportedClient, ImportedUser } from './records.ts';
import { SETTINGS, isSettingKey } from '../settings/settings-schema.ts';

export interface ExportedUser extends ImportedUser {
  id: string;
  pk: number;
}

/** What the export needs of the store. */
export interface ExportSource {
  settings(tenantPk: number): Promise<Record<string, string>>;
  groups(tenantPk: number): Promise<string[]>;
  clients(tenantPk: number): Promise<ImportedClient[]>;
  /** The tenant's users in serial order after `afterPk`, with their addresses and group names. */
  usersAfter(tenantPk: number, afterPk: number, limit: number): Promise<ExportedUser[]>;
}

export type ExportRecord =
  | { kind: 'tenant'; name: string; displayName: string }
  | { kind: 'setting'; key: string; value: string }
  | { kind: 'group'; name: string }
  | { kind: 'client'; client: ImportedClient }
  | { kind: 'user'; user: ExportedUser };

/**
 * The tenant's records. Settings that hold secrets (the upstream providers' client secrets)
 * stay behind, like clients' secrets, and so do stored keys this version does not know (an
 * import would refuse them); `onOmitted` is told of each.
 */
export async function* exportTenant(source: ExportSource, tenant: { pk: number; name: string; displayName: string }, opts: { pageSize?: number; onOmitted?: (what: string) => void } = {}): AsyncGenerator<ExportRecord> {
  const pageSize = opts.pageSize ?? 1000;
  yield { kind: 'tenant', name: tenant.name, displayName: tenant.displayName };
  const settings = await source.settings(tenant.pk);
  for (const key of Object.keys(settings).sort()) {
    if (!isSettingKey(key)) opts.onOmitted?.(`setting ${key}: not a setting this version knows`);
    else if (SETTINGS[key].type === 'providers') opts.onOmitted?.(`setting ${key}: it holds the upstream providers' client secrets; set it again where you import`);
    else yield { kind: 'setting', key, value: settings[key] };
  }
  for (const name of await source.groups(tenant.pk)) yield { kind: 'group', name };
  for (const client of await source.clients(tenant.pk)) yield { kind: 'client', client };
  let after = 0;
  for (;;) {
    const page = await source.usersAfter(tenant.pk, after, pageSize);
    for (const user of page) yield { kind: 'user', user };
    if (page.length < pageSize) return;
    after = page[page.length - 1].pk;
  }
}
