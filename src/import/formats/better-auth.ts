// better-auth: its own database, SQLite (a file) or PostgreSQL (a URL), with the default table
// and column names: "user" (id, name, email, emailVerified, image, createdAt; the username
// plugin's username; the admin plugin's role and banned) and "account" (the "credential"
// provider's row holds the scrypt hash "<salt>:<key>").
import fs from 'node:fs';
import SQLite from 'better-sqlite3';
import { loadPg } from '../../optional-modules.ts';
import type { ImportItem } from '../../core/import/index.ts';
import { FileProblem, RowProblem, bool, row, splitName, text, time } from './common.ts';

interface Row {
  [column: string]: unknown;
}

// SQLite keeps better-auth's dates as ISO text or numbers; a number this small is in seconds.
const when = (v: unknown, field: string): number | null => {
  if (typeof v === 'number' && v > 0 && v < 1e11) return Math.round(v * 1000);
  return time(v, field);
};

async function load(source: string): Promise<{ users: Row[]; credentials: Row[] }> {
  const USERS = 'SELECT * FROM "user" ORDER BY "createdAt", id';
  const CREDENTIALS = `SELECT "userId", password FROM account WHERE "providerId" = 'credential'`;
  if (/^postgres(ql)?:\/\//.test(source)) {
    const pg = loadPg();
    const client = new pg.Client({ connectionString: source });
    try {
      await client.connect();
      return { users: (await client.query(USERS)).rows, credentials: (await client.query(CREDENTIALS)).rows };
    } catch (err) {
      throw new FileProblem(`cannot read the better-auth database: ${(err as Error).message}`);
    } finally {
      await client.end().catch(() => {});
    }
  }
  const file = source.replace(/^sqlite:/, '');
  if (!fs.existsSync(file)) throw new FileProblem(`cannot read ${file}: no such file`);
  let db: SQLite.Database | undefined;
  try {
    db = new SQLite(file, { readonly: true, fileMustExist: true });
    return { users: db.prepare(USERS).all() as Row[], credentials: db.prepare(CREDENTIALS).all() as Row[] };
  } catch (err) {
    throw new FileProblem(`cannot read the better-auth database ${file}: ${(err as Error).message}`);
  } finally {
    db?.close();
  }
}

/** Rows are numbered from 1 in the "user" table's order (createdAt, id). */
export async function readBetterAuth(source: string): Promise<ImportItem[]> {
  const { users, credentials } = await load(source);
  const hashOf = new Map<string, string>();
  for (const c of credentials) if (typeof c.password === 'string' && c.password) hashOf.set(String(c.userId), c.password);
  return users.flatMap((u, i) => row(i + 1, () => {
    const email = text(u.email, 'email');
    const username = typeof u.username === 'string' && u.username ? u.username : email;
    if (!username) throw new RowProblem(`user ${String(u.id).slice(0, 60)}: neither username nor email`);
    const [firstName, lastName] = splitName(text(u.name, 'name'));
    const image = typeof u.image === 'string' && /^https?:\/\//.test(u.image) ? u.image : null;
    const roles = typeof u.role === 'string' ? u.role.split(',').map((s) => s.trim()) : [];
    return {
      kind: 'user', line: i + 1, user: {
        username, email, firstName, lastName, passwordHash: hashOf.get(String(u.id)) ?? null,
        isActive: !bool(u.banned, 'banned', false), isStaff: roles.includes('admin'), isSuperuser: false,
        lastLogin: null, createdAt: when(u.createdAt, 'createdAt'), avatar: image,
        addresses: email ? [{ email, verified: bool(u.emailVerified, 'emailVerified', false), primary: true }] : [], groups: [],
      },
    };
  }));
}
