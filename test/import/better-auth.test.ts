// Moving in from better-auth: a real better-auth database made by better-auth's own code (npm,
// pinned): its migrations, and users signed up through its API, so the password hashes are its
// scrypt "<salt>:<key>" from its own hashPassword. SQLite (a file) and PostgreSQL (a URL, with
// the username and admin plugins). `latchkey import --format better-auth` reads it; every user
// then signs in to Latchkey with the same password, and the hash becomes argon2id.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { betterAuth } from 'better-auth';
import { admin, username } from 'better-auth/plugins';
import { getMigrations } from 'better-auth/db/migration';
import { engines, PG_URL } from '../helpers/engines.ts';
import { freshPgDatabase } from '../helpers/processes.ts';
import { noteSecret } from '../helpers/secret-log.ts';
import { freshDatabase, latchkey, serve, tmpDir } from './helpers/import-harness.ts';

const PEOPLE = [
  { email: 'ada@example.com', name: 'Ada King Lovelace', password: 'ada-analytical-engine', username: 'ada' },
  { email: 'grace@example.com', name: 'Grace Hopper', password: 'gräce-cöbol-nanosecond', username: 'grace_h' },
  { email: 'linus@example.com', name: 'Linus', password: 'linus-just-for-fun-91', username: 'linus' },
];

async function makeBetterAuth(database: unknown, plugins: boolean) {
  const auth = betterAuth({
    database: database as never, emailAndPassword: { enabled: true }, secret: 'test-only-secret-0123456789abcdef0123456789',
    baseURL: 'http://127.0.0.1:1', telemetry: { enabled: false }, rateLimit: { enabled: false }, logger: { disabled: true },
    plugins: plugins ? [username(), admin()] : [],
  });
  await (await getMigrations(auth.options)).runMigrations();
  for (const p of PEOPLE) {
    await auth.api.signUpEmail({ body: { email: p.email, password: p.password, name: p.name, ...(plugins ? { username: p.username } : {}) } as never });
  }
  return auth;
}

describe('import from a real better-auth database', () => {
  let dir = '';
  let sqliteFile = '';
  let pgSource: { url: string; drop(): Promise<void> } | undefined;
  before(async () => {
    for (const p of PEOPLE) noteSecret(p.password);
    dir = tmpDir('latchkey-better-auth-');
    sqliteFile = path.join(dir, 'better-auth.sqlite');
    const sqlite = new Database(sqliteFile);
    await makeBetterAuth(sqlite, false);
    sqlite.prepare('UPDATE "user" SET "emailVerified" = 1 WHERE email = ?').run(PEOPLE[0].email);
    sqlite.close();
    if (PG_URL) {
      pgSource = await freshPgDatabase(PG_URL);
      const pool = new pg.Pool({ connectionString: pgSource.url });
      await makeBetterAuth(pool, true);
      await pool.query(`UPDATE "user" SET role = 'admin' WHERE email = $1`, [PEOPLE[1].email]);
      await pool.end();
    }
  });
  after(async () => {
    fs.rmSync(dir, { recursive: true, force: true });
    await pgSource?.drop();
  });

  for (const { engine, skip } of engines) {
    it(`${engine.name}: a better-auth SQLite file: users (by e-mail), names and verified addresses come in, each signs in with the same password, then holds argon2id`, { skip }, async () => {
      const db = await freshDatabase(engine);
      try {
        const r = await latchkey(db.url, ['import', '--format', 'better-auth', sqliteFile]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        assert.match(r.stdout, /users: +3 created/);
        assert.match(r.stdout, /better-auth scrypt 3/);
        const app = await serve(db.url);
        try {
          const t = (await app.store.read.tenants.findByName('default'))!;
          const ada = (await app.store.read.users.findByUsername(t.pk, 'ada@example.com'))!;
          assert.deepEqual([ada.firstName, ada.lastName, ada.emailVerified], ['Ada King', 'Lovelace', true]);
          for (const p of PEOPLE) {
            assert.match((await app.storedHash(p.email))!, /^[0-9a-f]{32}:[0-9a-f]{128}$/);
            const verifies = app.counts.verify;
            assert.equal(await app.v1Login(p.email, p.password), 200, p.email);
            assert.equal(app.counts.verify - verifies, 1);
            assert.match((await app.storedHash(p.email))!, /^\$argon2id\$/);
            assert.equal(await app.restAuthLogin(p.email, p.password), 200);
          }
        } finally {
          await app.close();
        }
      } finally {
        await db.drop();
      }
    });

    it(`${engine.name}: a better-auth PostgreSQL database by URL, with the username and admin plugins: usernames and the admin role come in, each signs in`, { skip: skip || (PG_URL ? false : 'TEST_DATABASE_URL is not set') }, async () => {
      const db = await freshDatabase(engine);
      try {
        const r = await latchkey(db.url, ['import', '--tenant', 'from-ba', '--format', 'better-auth', pgSource!.url]);
        assert.equal(r.code, 0, r.stdout + r.stderr);
        const app = await serve(db.url);
        try {
          const t = (await app.store.read.tenants.findByName('from-ba'))!;
          const grace = (await app.store.read.users.findByUsername(t.pk, 'grace_h'))!;
          assert.equal(grace.isStaff, true, 'the admin role makes staff');
          for (const p of PEOPLE) assert.equal(await app.restAuthLogin(p.username, p.password, 'from-ba'), 200, p.username);
        } finally {
          await app.close();
        }
      } finally {
        await db.drop();
      }
    });
  }
});
