// `npm run bench`: starts `latchkey serve` as a child process on a fresh SQLite database with the
// bench user (staff) and 1,000 other users, runs autocannon (in this process, on the same machine)
// for a fixed time per scenario, and prints req/s, p50/p99 latency, non-2xx answers, the server's
// CPU per request, its memory idle and after the load, and for the password logins the ratio to
// the hash limit (cores / time of one argon2id hash, measured in the same run).
//
//   npm run bench                                   all scenarios, 10 s each, 2 connections
//   npm run bench -- --scenarios login,me           a subset (or BENCH_SCENARIOS=login,me)
//   BENCH_DURATION=30 BENCH_CONNECTIONS=4 npm run bench
//   BENCH_PROFILE=/tmp/prof npm run bench           the server writes a .cpuprofile there on exit
//
// Env: BENCH_DURATION (s, 10), BENCH_WARMUP (s, 2), BENCH_CONNECTIONS (2), BENCH_SCENARIOS,
// BENCH_EXTRA_USERS (1000), BENCH_HASH_SAMPLES (20), BENCH_PROFILE, BENCH_NODE_ARGS (extra options
// of the server's node, passed in NODE_OPTIONS, e.g. V8 flags to compare). Loopback only; bounded in time.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import net from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { seedBench, BENCH_USER, BENCH_CLIENT } from './seed.ts';
import { measureHashCost, measureParallelHashRate } from './hash-cost.ts';
import { seedTotpFlows, nextCode } from './headless-seed.ts';
import crypto from 'node:crypto';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const env = process.env;
const { values: args } = parseArgs({ options: { scenarios: { type: 'string' } }, strict: true });
const DURATION = Number(env.BENCH_DURATION ?? 10);
const WARMUP = Number(env.BENCH_WARMUP ?? 2);
const CONNECTIONS = Number(env.BENCH_CONNECTIONS ?? 2);
const EXTRA_USERS = Number(env.BENCH_EXTRA_USERS ?? 1000);
const HASH_SAMPLES = Number(env.BENCH_HASH_SAMPLES ?? 20);
const ONLY = (args.scenarios ?? env.BENCH_SCENARIOS ?? '').split(',').map((s) => s.trim()).filter(Boolean);
const CORES = os.availableParallelism();
const CLK_TCK = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim()) || 100;
/** Scenarios whose every request checks a password: compared with the hash limit. */
const HASH_BOUND = new Set(['login', 'token-login', 'oauth-password', 'headless-login']);
/** totp-verify: sign-ins waiting on their TOTP step, seeded per second of load (each is used once). */
const TOTP_FLOWS_PER_S = Number(env.BENCH_TOTP_FLOWS_PER_S ?? 1500);

const freePort = () => new Promise<number>((resolve, reject) => {
  const s = net.createServer().on('error', reject).listen(0, '127.0.0.1', () => {
    const port = (s.address() as net.AddressInfo).port;
    s.close(() => resolve(port));
  });
});

/** utime+stime of a process in ms, and its resident memory in MB. */
function procStat(pid: number): { cpuMs: number; rssMb: number } {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14, 15)
  const rss = /^VmRSS:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))![1]!;
  return { cpuMs: (ticks * 1000) / CLK_TCK, rssMb: Number(rss) / 1024 };
}

/** CPU time (ms) all processes of the machine spent, from /proc/stat (user..steal, no idle/iowait). */
function machineCpuMs(): number {
  const f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const [user, nice, system, , , irq, softirq, steal] = f as [number, number, number, number, number, number, number, number];
  return ((user + nice + system + irq + softirq + steal) * 1000) / CLK_TCK;
}
const selfCpuMs = () => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function waitReady(base: string, server: ChildProcess): Promise<void> {
  for (let i = 0; i < 600; i++) {
    if (server.exitCode !== null) throw new Error(`the server exited during start (code ${server.exitCode})`);
    try {
      if ((await fetch(base + '/healthz')).ok) return;
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the server was not ready after 60 s');
}

interface Measured {
  rps: number;
  p50: number;
  p99: number;
  requests: number;
  non2xx: number;
  errors: number;
  serverCores: number;
  cpuMsPerReq: number;
  otherCores: number;
}

async function measure(pid: number, opts: autocannon.Options, seconds: number): Promise<Measured> {
  const latencies: number[] = [];
  const cpu0 = procStat(pid).cpuMs, machine0 = machineCpuMs(), self0 = selfCpuMs(), t0 = performance.now();
  const r = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ ...opts, connections: CONNECTIONS, pipelining: 1, duration: seconds }, (err, result) => (err ? reject(err) : resolve(result)));
    // autocannon's own histogram keeps whole milliseconds; record the exact times instead.
    instance.on('response', (_client: unknown, _status: number, _bytes: number, ms: number) => latencies.push(ms));
  });
  const elapsed = (performance.now() - t0) / 1000;
  const cpu = procStat(pid).cpuMs - cpu0, machine = machineCpuMs() - machine0, self = selfCpuMs() - self0;
  const sorted = Float64Array.from(latencies).sort();
  const requests = r.requests.total;
  return {
    rps: requests / r.duration, p50: percentile(sorted, 50), p99: percentile(sorted, 99), requests,
    non2xx: r.non2xx, errors: r.errors + r.timeouts,
    serverCores: cpu / 1000 / elapsed, cpuMsPerReq: cpu / Math.max(requests, 1),
    // everything else on the machine (other engineers' test runs, say); the load generator excluded
    otherCores: Math.max(0, machine - cpu - self) / 1000 / elapsed,
  };
}

async function main() {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-bench-'));
  const dbUrl = `sqlite:${path.join(dir, 'bench.db')}`;
  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;

  // Seed before the server starts (same store code, same file).
  const seeded = await seedBench(dbUrl, { extraUsers: EXTRA_USERS, publicUrl: base });
  // The server seals TOTP seeds with this key; the totp-verify seed uses the same one.
  const secretKeys = env.LATCHKEY_SECRET_KEYS ? env.LATCHKEY_SECRET_KEYS.split(',') : [crypto.randomBytes(32).toString('base64url')];
  const wantsTotp = ONLY.length === 0 || ONLY.includes('totp-verify');
  const totpFlows = wantsTotp ? await seedTotpFlows(dbUrl, { count: Math.ceil((WARMUP + DURATION) * TOTP_FLOWS_PER_S), secretKeys, publicUrl: base }) : [];

  const nodeArgs = [
    ...(env.BENCH_PROFILE ? ['--cpu-prof', `--cpu-prof-dir=${path.resolve(env.BENCH_PROFILE)}`] : []),
    ...(env.BENCH_NODE_ARGS ?? '').split(' ').filter(Boolean),
  ];
  // As users start it (npm start, npx latchkey): bin/latchkey.js, whose first line sets node's options.
  const server: ChildProcess = spawn(path.join(ROOT, 'bin/latchkey.js'), ['serve'], {
    cwd: ROOT,
    env: {
      ...env, PATH: `${path.join(ROOT, 'node_modules/.bin')}${path.delimiter}${env.PATH ?? ''}`, NODE_OPTIONS: nodeArgs.join(' '),
      HOST: '127.0.0.1', PORT: String(port), DATABASE_URL: dbUrl, LOG_LEVEL: 'warn', PUBLIC_URL: base, LATCHKEY_SECRET_KEYS: secretKeys.join(','),
    },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  const pid = server.pid!;
  try {
    await waitReady(base, server);
    await new Promise((r) => setTimeout(r, 3000));
    const idle = procStat(pid);

    // The password-hash limit, measured in this run: one hash at a time (one core's work).
    const hash = await measureHashCost(HASH_SAMPLES);
    const hashLimit = CORES / (hash.medianMs / 1000);
    // The same hasher with as many hashes at once as the load has connections, and nothing else.
    const parallelRate = await measureParallelHashRate(CONNECTIONS, Math.max(HASH_SAMPLES * 2, 20));

    const json = { 'content-type': 'application/json' };
    const post = async (p: string, body: string, headers: Record<string, string> = json) => {
      const r = await fetch(base + p, { method: 'POST', headers, body });
      if (!r.ok) throw new Error(`${p}: ${r.status} ${await r.text()}`);
      return r.json() as Promise<Record<string, string>>;
    };
    const loginBody = JSON.stringify({ username: BENCH_USER.username, password: BENCH_USER.password });
    const obtain = () => post('/api/token', loginBody);

    // Refresh tokens are single use (a reused one revokes its family), so every request must send
    // the token of the previous answer. autocannon clears a connection's context after every
    // request, so the chains live in one queue: each request takes a token, each answer puts the
    // rotated one back. The queue starts with one fresh login per connection.
    const refreshQueue: string[] = [];
    const fillQueue = async () => {
      refreshQueue.length = 0;
      for (let i = 0; i < CONNECTIONS; i++) refreshQueue.push((await obtain()).refresh!);
    };

    const clientForm = {
      'content-type': 'application/x-www-form-urlencoded',
      authorization: `Basic ${Buffer.from(`${BENCH_CLIENT.id}:${BENCH_CLIENT.secret}`).toString('base64')}`,
    };
    const ccBody = new URLSearchParams({ grant_type: 'client_credentials', scope: BENCH_CLIENT.scope }).toString();

    type Scenario = { opts: () => Promise<autocannon.Options>; before?: () => Promise<void> };
    const bearer = async () => ({ authorization: `Bearer ${(await obtain()).access}` });
    const scenarios: Record<string, Scenario> = {
      login: { opts: async () => ({ url: base + '/api/token', method: 'POST', headers: json, body: loginBody }) },
      refresh: {
        before: fillQueue,
        opts: async () => ({
          url: base + '/api/token/refresh',
          requests: [{
            method: 'POST', headers: json,
            setupRequest: (req: any) => ({ ...req, body: JSON.stringify({ refresh: refreshQueue.shift() }) }),
            onResponse: (status: number, body: string) => {
              if (status === 200) refreshQueue.push(JSON.parse(body).refresh);
            },
          }] as any,
        }),
      },
      me: { opts: async () => ({ url: `${base}/api/users/${seeded.benchId}/`, headers: await bearer() }) },
      list: { opts: async () => ({ url: `${base}/api/users/`, headers: await bearer() }) },
      // The other dialects' counterparts (REST-auth token key, OAuth 2.0 password grant, user info).
      'token-login': { opts: async () => ({ url: base + '/api/auth/login/', method: 'POST', headers: json, body: loginBody }) },
      authenticated: { opts: async () => ({ url: base + '/api/auth/user/', headers: { authorization: `Token ${(await post('/api/auth/login/', loginBody)).key}` } }) },
      'oauth-password': {
        opts: async () => ({
          url: base + '/token', method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({ grant_type: 'password', username: BENCH_USER.username, password: BENCH_USER.password }).toString(),
        }),
      },
      healthz: { opts: async () => ({ url: base + '/healthz' }) },
      // The django-allauth headless API's app client: the password step (a session, an access and a refresh token) ...
      'headless-login': { opts: async () => ({ url: base + '/_allauth/app/v1/auth/login', method: 'POST', headers: json, body: loginBody }) },
      // ... and the TOTP step of sign-ins waiting on it (seeded: each request completes one, with a fresh code).
      'totp-verify': {
        opts: async () => ({
          url: base + '/_allauth/app/v1/auth/2fa/authenticate',
          requests: [{
            method: 'POST',
            setupRequest: (req: any) => {
              const flow = totpFlows.shift();
              if (!flow) return { ...req, headers: json, body: '{}' };
              return { ...req, headers: { ...json, 'x-session-token': flow.sessionToken }, body: JSON.stringify({ code: nextCode(flow.totp) }) };
            },
          }] as any,
        }),
      },
      'user-info': { opts: async () => ({ url: base + '/user_info/', headers: await bearer() }) },
      // The OpenID provider's machine-to-machine endpoints, with the bench client (client_secret_basic).
      'client-credentials': { opts: async () => ({ url: base + '/oidc/token', method: 'POST', headers: clientForm, body: ccBody }) },
      introspect: {
        opts: async () => {
          const { access_token: token } = await post('/oidc/token', ccBody, clientForm);
          const form = new URLSearchParams({ token: token! }).toString();
          const probe = await post('/oidc/token/introspection', form, clientForm);
          if (probe.active !== (true as unknown)) throw new Error(`introspect: the token is not active: ${JSON.stringify(probe)}`);
          return { url: base + '/oidc/token/introspection', method: 'POST', headers: clientForm, body: new URLSearchParams({ token: token! }).toString() };
        },
      },
    };
    const unknown = ONLY.filter((s) => !(s in scenarios));
    if (unknown.length) throw new Error(`unknown scenario(s) ${unknown.join(', ')}; known: ${Object.keys(scenarios).join(', ')}`);

    const cpuModel = os.cpus()[0]?.model.trim() ?? 'unknown CPU';
    console.log(`# ${new Date().toISOString()} ${CORES} cores (${cpuModel}), ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${os.type()} ${os.release()}, Node ${process.version}, loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
    console.log(`# autocannon ${CONNECTIONS} connections, pipelining 1, ${WARMUP} s warm-up + ${DURATION} s per scenario, in this process beside the server; ${seeded.total} users, SQLite`);
    console.log(`# hash: ${hash.details}: median ${hash.medianMs.toFixed(2)} ms (mean ${hash.meanMs.toFixed(2)}, ${hash.samples} one at a time) -> hash limit ${hashLimit.toFixed(1)} logins/s on ${CORES} cores`);
    console.log(`# hashes alone, ${CONNECTIONS} at a time: ${parallelRate.toFixed(1)}/s = ${((100 * parallelRate) / hashLimit).toFixed(0)} % of the hash limit (the most a sign-in load with ${CONNECTIONS} connections could reach)`);
    console.log(`# server RSS idle ${idle.rssMb.toFixed(1)} MB (3 s after ready, seeded)`);
    console.log('scenario          req/s   p50_ms   p99_ms  non2xx  server_cores  cpu_ms/req  other_cores');
    for (const [name, sc] of Object.entries(scenarios)) {
      if (ONLY.length && !ONLY.includes(name)) continue;
      if (WARMUP > 0) {
        await sc.before?.();
        await measure(pid, await sc.opts(), WARMUP);
        await new Promise((r) => setTimeout(r, 500));
      }
      await sc.before?.();
      const m = await measure(pid, await sc.opts(), DURATION);
      console.log(`${name.padEnd(15)} ${m.rps.toFixed(1).padStart(7)}  ${m.p50.toFixed(2).padStart(7)}  ${m.p99.toFixed(2).padStart(7)}  ${String(m.non2xx + m.errors).padStart(6)}  ${m.serverCores.toFixed(2).padStart(12)}  ${m.cpuMsPerReq.toFixed(3).padStart(10)}  ${m.otherCores.toFixed(2).padStart(11)}`);
      if (m.errors) console.log(`#   ${name}: ${m.errors} socket errors or timeouts (counted in non2xx)`);
      if (HASH_BOUND.has(name)) {
        console.log(`#   ${name}: ${((100 * m.rps) / hashLimit).toFixed(0)} % of the hash limit (${m.rps.toFixed(1)} / ${hashLimit.toFixed(1)} req/s), ${((100 * m.rps) / parallelRate).toFixed(0)} % of the hashes-alone rate`);
      }
    }
    console.log(`# server RSS after the load ${procStat(pid).rssMb.toFixed(1)} MB; loadavg ${os.loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  } finally {
    if (server.exitCode === null) {
      const exited = new Promise((r) => server.once('exit', r));
      server.kill('SIGTERM');
      await exited;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

await main();
