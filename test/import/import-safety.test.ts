// An import must be safe to run on a live tenant and to run again. The threats: a bad row
// half-imported, a re-run that duplicates users, a conflict that silently overwrites someone,
// a failed batch that leaves part of itself behind or leaves the operator not knowing where to
// resume, and an address verified by one user handed to another. Real CLI processes over real
// SQLite and PostgreSQL databases; a real trigger refuses one row to make a batch fail.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { sql } from 'kysely';
import { openStore } from '../../src/store/index.ts';
import { progressReporter } from '../../src/cli/import-progress.ts';
import { engines, type Engine } from '../helpers/engines.ts';
import { freshDatabase, latchkey, tmpDir } from './helpers/import-harness.ts';
import { ROOT } from '../helpers/processes.ts';

const BCRYPT = '$2b$04$CprwGnz2C7IF2mHqjD.PRuYVPHDrOyEGjhRLK4hS54tT6ub4K.ORq';
const user = (n: number, extra: Record<string, unknown> = {}) =>
  ({ type: 'user', username: `user${String(n).padStart(2, '0')}`, email: `user${n}@example.com`, password_hash: BCRYPT, emails: [{ email: `user${n}@example.com`, verified: true, primary: true }], groups: ['members'], ...extra });

function file(dir: string, name: string, lines: unknown[]): string {
  const f = path.join(dir, name);
  fs.writeFileSync(f, lines.map((l) => (typeof l === 'string' ? l : JSON.stringify(l))).join('\n') + '\n');
  return f;
}

async function counts(url: string): Promise<{ users: number; addresses: number; members: number; names: string[] }> {
  const store = openStore(url);
  try {
    const n = async (t: 'users' | 'email_addresses' | 'group_members') => Number((await store.db.selectFrom(t).select((eb) => eb.fn.countAll<number>().as('n')).executeTakeFirstOrThrow()).n);
    const names = (await store.db.selectFrom('users').select(['username', 'first_name']).orderBy('username').execute()).map((r) => `${r.username}:${r.first_name}`);
    return { users: await n('users'), addresses: await n('email_addresses'), members: await n('group_members'), names };
  } finally {
    await store.close();
  }
}

/** The audit rows of imports, oldest first (their details). */
async function importRows(url: string): Promise<Array<Record<string, unknown>>> {
  const store = openStore(url);
  try {
    const rows = await store.db.selectFrom('audit_events').select(['detail']).where('type', '=', 'users.imported').orderBy('pk').execute();
    return rows.map((r) => JSON.parse(r.detail) as Record<string, unknown>);
  } finally {
    await store.close();
  }
}

async function withDb(engine: Engine, fn: (url: string, dir: string) => Promise<void>) {
  const db = await freshDatabase(engine);
  const dir = tmpDir('latchkey-import-safety-');
  try {
    await fn(db.url, dir);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
    await db.drop();
  }
}

for (const { engine, skip } of engines) {
  describe(`import safety (${engine.name})`, { skip, concurrency: true }, () => {
    it('--dry-run reports what would happen and writes nothing', () => withDb(engine, async (url, dir) => {
      const f = file(dir, 'a.jsonl', [user(1), user(2)]);
      const r = await latchkey(url, ['import', '--dry-run', '--format', 'jsonl', f]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /users: +2 created/);
      assert.match(r.stdout, /hash schemes: bcrypt 2/);
      assert.match(r.stdout, /Dry run: nothing was written/);
      assert.equal((await counts(url)).users, 0);
      assert.equal((await importRows(url)).length, 0, 'a dry run records no import');
    }));

    it('an import is one row of the audit log, with what it did', () => withDb(engine, async (url, dir) => {
      const f = file(dir, 'a.jsonl', [user(1), user(2)]);
      assert.equal((await latchkey(url, ['import', '--format', 'jsonl', f])).code, 0);
      assert.equal((await latchkey(url, ['import', '--format', 'jsonl', f])).code, 0);
      const rows = await importRows(url);
      assert.deepEqual(rows.map((d) => [d.format, d.created, d.updated]), [['jsonl', 2, 0], ['jsonl', 0, 2]]);
    }));

    it('a re-run updates and never duplicates: the same users, addresses and memberships', () => withDb(engine, async (url, dir) => {
      const f = file(dir, 'a.jsonl', [user(1), user(2), user(3)]);
      assert.equal((await latchkey(url, ['import', '--format', 'jsonl', f])).code, 0);
      const once = await counts(url);
      const again = await latchkey(url, ['import', '--format', 'jsonl', f]);
      assert.equal(again.code, 0, again.stdout);
      assert.match(again.stdout, /users: +0 created, 3 updated, 0 skipped/);
      assert.match(again.stdout, /groups: +0 created, 1 already there/);
      assert.deepEqual(await counts(url), once);
      assert.deepEqual(once, { users: 3, addresses: 3, members: 3, names: ['user01:', 'user02:', 'user03:'] });
    }));

    it('--on-conflict: skip leaves existing users as they are, update overwrites them, fail rejects them and writes nothing', () => withDb(engine, async (url, dir) => {
      assert.equal((await latchkey(url, ['import', '--format', 'jsonl', file(dir, 'a.jsonl', [user(1), user(2)])])).code, 0);
      const changed = file(dir, 'b.jsonl', [user(1, { first_name: 'Changed' }), user(2, { first_name: 'Changed' }), user(3)]);
      const skip = await latchkey(url, ['import', '--on-conflict', 'skip', '--format', 'jsonl', changed]);
      assert.equal(skip.code, 0);
      assert.match(skip.stdout, /users: +1 created, 0 updated, 2 skipped/);
      assert.deepEqual((await counts(url)).names, ['user01:', 'user02:', 'user03:']);
      const fail = await latchkey(url, ['import', '--on-conflict', 'fail', '--format', 'jsonl', file(dir, 'c.jsonl', [user(4), user(1, { first_name: 'Changed' })])]);
      assert.equal(fail.code, 1);
      assert.match(fail.stdout, /line 2: user "user01": the tenant has a user of that name \(--on-conflict fail\)/);
      assert.match(fail.stdout, /Nothing was written/);
      assert.equal((await counts(url)).users, 3, 'user04 was not written either');
      const update = await latchkey(url, ['import', '--on-conflict', 'update', '--format', 'jsonl', changed]);
      assert.equal(update.code, 0);
      assert.match(update.stdout, /users: +0 created, 3 updated/);
      assert.deepEqual((await counts(url)).names, ['user01:Changed', 'user02:Changed', 'user03:']);
    }));

    it('an address another user has verified is never handed to a new user: rejected (update, fail) or skipped (skip)', () => withDb(engine, async (url, dir) => {
      assert.equal((await latchkey(url, ['import', '--format', 'jsonl', file(dir, 'a.jsonl', [user(1)])])).code, 0);
      const taker = file(dir, 'b.jsonl', [user(9, { email: 'USER1@example.com', emails: [{ email: 'USER1@example.com', verified: true, primary: true }] })]);
      const r = await latchkey(url, ['import', '--format', 'jsonl', taker]);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /line 1: user "user09": address "USER1@example.com" is already verified by the tenant's user "user01"/);
      const s = await latchkey(url, ['import', '--on-conflict', 'skip', '--format', 'jsonl', taker]);
      assert.equal(s.code, 0);
      assert.match(s.stdout, /users: +0 created, 0 updated, 1 skipped/);
      assert.equal((await counts(url)).users, 1);
    }));

    it('bad rows (wrong types, duplicate usernames, unknown and malformed hash schemes, broken lines) are named with their line and reason, and nothing is written', () => withDb(engine, async (url, dir) => {
      const f = file(dir, 'bad.jsonl', [
        user(1),
        user(2, { is_active: 'maybe' }),
        user(1),
        user(4, { password_hash: 'md5$abc$0123456789abcdef0123456789abcdef' }),
        user(5, { password_hash: 'pbkdf2_sha256$many$salt$key' }),
        '{"type": "user", "username": "trunc',
        user(7, { groups: 'admins' }),
        user(8, { email: 'not-an-address', emails: [] }),
        { type: 'setting', key: 'no_such_setting', value: '1' },
        user(10, { emails: [{ email: 'shared@example.com', verified: true, primary: true }] }),
        user(11, { emails: [{ email: 'Shared@example.com', verified: true, primary: true }] }),
      ]);
      const r = await latchkey(url, ['import', '--format', 'jsonl', f]);
      assert.equal(r.code, 1, r.stdout);
      for (const expected of [
        /line 2: field "is_active" must be true or false, not "maybe"/,
        /line 3: user "user01": duplicate username \(first on line 1\)/,
        /line 4: user "user04": password hash: unknown password hash scheme "md5"/,
        /line 5: user "user05": password hash: malformed Django pbkdf2_sha256 hash/,
        /line 6: not valid JSON/,
        /line 7: field "groups" must be a list of strings/,
        /line 8: user "user08": email "not-an-address": Enter a valid email address/,
        /line 9: setting "no_such_setting": no such setting/,
        /line 11: user "user11": verified address "Shared@example.com" is also verified by "user10" \(line 10\)/,
      ]) assert.match(r.stdout, expected);
      assert.match(r.stdout, /rejected: +9 rows/);
      assert.match(r.stdout, /Nothing was written/);
      assert.equal((await counts(url)).users, 0);
    }));

    it('a CSV row with a wrong column type is rejected with its CSV line; JSON Lines on standard input ("-") are read like a file', () => withDb(engine, async (url, dir) => {
      const csv = path.join(dir, 'users.csv');
      fs.writeFileSync(csv, `username,password,email,is_active\nann,${BCRYPT},ann@example.com,True\nben,${BCRYPT},ben@example.com,perhaps\n`);
      const r = await latchkey(url, ['import', '--format', 'django', csv]);
      assert.equal(r.code, 1, r.stdout + r.stderr);
      assert.match(r.stdout, /line 3: field "is_active" must be true or false, not "perhaps"/);
      assert.equal((await counts(url)).users, 0);
      const piped = await latchkey(url, ['import', '--format', 'jsonl', '-'], {}, [user(1), user(2)].map((l) => JSON.stringify(l)).join('\n'));
      assert.equal(piped.code, 0, piped.stdout + piped.stderr);
      assert.match(piped.stdout, /users: +2 created/);
      assert.equal((await counts(url)).users, 2);
    }));

    it('a truncated Django dumpdata file is refused with its line, and nothing is imported', () => withDb(engine, async (url, dir) => {
      assert.equal((await latchkey(url, ['migrate'])).code, 0);
      const f = path.join(dir, 'dump.json');
      fs.writeFileSync(f, '[\n{\n  "model": "auth.user",\n  "pk": 1,\n  "fields": {\n    "username": "alice",\n    "password": "pbkdf2_sha256$26');
      const r = await latchkey(url, ['import', '--format', 'django', f]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, /the dumpdata file is not valid JSON \(line 7\)/);
      assert.match(r.stderr, /Nothing was imported/);
      assert.equal((await counts(url)).users, 0);
    }));

    it('a batch that fails leaves none of itself behind, the report says from which line nothing is in, and re-running the same command resumes', () => withDb(engine, async (url, dir) => {
      assert.equal((await latchkey(url, ['migrate'])).code, 0);
      const store = openStore(url);
      try {
        if (engine.name === 'sqlite') {
          await sql`CREATE TRIGGER refuse_user07 BEFORE INSERT ON users WHEN NEW.username = 'user07' BEGIN SELECT RAISE(ABORT, 'refused by the test trigger'); END`.execute(store.db);
        } else {
          await sql`CREATE FUNCTION refuse_user07() RETURNS trigger AS $$ BEGIN IF NEW.username = 'user07' THEN RAISE EXCEPTION 'refused by the test trigger'; END IF; RETURN NEW; END $$ LANGUAGE plpgsql`.execute(store.db);
          await sql`CREATE TRIGGER refuse_user07 BEFORE INSERT ON users FOR EACH ROW EXECUTE FUNCTION refuse_user07()`.execute(store.db);
        }
      } finally {
        await store.close();
      }
      const f = file(dir, 'ten.jsonl', Array.from({ length: 10 }, (_, i) => user(i + 1)));
      const r = await latchkey(url, ['import', '--format', 'jsonl', f], { LATCHKEY_IMPORT_BATCH_SIZE: '3' });
      assert.equal(r.code, 1, r.stdout);
      assert.match(r.stdout, /FAILED: +the batch of lines 7-9 was not written: .*refused by the test trigger/);
      assert.match(r.stdout, /Everything before line 7 is imported \(6 users of the counts above\), nothing from it on/);
      const partial = await counts(url);
      assert.deepEqual(partial.names, ['user01:', 'user02:', 'user03:', 'user04:', 'user05:', 'user06:'], 'no half batch: user08 and user09 are not in');
      assert.equal(partial.addresses, 6);
      assert.equal(partial.members, 6);

      const drop = openStore(url);
      try {
        await sql`DROP TRIGGER refuse_user07${sql.raw(engine.name === 'postgres' ? ' ON users' : '')}`.execute(drop.db);
      } finally {
        await drop.close();
      }
      const again = await latchkey(url, ['import', '--format', 'jsonl', f], { LATCHKEY_IMPORT_BATCH_SIZE: '3' });
      assert.equal(again.code, 0, again.stdout);
      assert.match(again.stdout, /users: +4 created, 6 updated, 0 skipped/);
      assert.equal((await counts(url)).users, 10);
    }));
  });
}

describe('import: usage errors and progress', { concurrency: true }, () => {
  const url = 'sqlite::memory:';
  for (const [args, message] of [
    [['import', 'x.jsonl'], /--format is required/],
    [['import', '--format', 'csv', 'x.csv'], /unknown format "csv"/],
    [['import', '--format', 'jsonl', '--on-conflict', 'merge', 'x.jsonl'], /--on-conflict takes skip, update or fail/],
    [['import', '--format', 'jsonl'], /FILE is required/],
    [['import', '--format', 'jsonl', 'a', 'b'], /give one FILE/],
    [['import', '--format', 'jsonl', '--batch', '5', 'a'], /Unknown option '--batch'/],
    [['export', 'a', 'b'], /give at most one FILE/],
  ] as const) {
    it(`latchkey ${args.join(' ')}: exit 2 with the usage`, async () => {
      const r = await latchkey(url, [...args]);
      assert.equal(r.code, 2, r.stderr);
      assert.match(r.stderr, message);
      assert.match(r.stderr, new RegExp(`Usage: latchkey ${args[0]} `));
    });
  }

  it('--help of import and export print the contract\'s command lines', async () => {
    const i = await latchkey(url, ['import', '--help']);
    assert.equal(i.code, 0);
    assert.match(i.stdout, /^Usage: latchkey import \[--tenant NAME\] --format django\|keycloak\|better-auth\|jsonl \[--dry-run\]\s+\[--on-conflict skip\|update\|fail\] FILE/);
    const e = await latchkey(url, ['export', '--help']);
    assert.match(e.stdout, /^Usage: latchkey export \[--tenant NAME\] \[FILE\]/);
  });

  it('on a real terminal (a pseudo-terminal made by script(1)) the import draws its bar, with rate and the time it took', async () => {
    const dir = tmpDir('latchkey-import-tty-');
    try {
      const f = file(dir, 'three.jsonl', [user(1), user(2), user(3)]);
      const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, PUBLIC_URL: 'http://latchkey.import.test', DATABASE_URL: `sqlite:${path.join(dir, 'db.sqlite')}` };
      const command = [path.join(ROOT, 'node_modules/.bin/node'), path.join(ROOT, 'src/cli/main.ts'), 'import', '--format', 'jsonl', f].map((a) => `'${a}'`).join(' ');
      const r = spawnSync('script', ['-qec', command, '/dev/null'], { env, encoding: 'utf8', timeout: 60_000 });
      assert.equal(r.status, 0, r.stdout + r.stderr);
      assert.match(r.stdout, /\r\[\.{30}\] 0\/3 users/);
      assert.match(r.stdout, /\r\[#{30}\] 3\/3 users {2}[\d,]+\/s {2}done in \d+\.\d s/);
      assert.match(r.stdout, /users: +3 created/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  it('progress: plain lines with rate when standard error is not a terminal; a bar with rate and ETA on a terminal', () => {
    let clock = 0;
    const plain: string[] = [];
    const p = progressReporter({ isTTY: false, write: (s: string) => plain.push(s) } as never, () => clock);
    p(0, 3000);
    clock = 1500;
    p(1000, 3000);
    clock = 1600;
    p(2000, 3000); // within a second of the last line: not printed
    clock = 3000;
    p(3000, 3000);
    assert.deepEqual(plain, ['import: 1,000/3,000 users  667/s  ETA 3 s\n', 'import: 3,000/3,000 users  1,000/s  done in 3.0 s\n']);
    const tty: string[] = [];
    clock = 0;
    const t = progressReporter({ isTTY: true, write: (s: string) => tty.push(s) } as never, () => clock);
    clock = 2000;
    t(1000, 4000);
    assert.match(tty[0], /^\r\[#{8}\.{22}\] 1,000\/4,000 users {2}500\/s {2}ETA 6 s/);
  });
});
