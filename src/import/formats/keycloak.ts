// Keycloak: a realm export (`kc.sh export --realm NAME`, or the admin console's partial export
// with users): `users[]` with their `credentials[]`, and the `groups` tree. Password credentials
// become the stored forms imported-hashes.ts reads: keycloak-pbkdf2-sha256$<iterations>$<salt>$<key>
// (and -sha512, and keycloak-pbkdf2 for SHA-1) or, for argon2, a PHC string.
import fs from 'node:fs';
import type { ImportItem, ImportedAddress } from '../../core/import/index.ts';
import { keycloakArgon2Phc } from '../../core/import/index.ts';
import { FileProblem, RowProblem, bool, linesOfKey, parseJson, row, text, time } from './common.ts';

const PBKDF2 = new Set(['pbkdf2', 'pbkdf2-sha256', 'pbkdf2-sha512']);

const parseInner = (v: unknown, field: string): Record<string, any> => {
  if (v === undefined || v === null) return {};
  if (typeof v === 'object') return v as Record<string, any>;
  if (typeof v !== 'string') throw new RowProblem(`credential field "${field}" must be a JSON string`);
  try {
    const o = JSON.parse(v);
    if (o && typeof o === 'object') return o;
  } catch {
    // falls through
  }
  throw new RowProblem(`credential field "${field}" is not valid JSON`);
};

const first = (v: unknown): string | undefined => (Array.isArray(v) ? (v[0] === undefined ? undefined : String(v[0])) : v === undefined ? undefined : String(v));

/** A Keycloak password credential as a stored hash Latchkey verifies. */
export function keycloakHash(cred: Record<string, any>): string {
  const secret = parseInner(cred.secretData, 'secretData');
  const data = parseInner(cred.credentialData, 'credentialData');
  // Exports before Keycloak 9 kept these on the credential itself.
  const value = secret.value ?? cred.hashedSaltedValue;
  const salt = secret.salt ?? cred.salt;
  const algorithm = data.algorithm ?? cred.algorithm ?? 'pbkdf2-sha256';
  const iterations = data.hashIterations ?? cred.hashIterations;
  if (typeof value !== 'string' || typeof salt !== 'string') throw new RowProblem('password credential without a hash value and salt');
  if (!Number.isSafeInteger(iterations) || iterations < 1) throw new RowProblem('password credential without hashIterations');
  if (PBKDF2.has(algorithm)) return `keycloak-${algorithm}$${iterations}$${salt}$${value}`;
  if (algorithm === 'argon2') {
    const p = data.additionalParameters ?? {};
    const num = (k: string, def: number) => {
      const n = Number(first(p[k]) ?? def);
      if (!Number.isSafeInteger(n) || n < 1) throw new RowProblem(`argon2 credential: parameter "${k}" is not a positive integer`);
      return n;
    };
    return keycloakArgon2Phc({
      type: first(p.type) ?? 'id', version: first(p.version) ?? '1.3', memory: num('memory', 7168), iterations, parallelism: num('parallelism', 1),
      salt: Buffer.from(salt, 'base64'), hash: Buffer.from(value, 'base64'),
    });
  }
  throw new RowProblem(`unknown password hash scheme "${String(algorithm).slice(0, 40)}" (Keycloak credential algorithm)`);
}

/** Group paths ("/staff/admins") of the realm's tree; a nested group is named by its path without the leading "/". */
function groupPaths(groups: unknown, into: string[] = []): string[] {
  if (!Array.isArray(groups)) return into;
  for (const g of groups) {
    if (!g || typeof g !== 'object') continue;
    const path = typeof g.path === 'string' ? g.path : `/${g.name}`;
    into.push(path);
    groupPaths(g.subGroups, into);
  }
  return into;
}
const groupName = (path: string) => path.replace(/^\//, '');

export function readKeycloak(file: string): { items: ImportItem[]; realm?: string } {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileProblem(`cannot read ${file}: ${(err as Error).message}`);
  }
  const realm = parseJson(source, 'the realm export');
  if (!realm || typeof realm !== 'object' || Array.isArray(realm) || !Array.isArray((realm as any).users)) {
    throw new FileProblem('a Keycloak realm export is a JSON object with a "users" list (export the realm with its users)');
  }
  const r = realm as { realm?: unknown; users: unknown[]; groups?: unknown };
  const pathLines = linesOfKey(source, 'path');
  const usernameLines = linesOfKey(source, 'username');
  const items: ImportItem[] = groupPaths(r.groups).map((p) => ({ kind: 'group', line: pathLines.get(p) ?? 1, name: groupName(p) }));
  r.users.forEach((u: any, i) => {
    const line = (u && typeof u.username === 'string' && usernameLines.get(u.username)) || 0;
    const at = line || i + 1;
    items.push(...row(at, () => {
      if (!u || typeof u !== 'object') throw new RowProblem(`users[${i}] is not an object`);
      if (typeof u.username !== 'string' || !u.username) throw new RowProblem(`users[${i}]: field "username" is required`);
      if (u.serviceAccountClientId) return []; // a client's service account, not a person
      const creds = Array.isArray(u.credentials) ? u.credentials.filter((c: any) => c && c.type === 'password') : [];
      // The newest password credential is the one Keycloak checks.
      creds.sort((a: any, b: any) => (b.createdDate ?? 0) - (a.createdDate ?? 0));
      const email = text(u.email, 'email');
      const addresses: ImportedAddress[] = email ? [{ email, verified: bool(u.emailVerified, 'emailVerified', false), primary: true }] : [];
      if (u.groups !== undefined && !Array.isArray(u.groups)) throw new RowProblem('field "groups" must be a list of group paths');
      return {
        kind: 'user', line: at, user: {
          username: u.username, email, firstName: text(u.firstName, 'firstName'), lastName: text(u.lastName, 'lastName'),
          passwordHash: creds.length ? keycloakHash(creds[0]) : null, isActive: bool(u.enabled, 'enabled', true), isStaff: false, isSuperuser: false,
          lastLogin: null, createdAt: time(u.createdTimestamp, 'createdTimestamp'), addresses,
          groups: (u.groups ?? []).map((g: unknown) => groupName(String(g))),
        },
      };
    }));
  });
  return { items, realm: typeof r.realm === 'string' ? r.realm : undefined };
}
