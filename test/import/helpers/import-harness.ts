// What the import suites share: the real `latchkey` CLI run as a process over a real database
// (an SQLite file, or a fresh PostgreSQL database), and the whole server over that same
// database afterwards, with a counting hasher, to sign in with the imported passwords.
import { spawn } from 'node:child_process';
import type { InjectOptions, LightMyRequestResponse } from 'fastify';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { openStore, type Store } from '../../../src/store/index.ts';
import { createCore, type Core } from '../../../src/core/index.ts';
import { buildServer } from '../../../src/http/server.ts';
import { requestOrigin } from '../../../src/http/request-origin.ts';
import { countingHasher, PUBLIC_URL, outboxMailerForTests } from '../../helpers/app.ts';
import type { Engine } from '../../helpers/engines.ts';
import { ROOT } from '../../helpers/processes.ts';
import { noteSecret, noteSecretsPassingThrough, testLogger } from '../../helpers/secret-log.ts';

const NODE = path.join(ROOT, 'node_modules/.bin/node');
const MAIN = path.join(ROOT, 'src/cli/main.ts');

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `latchkey <args>` with DATABASE_URL=url and nothing else of this run's environment. */
export function latchkey(url: string, args: string[], extra: Record<string, string> = {}, stdin?: string): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const env = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, PUBLIC_URL: 'http://latchkey.import.test', DATABASE_URL: url, ...extra };
    const child = spawn(NODE, [MAIN, ...args], { cwd: ROOT, env, stdio: [stdin === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    if (stdin !== undefined) child.stdin!.end(stdin);
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (b: Buffer) => (stdout += b));
    child.stderr!.on('data', (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      // Reports name rows, never passwords: the log-leak scan reads them too. Exports are
      // left out: they hold password hashes by design, and a new client's secret is shown once.
      if (process.env.LATCHKEY_TEST_LOG_DIR && args[0] !== 'export') {
        fs.appendFileSync(path.join(process.env.LATCHKEY_TEST_LOG_DIR, `server-import-${process.pid}.log`), stdout.replace(/client_secret \S+/g, 'client_secret ***') + stderr);
      }
      resolve({ code, stdout, stderr });
    });
  });
}

/** A fresh database of the engine that separate processes can share (SQLite: a file). */
export async function freshDatabase(engine: Engine): Promise<{ url: string; drop(): Promise<void> }> {
  if (engine.name === 'postgres') return engine.create();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-import-'));
  return { url: `sqlite:${path.join(dir, 'latchkey.db')}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export interface Served {
  core: Core;
  store: Store;
  counts: { hash: number; verify: number };
  request(o: InjectOptions): Promise<LightMyRequestResponse>;
  /** POST /api/token (v1); the status. */
  v1Login(username: string, password: string, tenant?: string): Promise<number>;
  /** POST /api/auth/login/ (REST-auth); the status. */
  restAuthLogin(username: string, password: string, tenant?: string): Promise<number>;
  storedHash(username: string, tenant?: string): Promise<string | null>;
  close(): Promise<void>;
}

/** The whole server over an existing database. */
export async function serve(url: string): Promise<Served> {
  const store = openStore(url);
  const { hasher, counts } = countingHasher();
  const core = createCore({ store, publicUrl: PUBLIC_URL, hasher, origin: requestOrigin, mailer: outboxMailerForTests() });
  await core.prepare();
  const app = await buildServer({ core, publicUrl: PUBLIC_URL, logger: testLogger() });
  noteSecretsPassingThrough(app);
  const headers = (tenant?: string) => (tenant ? { 'x-tenant': tenant } : {});
  return {
    core, store, counts,
    request: (o) => app.inject(o),
    async v1Login(username, password, tenant) {
      noteSecret(password);
      return (await app.inject({ method: 'POST', url: '/api/token', headers: headers(tenant), payload: { username, password } })).statusCode;
    },
    async restAuthLogin(username, password, tenant) {
      noteSecret(password);
      return (await app.inject({ method: 'POST', url: '/api/auth/login/', headers: headers(tenant), payload: { username, password } })).statusCode;
    },
    async storedHash(username, tenant = 'default') {
      const t = await store.read.tenants.findByName(tenant);
      return (await store.read.users.findByUsername(t!.pk, username))?.passwordHash ?? null;
    },
    async close() {
      await app.close();
      await store.close();
    },
  };
}

export const tmpDir = (prefix: string) => fs.mkdtempSync(path.join(os.tmpdir(), prefix));
