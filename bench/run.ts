// `npm run bench`: starts a server on a fresh SQLite database with 1,000 users, runs autocannon
// for a fixed time per scenario, and prints req/s, p50/p99 latency, server CPU per request and
// memory. Knobs: BENCH_DURATION (s, default 10), BENCH_CONNECTIONS (default 10),
// BENCH_SCENARIOS (comma list). Loopback only; bounded in time.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import autocannon from 'autocannon';
import { openStore } from '../src/store/index.ts';
import { createArgon2Hasher, createCore } from '../src/core/index.ts';

const DURATION = Number(process.env.BENCH_DURATION ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 10);
const ONLY = (process.env.BENCH_SCENARIOS ?? process.argv.find((a) => a.startsWith('--scenarios='))?.slice(12) ?? '').split(',').filter(Boolean);
const USER = 'bench';
const PASSWORD = 'bench-password-123';
const EXTRA_USERS = 1000;

const freePort = () => new Promise<number>((resolve) => {
  const s = net.createServer().listen(0, '127.0.0.1', () => {
    const port = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(port));
  });
});

function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime + stime
  const rss = /VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return { cpuMs: (ticks * 1000) / 100, rssMb: Number(rss) / 1024 };
}

async function waitReady(base: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      if ((await fetch(base + '/healthz')).ok) return;
    } catch {
      // not yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('server did not become ready');
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-bench-'));
  const dbUrl = `sqlite:${path.join(dir, 'bench.db')}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  // Seed before the server starts: the bench user (staff, so it may list) and 1,000 others
  // bulk-inserted with one shared valid hash.
  const store = openStore(dbUrl);
  const core = createCore({ store, publicUrl: base });
  await core.prepare();
  const bench = await core.users.create(undefined, { username: USER, password: PASSWORD, email: 'bench@example.com', isStaff: true });
  const shared = await core.hasher.hash('user-password-123');
  const now = Date.now();
  for (let i = 0; i < EXTRA_USERS; i += 250) {
    await store.db.insertInto('users').values(Array.from({ length: Math.min(250, EXTRA_USERS - i) }, (_, j) => ({
      id: crypto.randomUUID(), tenant_pk: bench.tenantPk, username: `user${String(i + j + 1).padStart(5, '0')}`, email: `user${i + j + 1}@example.com`,
      first_name: '', last_name: '', password_hash: shared, is_active: 1, is_staff: 0, is_superuser: 0, last_login: null, password_changed_at: now,
      profile: '{}', emm: '{}', avatar: null, email_verified: 0, created_at: now, updated_at: now,
    }))).execute();
  }
  await store.close();

  const server: ChildProcess = spawn(process.execPath, [...(process.env.BENCH_PROFILE ? ['--cpu-prof', '--cpu-prof-dir=' + process.env.BENCH_PROFILE] : []), 'src/cli/main.ts', 'serve'], {
    env: { ...process.env, HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: dbUrl, LOG_LEVEL: 'warn', PUBLIC_URL: base },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const pid = server.pid!;
  try {
    await waitReady(base);
    await new Promise((r) => setTimeout(r, 3000));
    const idle = procStat(pid);

    // The password-hash limit, measured in the same run: cores / time of one hash on one core.
    const hasher = createArgon2Hasher();
    const times: number[] = [];
    for (let i = 0; i < 20; i++) {
      const t0 = performance.now();
      await hasher.hash('hash-cost-probe');
      times.push(performance.now() - t0);
    }
    times.sort((a, b) => a - b);
    const hashMs = times[10]!;
    const cores = os.availableParallelism();
    const hashLimit = cores / (hashMs / 1000);

    const json = { 'content-type': 'application/json' };
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const post = async (p: string, body: unknown, headers = json) => {
      const r = await fetch(base + p, { method: 'POST', headers, body: headers === json ? JSON.stringify(body) : String(body) });
      if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<any>;
    };
    const pair = await post('/api/token', { username: USER, password: PASSWORD });
    const key = (await post('/api/auth/login/', { username: USER, password: PASSWORD })).key;
    const bearer = { authorization: `Bearer ${pair.access}` };
    // Refresh tokens are single use: each connection chains its own, from a pool made beforehand
    // (refilled before each autocannon run).
    const refreshPool: string[] = [];
    const fillPool = async () => {
      refreshPool.length = 0;
      for (let i = 0; i < CONNECTIONS + 2; i++) refreshPool.push((await post('/api/token', { username: USER, password: PASSWORD })).refresh);
    };

    const loginBody = JSON.stringify({ username: USER, password: PASSWORD });
    const scenarios: Record<string, autocannon.Options> = {
      login: { url: base + '/api/token', method: 'POST', headers: json, body: loginBody },
      refresh: {
        url: base + '/api/token/refresh',
        requests: [{
          method: 'POST', headers: json,
          // autocannon resets a connection's context after every request, so the chain lives in
          // one queue: each request takes a token, each answer puts the rotated one back.
          setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ refresh: refreshPool.shift() }) }),
          onResponse: (status: number, body: string) => {
            if (status === 200) refreshPool.push(JSON.parse(body).refresh);
          },
        }] as any,
      },
      me: { url: `${base}/api/users/${bench.id}/`, headers: bearer },
      list: { url: `${base}/api/users/`, headers: bearer },
      'token-login': { url: base + '/api/auth/login/', method: 'POST', headers: json, body: loginBody },
      authenticated: { url: base + '/api/auth/user/', headers: { authorization: `Token ${key}` } },
      'oauth-password': { url: base + '/token', method: 'POST', headers: form, body: `grant_type=password&username=${USER}&password=${PASSWORD}` },
      'user-info': { url: base + '/user_info/', headers: bearer },
    };

    console.log(`# machine: ${cores} cores (${os.cpus()[0]?.model.trim()}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, Node ${process.version}; autocannon in this process, beside the server`);
    console.log(`# ${DURATION} s per scenario, ${CONNECTIONS} connections, ${EXTRA_USERS + 1} users, SQLite`);
    console.log(`# hash: argon2id m=19456 t=2 p=1, ${hashMs.toFixed(2)} ms on one core -> hash limit ${hashLimit.toFixed(0)} logins/s on ${cores} cores`);
    console.log(`# server RSS idle ${idle.rssMb.toFixed(1)} MB`);
    console.log('scenario        req/s     p50_ms  p99_ms  non2xx  cpu_ms/req');
    for (const [name, opts] of Object.entries(scenarios)) {
      if (ONLY.length && !ONLY.includes(name)) continue;
      // The access token of `me` and friends lives 5 minutes: take a fresh one per scenario.
      if (opts.headers && (opts.headers as Record<string, string>).authorization?.startsWith('Bearer')) {
        (opts.headers as Record<string, string>).authorization = `Bearer ${(await post('/api/token', { username: USER, password: PASSWORD })).access}`;
      }
      if (name === 'refresh') await fillPool();
      await autocannon({ ...opts, connections: CONNECTIONS, duration: 2 }); // warm-up
      if (name === 'refresh') await fillPool();
      const before = procStat(pid);
      const r = await autocannon({ ...opts, connections: CONNECTIONS, duration: DURATION });
      const after = procStat(pid);
      const cpuPerReq = (after.cpuMs - before.cpuMs) / Math.max(r.requests.total, 1);
      const line = `${name.padEnd(15)} ${r.requests.average.toFixed(0).padStart(7)}  ${String(r.latency.p50).padStart(7)} ${String(r.latency.p99).padStart(7)} ${String(r.non2xx).padStart(7)}  ${cpuPerReq.toFixed(3).padStart(9)}`;
      console.log(line);
      if (name === 'login' || name === 'token-login' || name === 'oauth-password') {
        console.log(`#   ${name}: ${(100 * r.requests.average / hashLimit).toFixed(0)} % of the hash limit`);
      }
    }
    console.log(`# server RSS after load ${procStat(pid).rssMb.toFixed(1)} MB`);
  } finally {
    server.kill('SIGTERM');
    await new Promise((r) => server.once('exit', r));
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
