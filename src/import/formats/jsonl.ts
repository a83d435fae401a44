// Latchkey's JSON Lines format (docs/import-export.md): one JSON object per line, told apart by
// "type"; what `latchkey export` writes and `--format jsonl` reads. Other systems' exports
// (Auth0's, a bcrypt column of your own) are turned into it with a few lines of jq.
import fs from 'node:fs';
import readline from 'node:readline';
import type { ExportRecord, ImportItem, ImportedAddress } from '../../core/import/index.ts';
import { FileProblem, RowProblem, bool, object, row, strings, text, time } from './common.ts';

export const JSONL_VERSION = 1;

function addresses(v: unknown): ImportedAddress[] {
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new RowProblem('field "emails" must be a list of {email, verified, primary}');
  return v.map((a, i) => {
    if (!a || typeof a !== 'object' || Array.isArray(a)) throw new RowProblem(`emails[${i}] must be an object {email, verified, primary}`);
    return { email: text(a.email, `emails[${i}].email`), verified: bool(a.verified, `emails[${i}].verified`, false), primary: bool(a.primary, `emails[${i}].primary`, false) };
  });
}

/** One line's object as import records. */
export function fromJsonl(o: Record<string, unknown>, line: number): ImportItem[] {
  return row(line, (): ImportItem | ImportItem[] => {
    const type = o.type ?? 'user';
    switch (type) {
      case 'latchkey-export':
        if (o.version !== JSONL_VERSION) throw new RowProblem(`this file is version ${JSON.stringify(o.version)} of the format; this Latchkey reads version ${JSONL_VERSION}`);
        return [];
      case 'tenant':
        return { kind: 'tenant', line, name: text(o.name, 'name'), displayName: text(o.display_name, 'display_name') };
      case 'setting':
        return { kind: 'setting', line, key: text(o.key, 'key'), value: text(o.value, 'value') };
      case 'group':
        return { kind: 'group', line, name: text(o.name, 'name') };
      case 'client':
        return {
          kind: 'client', line, client: {
            clientId: text(o.client_id, 'client_id'), name: text(o.name, 'name'), confidential: bool(o.confidential, 'confidential', true),
            grantTypes: o.grant_types === undefined ? ['password', 'refresh_token'] : strings(o.grant_types, 'grant_types'),
            redirectUris: strings(o.redirect_uris, 'redirect_uris'), scopes: strings(o.scopes, 'scopes'),
            firstParty: bool(o.first_party, 'first_party', false),
          },
        };
      case 'user': {
        if (typeof o.username !== 'string') throw new RowProblem('field "username" is required (a string)');
        const hash = o.password_hash;
        if (hash !== undefined && hash !== null && typeof hash !== 'string') throw new RowProblem('field "password_hash" must be a string or null');
        if (o.id !== undefined && typeof o.id !== 'string') throw new RowProblem('field "id" must be a UUID string');
        if (o.avatar !== undefined && o.avatar !== null && typeof o.avatar !== 'string') throw new RowProblem('field "avatar" must be a URL string or null');
        return {
          kind: 'user', line, user: {
            id: o.id as string | undefined, username: o.username, email: text(o.email, 'email'),
            firstName: text(o.first_name, 'first_name'), lastName: text(o.last_name, 'last_name'),
            passwordHash: (hash as string | null | undefined) || null,
            isActive: bool(o.is_active, 'is_active', true), isStaff: bool(o.is_staff, 'is_staff', false), isSuperuser: bool(o.is_superuser, 'is_superuser', false),
            lastLogin: time(o.last_login, 'last_login'), createdAt: time(o.date_joined, 'date_joined'),
            passwordChangedAt: time(o.password_changed_at, 'password_changed_at'),
            profile: object(o.profile, 'profile'), emm: object(o.emm, 'emm'), avatar: o.avatar as string | null | undefined,
            addresses: addresses(o.emails), groups: strings(o.groups, 'groups'),
          },
        };
      }
      default:
        throw new RowProblem(`unknown record type ${JSON.stringify(type).slice(0, 60)} (expected user, group, setting, client, tenant)`);
    }
  });
}

/** Reads a JSON Lines file (or "-" for standard input); a line that is not a JSON object is a rejected row. */
export async function readJsonl(file: string): Promise<ImportItem[]> {
  let input: NodeJS.ReadableStream;
  try {
    if (file !== '-') fs.accessSync(file, fs.constants.R_OK);
    input = file === '-' ? process.stdin : fs.createReadStream(file);
  } catch (err) {
    throw new FileProblem(`cannot read ${file}: ${(err as Error).message}`);
  }
  const items: ImportItem[] = [];
  let line = 0;
  for await (const raw of readline.createInterface({ input, crlfDelay: Infinity })) {
    line++;
    const s = raw.trim();
    if (s === '') continue;
    let o: unknown;
    try {
      o = JSON.parse(s);
    } catch (err) {
      items.push({ kind: 'rejected', line, reason: `not valid JSON: ${(err as Error).message.replace(/ in JSON at position \d+.*$/, '')}` });
      continue;
    }
    if (!o || typeof o !== 'object' || Array.isArray(o)) {
      items.push({ kind: 'rejected', line, reason: 'each line must be one JSON object' });
      continue;
    }
    items.push(...fromJsonl(o as Record<string, unknown>, line));
  }
  return items;
}

const iso = (t: number | null | undefined): string | null => (t === null || t === undefined ? null : new Date(t).toISOString());

/** One exported record as a line of the format (no trailing newline). */
export function toJsonl(r: ExportRecord | { kind: 'header'; exportedAt: number }): string {
  switch (r.kind) {
    case 'header':
      return JSON.stringify({ type: 'latchkey-export', version: JSONL_VERSION, exported_at: iso(r.exportedAt) });
    case 'tenant':
      return JSON.stringify({ type: 'tenant', name: r.name, display_name: r.displayName });
    case 'setting':
      return JSON.stringify({ type: 'setting', key: r.key, value: r.value });
    case 'group':
      return JSON.stringify({ type: 'group', name: r.name });
    case 'client': {
      const c = r.client;
      return JSON.stringify({ type: 'client', client_id: c.clientId, name: c.name, confidential: c.confidential, grant_types: c.grantTypes, redirect_uris: c.redirectUris, scopes: c.scopes, first_party: c.firstParty });
    }
    case 'user': {
      const u = r.user;
      return JSON.stringify({
        type: 'user', id: u.id, username: u.username, email: u.email, first_name: u.firstName, last_name: u.lastName,
        password_hash: u.passwordHash, is_active: u.isActive, is_staff: u.isStaff, is_superuser: u.isSuperuser,
        last_login: iso(u.lastLogin), date_joined: iso(u.createdAt), password_changed_at: iso(u.passwordChangedAt),
        profile: u.profile ?? {}, emm: u.emm ?? {}, avatar: u.avatar ?? null, emails: u.addresses, groups: u.groups,
      });
    }
  }
}
