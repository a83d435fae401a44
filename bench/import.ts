// `npm run bench:import`: how long `latchkey import` takes for many users (default 100,000),
// into SQLite (a file) and PostgreSQL (BENCH_DATABASE_URL, else TEST_DATABASE_URL, else the
// local server as postgres), through the real CLI process, as an operator would run it.
// Each user has a bcrypt hash, one verified address and one of ten groups. Also timed: the
// re-run (every user updated) and the export of the result. Usage: node bench/import.ts [N]
import { spawnSync } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';

const N = Number(process.argv[2] ?? 100_000);
const ROOT = path.resolve(import.meta.dirname, '..');
const NODE = path.join(ROOT, 'node_modules/.bin/node');
const ADMIN_URL = process.env.BENCH_DATABASE_URL ?? process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-bench-import-'));

// One real bcrypt hash (cost 4) for every row: what is timed is the import, not hashing.
const HASH = '$2b$04$CprwGnz2C7IF2mHqjD.PRuYVPHDrOyEGjhRLK4hS54tT6ub4K.ORq';
const file = path.join(dir, 'users.jsonl');
const out = fs.openSync(file, 'w');
const rows: string[] = [JSON.stringify({ type: 'tenant', name: 'bench', display_name: 'Import benchmark' })];
for (let g = 0; g < 10; g++) rows.push(JSON.stringify({ type: 'group', name: `group-${g}` }));
for (let i = 0; i < N; i++) {
  const name = `user${String(i).padStart(6, '0')}`;
  rows.push(JSON.stringify({
    type: 'user', id: crypto.randomUUID(), username: name, email: `${name}@example.com`, first_name: 'Bench', last_name: `User ${i}`,
    password_hash: HASH, date_joined: new Date(Date.UTC(2024, 0, 1) + i * 1000).toISOString(),
    emails: [{ email: `${name}@example.com`, verified: true, primary: true }], groups: [`group-${i % 10}`],
  }));
  if (rows.length >= 10_000) fs.writeSync(out, rows.splice(0).join('\n') + '\n');
}
fs.writeSync(out, rows.join('\n') + '\n');
fs.closeSync(out);
console.log(`${N.toLocaleString('en-US')} users in ${file} (${(fs.statSync(file).size / 1e6).toFixed(1)} MB)`);

function timed(url: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(NODE, [path.join(ROOT, 'src/cli/main.ts'), ...args], { env: { PATH: process.env.PATH, HOME: process.env.HOME, DATABASE_URL: url, PUBLIC_URL: 'http://bench' }, encoding: 'utf8', maxBuffer: 1 << 30 });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) throw new Error(`latchkey ${args.join(' ')} failed (${r.status}):\n${r.stdout.slice(-2000)}\n${r.stderr.slice(-2000)}`);
  return s;
}

async function pgDatabase(): Promise<{ url: string; drop(): Promise<void> } | undefined> {
  const name = `latchkey_bench_${crypto.randomBytes(4).toString('hex')}`;
  const q = async (sqlText: string) => {
    const c = new pg.Client({ connectionString: ADMIN_URL });
    await c.connect();
    try {
      await c.query(sqlText);
    } finally {
      await c.end();
    }
  };
  try {
    await q(`CREATE DATABASE ${name}`);
  } catch (err) {
    console.log(`PostgreSQL skipped: ${(err as Error).message}`);
    return undefined;
  }
  const u = new URL(ADMIN_URL);
  u.pathname = `/${name}`;
  return { url: u.toString(), drop: () => q(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

const results: Array<{ engine: string; import: number; rerun: number; export: number }> = [];
async function run(engine: string, url: string) {
  timed(url, ['migrate']);
  const first = timed(url, ['import', '--format', 'jsonl', file]);
  const rerun = timed(url, ['import', '--format', 'jsonl', file]);
  const exported = path.join(dir, `export-${engine}.jsonl`);
  const exp = timed(url, ['export', '--tenant', 'bench', exported]);
  // The export proves the import: a header, the tenant, ten groups and every user, once.
  const lines = fs.readFileSync(exported, 'utf8').trimEnd().split('\n');
  const users = lines.filter((l) => l.startsWith('{"type":"user"')).length;
  if (users !== N || lines.length !== N + 12) throw new Error(`${engine}: the export has ${users} users in ${lines.length} lines, expected ${N} in ${N + 12}`);
  results.push({ engine, import: first, rerun, export: exp });
  console.log(`${engine}: import ${first.toFixed(1)} s (${Math.round(N / first).toLocaleString('en-US')} users/s), re-run ${rerun.toFixed(1)} s, export ${exp.toFixed(1)} s`);
}

try {
  await run('sqlite', `sqlite:${path.join(dir, 'latchkey.db')}`);
  const db = await pgDatabase();
  if (db) {
    try {
      await run('postgres', db.url);
    } finally {
      await db.drop();
    }
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(`\n| engine | users | import | users/s | re-run (all updated) | export |\n| --- | --- | --- | --- | --- | --- |`);
for (const r of results) {
  console.log(`| ${r.engine} | ${N.toLocaleString('en-US')} | ${r.import.toFixed(1)} s | ${Math.round(N / r.import).toLocaleString('en-US')} | ${r.rerun.toFixed(1)} s | ${r.export.toFixed(1)} s |`);
}
console.log(`\n${os.cpus().length} vCPU (${os.cpus()[0]?.model ?? 'unknown'}), node ${process.version}; aim: under 60 s each.`);
