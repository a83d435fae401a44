// Django: `manage.py dumpdata auth.user auth.group account.emailaddress` (JSON; users' groups by
// pk or by natural key), or a CSV with auth_user's columns (and optional "groups", names
// separated by ";" or ",", and "email_verified"). Django marks a user without a usable password
// with a hash starting "!": imported as no password.
import fs from 'node:fs';
import { parse as parseCsv } from 'csv-parse/sync';
import type { ImportItem, ImportedAddress } from '../../core/import/index.ts';
import { FileProblem, RowProblem, arrayElementLines, bool, parseJson, row, text, time } from './common.ts';

const passwordOf = (v: unknown): string | null => {
  const p = text(v, 'password');
  return p === '' || p.startsWith('!') ? null : p;
};

interface DumpRecord {
  model?: unknown;
  pk?: unknown;
  fields?: Record<string, unknown>;
}

export function readDjangoJson(source: string): ImportItem[] {
  const data = parseJson(source, 'the dumpdata file');
  if (!Array.isArray(data)) throw new FileProblem('a dumpdata file is a JSON list of {"model", "pk", "fields"} objects');
  const lines = arrayElementLines(source);
  const items: ImportItem[] = [];
  const groupName = new Map<string, string>();
  const addresses = new Map<string, Array<ImportedAddress & { line: number }>>();
  // Groups and addresses first: users refer to them by pk.
  data.forEach((r: DumpRecord, i) => {
    const line = lines[i] ?? i + 1;
    if (!r || typeof r !== 'object' || typeof r.model !== 'string' || !r.fields || typeof r.fields !== 'object') {
      items.push({ kind: 'rejected', line, reason: 'not a dumpdata record {"model", "pk", "fields"}' });
      return;
    }
    const f = r.fields;
    if (r.model === 'auth.group') {
      items.push(...row(line, () => {
        const name = text(f.name, 'name');
        groupName.set(String(r.pk), name);
        return { kind: 'group', line, name };
      }));
    } else if (r.model === 'account.emailaddress') {
      items.push(...row(line, () => {
        const a = { email: text(f.email, 'email'), verified: bool(f.verified, 'verified', false), primary: bool(f.primary, 'primary', false), line };
        const owner = Array.isArray(f.user) ? String(f.user[0]) : String(f.user);
        if (f.user === undefined || f.user === null) throw new RowProblem('field "user" is required');
        addresses.set(owner, [...(addresses.get(owner) ?? []), a]);
        return [];
      }));
    }
  });
  const seenOwners = new Set<string>();
  data.forEach((r: DumpRecord, i) => {
    if (!r || typeof r !== 'object' || r.model !== 'auth.user' || !r.fields) return;
    const line = lines[i] ?? i + 1;
    const f = r.fields;
    items.push(...row(line, () => {
      const groups = (Array.isArray(f.groups) ? f.groups : f.groups === undefined ? [] : null);
      if (groups === null) throw new RowProblem('field "groups" must be a list');
      const names = groups.map((g: unknown) => {
        if (Array.isArray(g) && typeof g[0] === 'string') return g[0]; // natural key
        const name = groupName.get(String(g));
        if (name === undefined) throw new RowProblem(`group ${JSON.stringify(g)} is not in the file`);
        return name;
      });
      const username = text(f.username, 'username');
      if (!username) throw new RowProblem('field "username" is required');
      const key = String(r.pk);
      const natural = addresses.get(username);
      seenOwners.add(key).add(username);
      const own = [...(addresses.get(key) ?? []), ...(natural ?? [])];
      return {
        kind: 'user', line, user: {
          username, email: text(f.email, 'email'), firstName: text(f.first_name, 'first_name'), lastName: text(f.last_name, 'last_name'),
          passwordHash: passwordOf(f.password), isActive: bool(f.is_active, 'is_active', true), isStaff: bool(f.is_staff, 'is_staff', false),
          isSuperuser: bool(f.is_superuser, 'is_superuser', false), lastLogin: time(f.last_login, 'last_login'), createdAt: time(f.date_joined, 'date_joined'),
          addresses: own.map(({ email, verified, primary }) => ({ email, verified, primary })), groups: names,
        },
      };
    }));
  });
  for (const [owner, list] of addresses) {
    if (!seenOwners.has(owner)) for (const a of list) items.push({ kind: 'rejected', line: a.line, reason: `e-mail address "${a.email}": its user ${owner} is not in the file` });
  }
  return items;
}

const CSV_REQUIRED = ['username', 'password'];

export function readDjangoCsv(source: string): ImportItem[] {
  let records: Array<{ record: Record<string, string>; info: { lines: number } }>;
  try {
    records = parseCsv(source, { columns: true, info: true, skip_empty_lines: true, trim: false, bom: true });
  } catch (err) {
    throw new FileProblem(`the CSV file cannot be read: ${(err as Error).message}`);
  }
  if (records.length && CSV_REQUIRED.some((c) => !(c in records[0].record))) {
    throw new FileProblem(`the CSV file needs the columns ${CSV_REQUIRED.join(', ')} (auth_user's names); it has ${Object.keys(records[0].record).join(', ')}`);
  }
  const items: ImportItem[] = [];
  for (const { record: c, info } of records) {
    const line = info.lines;
    items.push(...row(line, () => {
      const email = c.email ?? '';
      const verified = bool(c.email_verified, 'email_verified', false);
      const groups = (c.groups ?? '').split(/[;,]/).map((g) => g.trim()).filter(Boolean);
      return {
        kind: 'user', line, user: {
          username: c.username, email, firstName: c.first_name ?? '', lastName: c.last_name ?? '', passwordHash: passwordOf(c.password),
          isActive: bool(c.is_active, 'is_active', true), isStaff: bool(c.is_staff, 'is_staff', false), isSuperuser: bool(c.is_superuser, 'is_superuser', false),
          lastLogin: time(c.last_login, 'last_login'), createdAt: time(c.date_joined, 'date_joined'),
          addresses: email ? [{ email, verified, primary: true }] : [], groups,
        },
      };
    }));
  }
  return items;
}

export function readDjango(file: string): ImportItem[] {
  let source: string;
  try {
    source = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new FileProblem(`cannot read ${file}: ${(err as Error).message}`);
  }
  if (source.trim() === '') throw new FileProblem(`${file} is empty`);
  return /\.csv$/i.test(file) || !/^\s*[[{]/.test(source) ? readDjangoCsv(source) : readDjangoJson(source);
}
