// Real processes for the fault and cluster suites (and the soak): Latchkey servers started as
// `latchkey serve` children, a private PostgreSQL cluster, a private redis-server, and a plain
// HTTP client with a time limit. Every child runs in its own process group, so a test can
// SIGKILL it with everything it started; whatever a test leaves running is killed at exit.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { noteSecret, noteSecretsIn } from './secret-log.ts';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = path.join(ROOT, 'src/cli/main.ts');
const LOG_DIR = process.env.LATCHKEY_TEST_LOG_DIR;

/** CI must run every suite: a missing engine there is a failure, not a skip. */
export const IN_CI = process.env.CI === 'true' || process.env.CI === '1';
export const TEST_PG_URL = process.env.TEST_DATABASE_URL;
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL;

const live = new Set<ChildProcess>();
const cleanups = new Set<() => void>();
process.on('exit', () => {
  for (const c of live) killGroup(c, 'SIGKILL');
  for (const f of cleanups) {
    try {
      f();
    } catch {
      // best effort at exit
    }
  }
});

function killGroup(c: ChildProcess, signal: NodeJS.Signals): void {
  if (c.pid === undefined) return;
  try {
    process.kill(-c.pid, signal);
  } catch {
    try {
      c.kill(signal);
    } catch {
      // already gone
    }
  }
}

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/** A TCP port nobody listens on right now (loopback). */
export async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((resolve, reject) => srv.once('error', reject).listen(0, '127.0.0.1', resolve));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Whether something accepts TCP connections on 127.0.0.1:port. */
export function canConnect(port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('connect', () => done(true));
    s.once('error', () => done(false));
  });
}

/** What a command run to its end said. */
export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs `node <script> <args>` to its end (killed after 60 s) with exactly `env`, `stdin` written
 * to it (else closed). Its output goes through the run's log-leak scan too (no secret echoed).
 */
export function runToEnd(script: string, args: string[], env: NodeJS.ProcessEnv, stdin = ''): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(path.join(ROOT, 'node_modules/.bin/node'), [script, ...args], { cwd: ROOT, env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (b: Buffer) => (stdout += b));
    child.stderr.on('data', (b: Buffer) => (stderr += b));
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      if (process.env.LATCHKEY_TEST_LOG_DIR) fs.appendFileSync(path.join(process.env.LATCHKEY_TEST_LOG_DIR, `server-cli-${process.pid}.log`), stdout + stderr);
      resolve({ code, stdout, stderr });
    });
    child.stdin.end(stdin);
  });
}

export interface Proc {
  child: ChildProcess;
  pid: number;
  /** Everything written to stdout and stderr so far. */
  output(): string;
  /** Settles when the process has exited. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  running(): boolean;
  /** Signals the whole process group (default SIGKILL) and waits, at most `waitMs`, for the exit. */
  kill(signal?: NodeJS.Signals, waitMs?: number): Promise<void>;
}

export function spawnTracked(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; logName?: string } = {}): Proc {
  const child = spawn(cmd, args, { cwd: opts.cwd ?? ROOT, env: opts.env ?? process.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  live.add(child);
  let out = '';
  const log = LOG_DIR && opts.logName ? fs.createWriteStream(path.join(LOG_DIR, `${opts.logName}-${child.pid}.log`), { flags: 'a' }) : undefined;
  const take = (b: Buffer) => {
    out += b.toString('utf8');
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
    log?.write(b);
  };
  child.stdout!.on('data', take);
  child.stderr!.on('data', take);
  let running = true;
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.once('exit', (code, signal) => {
      running = false;
      live.delete(child);
      // Let the pipes drain before the caller reads output().
      setTimeout(() => {
        log?.end();
        resolve({ code, signal });
      }, 50);
    });
  });
  return {
    child,
    pid: child.pid,
    output: () => out,
    exited,
    running: () => running,
    async kill(signal = 'SIGKILL', waitMs = 10_000) {
      if (!running) return;
      killGroup(child, signal);
      const t = setTimeout(() => killGroup(child, 'SIGKILL'), waitMs);
      await exited;
      clearTimeout(t);
    },
  };
}

// --- HTTP -------------------------------------------------------------------------------------

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  body: any;
  /** Wall time from sending to the end of the answer. */
  ms: number;
}

export interface RequestOptions {
  json?: unknown;
  /** Sent form-encoded (application/x-www-form-urlencoded). */
  form?: Record<string, string>;
  bearer?: string;
  headers?: Record<string, string>;
  /** Gives up (rejects) after this long; default 15 s. */
  timeoutMs?: number;
  agent?: http.Agent | false;
}

/** One HTTP request to `base` (http://127.0.0.1:port). Rejects on a network error or the time limit. */
export function request(base: string, method: string, urlPath: string, o: RequestOptions = {}): Promise<Reply> {
  const headers: Record<string, string> = { ...(o.headers ?? {}) };
  let body: string | undefined;
  if (o.json !== undefined) {
    body = JSON.stringify(o.json);
    headers['content-type'] = 'application/json';
    noteSecretsIn(body);
  } else if (o.form !== undefined) {
    body = new URLSearchParams(o.form).toString();
    headers['content-type'] = 'application/x-www-form-urlencoded';
  }
  if (o.bearer !== undefined) {
    headers.authorization = `Bearer ${o.bearer}`;
    noteSecret(o.bearer);
  }
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const req = http.request(base + urlPath, { method, headers, agent: o.agent ?? false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        clearTimeout(timer);
        const text = Buffer.concat(chunks).toString('utf8');
        let parsed: any;
        try {
          parsed = text === '' ? undefined : JSON.parse(text);
        } catch {
          parsed = undefined;
        }
        if (parsed !== undefined) noteSecretsIn(parsed);
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, body: parsed, ms: performance.now() - started });
      });
    });
    const timer = setTimeout(() => req.destroy(new Error(`${method} ${urlPath}: no answer within ${o.timeoutMs ?? 15_000} ms`)), o.timeoutMs ?? 15_000);
    req.on('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    req.end(body);
  });
}

/** The decoded header and payload of a JWT (no verification: the server verifies). */
export function decodeJwt(token: string): { header: Record<string, any>; payload: Record<string, any> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

// --- Latchkey servers -------------------------------------------------------------------------

export interface Server extends Proc {
  port: number;
  base: string;
  env: NodeJS.ProcessEnv;
  call(method: string, urlPath: string, o?: RequestOptions): Promise<Reply>;
  /** POST /api/token; throws unless 200. */
  login(username: string, password: string, headers?: Record<string, string>): Promise<{ access: string; refresh: string }>;
}

export const PUBLIC_URL = 'http://latchkey.cluster.test';

/**
 * Starts `latchkey serve` on a free loopback port with `env` (DATABASE_URL, REDIS_URL, ...) and
 * waits until /healthz answers 200. LOG_LEVEL defaults to warn. The environment of the test
 * run is not passed on, except PATH and HOME, so no outer DATABASE_URL or REDIS_URL leaks in.
 */
export async function startServer(env: Record<string, string | undefined>, opts: { port?: number; readyMs?: number } = {}): Promise<Server> {
  const port = opts.port ?? (await freePort());
  const full: NodeJS.ProcessEnv = {
    PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR,
    HOST: '127.0.0.1', PORT: String(port), LOG_LEVEL: 'warn', PUBLIC_URL,
  };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) full[k] = v;
  if (full.LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD) noteSecret(full.LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD);
  const proc = spawnTracked(process.execPath, [MAIN, 'serve'], { env: full, logName: 'server-spawned' });
  const base = `http://127.0.0.1:${port}`;
  const server: Server = {
    ...proc,
    port,
    base,
    env: full,
    call: (method, urlPath, o) => request(base, method, urlPath, o),
    async login(username, password, headers = {}) {
      noteSecret(password);
      const r = await request(base, 'POST', '/api/token', { json: { username, password }, headers });
      if (r.status !== 200) throw new Error(`login of ${username} on :${port} failed: ${r.status} ${r.text}`);
      return r.body;
    },
  };
  const deadline = Date.now() + (opts.readyMs ?? 30_000);
  for (;;) {
    if (!proc.running()) throw new Error(`latchkey serve exited before it was ready:\n${proc.output()}`);
    try {
      const r = await request(base, 'GET', '/healthz', { timeoutMs: 2000 });
      if (r.status === 200) return server;
    } catch {
      // not listening yet
    }
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`latchkey serve not ready within ${opts.readyMs ?? 30_000} ms:\n${proc.output()}`);
    }
    await sleep(100);
  }
}

/** Runs a `latchkey` command (not serve) to its end with `env`; bounded by `timeoutMs`. */
export async function runCli(args: string[], env: Record<string, string | undefined>, timeoutMs = 30_000): Promise<{ code: number | null; output: string }> {
  const full: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, PUBLIC_URL };
  for (const [k, v] of Object.entries(env)) if (v !== undefined) full[k] = v;
  const proc = spawnTracked(process.execPath, [MAIN, ...args], { env: full });
  const t = setTimeout(() => void proc.kill(), timeoutMs);
  const { code } = await proc.exited;
  clearTimeout(t);
  return { code, output: proc.output() };
}

// --- PostgreSQL -------------------------------------------------------------------------------

/** A fresh database with a random name on the server of `adminUrl`; drop() removes it. */
export async function freshPgDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const { default: pg } = await import('pg');
  const name = `latchkey_test_${crypto.randomBytes(6).toString('hex')}`;
  const run = async (sql: string) => {
    const c = new pg.Client({ connectionString: adminUrl });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  };
  await run(`CREATE DATABASE ${name}`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { url: url.toString(), drop: () => run(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`) };
}

/** The directory of the newest installed PostgreSQL's server programs (initdb, pg_ctl), if any. */
export function pgBinDir(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (fs.existsSync(root)) {
    const versions = fs.readdirSync(root).filter((v) => fs.existsSync(path.join(root, v, 'bin', 'initdb')));
    versions.sort((a, b) => Number(b) - Number(a));
    if (versions[0]) return path.join(root, versions[0], 'bin');
  }
  const which = spawnSync('sh', ['-c', 'command -v initdb'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? path.dirname(which.stdout.trim()) : undefined;
}

export interface PrivatePostgres {
  url: string;
  port: number;
  /** Starts the server (again) and waits until it accepts connections. */
  start(): Promise<void>;
  /** pg_ctl stop; `immediate` is a crash (no checkpoint, clients cut off). */
  stop(mode?: 'fast' | 'immediate'): Promise<void>;
  /** Stops it and deletes its files. */
  destroy(): void;
}

/**
 * A PostgreSQL cluster of this test's own (initdb in a temporary directory, trust auth, a free
 * port, its socket in that directory), so a test may stop it without touching anyone else's.
 * initdb refuses to run as root: as root, the cluster belongs to the `postgres` OS user.
 */
export async function startPrivatePostgres(bin: string): Promise<PrivatePostgres> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-pg-'));
  const data = path.join(dir, 'data');
  const asRoot = process.getuid?.() === 0;
  if (asRoot) {
    const ids = spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' });
    const gid = spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' });
    if (ids.status !== 0) throw new Error('running as root and there is no "postgres" OS user to own a private cluster');
    fs.chownSync(dir, Number(ids.stdout.trim()), Number(gid.stdout.trim()));
  }
  const command = (prog: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', path.join(bin, prog), ...args]] : [path.join(bin, prog), args];
  // Synchronous: for initdb and for the clean-up at exit.
  const run = (prog: string, args: string[]) => {
    const [cmd, argv] = command(prog, args);
    const r = spawnSync(cmd, argv, { encoding: 'utf8', timeout: 60_000, cwd: dir });
    if (r.status !== 0) throw new Error(`${prog} ${args.join(' ')} failed (${r.status ?? r.signal}): ${r.stderr || r.stdout}`);
    return r.stdout;
  };
  // Asynchronous: the test's own requests keep running (and keep their timings) meanwhile.
  const runAsync = async (prog: string, args: string[]) => {
    const [cmd, argv] = command(prog, args);
    const p = spawnTracked(cmd, argv, { cwd: dir, env: process.env });
    const t = setTimeout(() => void p.kill(), 60_000);
    const { code, signal } = await p.exited;
    clearTimeout(t);
    if (code !== 0) throw new Error(`${prog} ${args.join(' ')} failed (${code ?? signal}): ${p.output()}`);
  };
  run('initdb', ['-D', data, '-A', 'trust', '-U', 'postgres', '-E', 'UTF8', '--no-sync', '--no-instructions']);
  const port = await freePort();
  let destroyed = false;
  const pg: PrivatePostgres = {
    url: `postgres://postgres@127.0.0.1:${port}/postgres`,
    port,
    start: () => runAsync('pg_ctl', ['-D', data, '-l', path.join(dir, 'server.log'), '-w', '-t', '60', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, 'start']),
    stop: (mode = 'fast') => runAsync('pg_ctl', ['-D', data, '-m', mode, '-w', '-t', '60', 'stop']),
    destroy() {
      if (destroyed) return;
      destroyed = true;
      cleanups.delete(pg.destroy);
      if (fs.existsSync(path.join(data, 'postmaster.pid'))) {
        try {
          run('pg_ctl', ['-D', data, '-m', 'immediate', '-w', '-t', '60', 'stop']);
        } catch {
          // not running
        }
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
  cleanups.add(pg.destroy);
  await pg.start();
  return pg;
}

// --- Redis ------------------------------------------------------------------------------------

export function redisServerPath(): string | undefined {
  const which = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  return which.status === 0 && which.stdout.trim() ? which.stdout.trim() : undefined;
}

export interface PrivateRedis {
  url: string;
  port: number;
  proc: Proc;
}

/** A redis-server of this test's own, in the foreground, no persistence, on `port` (default: a free one). */
export async function startRedis(port?: number): Promise<PrivateRedis> {
  const bin = redisServerPath();
  if (!bin) throw new Error('redis-server is not installed');
  const p = port ?? (await freePort());
  const proc = spawnTracked(bin, ['--port', String(p), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--daemonize', 'no']);
  const deadline = Date.now() + 10_000;
  while (!(await canConnect(p))) {
    if (!proc.running()) throw new Error(`redis-server exited:\n${proc.output()}`);
    if (Date.now() > deadline) {
      await proc.kill();
      throw new Error(`redis-server not listening on ${p} within 10 s:\n${proc.output()}`);
    }
    await sleep(50);
  }
  return { url: `redis://127.0.0.1:${p}`, port: p, proc };
}

/** One command to a Redis server over RESP (for the tests' own checks, e.g. PUBSUB NUMSUB). */
export async function redisCommand(url: string, ...args: string[]): Promise<unknown> {
  const { Redis } = await import('ioredis');
  const r = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    return await r.call(args[0]!, ...args.slice(1));
  } finally {
    r.disconnect();
  }
}

/** Polls `check` every `everyMs` until it returns true or `withinMs` have passed; returns the last result. */
export async function until(check: () => Promise<boolean> | boolean, withinMs: number, everyMs = 50): Promise<boolean> {
  const deadline = Date.now() + withinMs;
  for (;;) {
    try {
      if (await check()) return true;
    } catch {
      // keep trying
    }
    if (Date.now() > deadline) return false;
    await sleep(everyMs);
  }
}
