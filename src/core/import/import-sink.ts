// What the import needs of the store: a few look-ups by the keys rows are matched on, and one
// write of a whole batch in one transaction (all of it lands, or none of it).
import type { ImportedClient, ImportedUser } from './records.ts';

export interface PlannedUser extends ImportedUser {
  id: string;
  /** create: a new user; update: overwrite the tenant's user of that username (its UUID is kept). */
  mode: 'create' | 'update';
}

export interface PlannedClient extends ImportedClient {
  mode: 'create' | 'update';
  /** For a new confidential client: the hash of its new secret. */
  secretHash: string | null;
}

export interface ImportBatch {
  now: number;
  users: PlannedUser[];
  /** Groups to create when missing (the batch's users' groups among them). */
  groups: string[];
  settings: Array<{ key: string; value: string }>;
  clients: PlannedClient[];
}

export interface ImportSink {
  /** The tenant's users of these usernames, with their UUIDs. */
  usersByUsername(tenantPk: number, usernames: string[]): Promise<Map<string, { id: string }>>;
  /** For each lower-cased address, the username of the tenant's user who has verified it (called once with all of them). */
  verifiedOwners(tenantPk: number, emailsLower: string[]): Promise<Map<string, string>>;
  /** Which of these user UUIDs exist already (in any tenant). */
  takenUserIds(ids: string[]): Promise<Set<string>>;
  /** Which of these group names the tenant has. */
  existingGroups(tenantPk: number, names: string[]): Promise<Set<string>>;
  /** The tenant of each of these client ids that is registered. */
  clientTenants(clientIds: string[]): Promise<Map<string, number>>;
  /**
   * Writes a batch in one transaction: groups, users (an update replaces the user's fields,
   * addresses and memberships by the file's), addresses, memberships, settings, clients.
   */
  writeBatch(tenantPk: number, batch: ImportBatch): Promise<void>;
}
