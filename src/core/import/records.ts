// What an import brings in, whatever file it came from: the readers of each format turn their
// rows into these records (with the line each came from), and the export writes them back out.

export interface ImportedAddress {
  email: string;
  verified: boolean;
  primary: boolean;
}

export interface ImportedUser {
  /** Kept when given and free (an export's UUIDs survive a round trip); else a new one. */
  id?: string;
  username: string;
  /** The user's address; the primary one of `addresses` wins when both are given. */
  email: string;
  firstName: string;
  lastName: string;
  /** The stored hash as it is, in a scheme describeHash knows; null for no usable password. */
  passwordHash: string | null;
  isActive: boolean;
  isStaff: boolean;
  isSuperuser: boolean;
  lastLogin: number | null;
  /** When the account was made (epoch ms); now when unknown. */
  createdAt: number | null;
  passwordChangedAt?: number | null;
  profile?: Record<string, unknown>;
  emm?: Record<string, unknown>;
  avatar?: string | null;
  addresses: ImportedAddress[];
  /** Names of the groups the user belongs to. */
  groups: string[];
}

export interface ImportedClient {
  clientId: string;
  name: string;
  grantTypes: string[];
  redirectUris: string[];
  scopes: string[];
  /** A confidential client gets a new secret on creation: secrets never travel in a file. */
  confidential: boolean;
  /** The tenant's own application: the OpenID provider asks its users for no consent. */
  firstParty: boolean;
}

/** One row of a file, numbered by the line (or record) it starts on. */
export type ImportItem =
  | { kind: 'tenant'; line: number; name: string; displayName: string }
  | { kind: 'setting'; line: number; key: string; value: string }
  | { kind: 'group'; line: number; name: string }
  | { kind: 'client'; line: number; client: ImportedClient }
  | { kind: 'user'; line: number; user: ImportedUser }
  /** A row the reader could not read: it is reported, and nothing is written. */
  | { kind: 'rejected'; line: number; reason: string };

export type ConflictPolicy = 'skip' | 'update' | 'fail';
export const CONFLICT_POLICIES: readonly ConflictPolicy[] = ['skip', 'update', 'fail'];

export interface Rejection {
  line: number;
  reason: string;
}

export interface ImportReport {
  tenant: string;
  tenantCreated: boolean;
  dryRun: boolean;
  onConflict: ConflictPolicy;
  users: { created: number; updated: number; skipped: number };
  groups: { created: number; existing: number };
  clients: { created: number; updated: number; skipped: number };
  settings: number;
  addresses: number;
  memberships: number;
  /** How many users came with each password hash scheme ("none": no usable password). */
  hashSchemes: Record<string, number>;
  rejected: Rejection[];
  /** Users whose UUID in the file was taken by someone else, and who got a new one. */
  newIds: number;
  /** New confidential clients' secrets, shown once (only their hashes are stored). */
  clientSecrets: Array<{ clientId: string; secret: string }>;
  /** Whether anything was written (not with --dry-run, nor when a row was rejected). */
  written: boolean;
  /** A batch that failed to write: everything before `fromLine` is in, nothing from it on. */
  failure?: { fromLine: number; toLine: number; message: string; usersWritten: number };
}
