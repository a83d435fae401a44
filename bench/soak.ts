// `npm run soak`: a mixed load against one or two real `latchkey serve` processes for a given
// time, then errors, latency percentiles and the servers' memory growth after warm-up.
//
//   SOAK_SECONDS=600 npm run soak                     # one instance, SQLite in a temporary file
//   npm run soak -- --engine postgres                 # one instance on PostgreSQL
//   npm run soak -- --instances 2                     # two instances, PostgreSQL and Redis
//
// PostgreSQL: a fresh database on TEST_DATABASE_URL (dropped after). Redis: TEST_REDIS_URL, or a
// redis-server of its own when that is unset. Loopback only; a fixed number of workers, each
// one request at a time. Exit code 1 when any request failed.
import fs from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import {
  TEST_PG_URL, TEST_REDIS_URL, freshPgDatabase, redisServerPath, request, startRedis, startServer,
  type PrivateRedis, type Reply, type Server,
} from '../test/helpers/processes.ts';

const { values: args } = parseArgs({
  options: {
    instances: { type: 'string', default: '1' },
    engine: { type: 'string' },
    workers: { type: 'string', default: '8' },
    help: { type: 'boolean', short: 'h' },
  },
  strict: true,
});
if (args.help) {
  console.log(`Usage: npm run soak -- [--instances 1|2] [--engine sqlite|postgres] [--workers N]
Duration from SOAK_SECONDS (default 60). Two instances need PostgreSQL (TEST_DATABASE_URL) and
Redis (TEST_REDIS_URL, or redis-server installed).`);
  process.exit(0);
}

const SECONDS = Number(process.env.SOAK_SECONDS ?? 60);
const INSTANCES = Number(args.instances);
const WORKERS = Number(args.workers);
const ENGINE = args.engine ?? (INSTANCES > 1 ? 'postgres' : 'sqlite');
if (!(SECONDS > 0) || ![1, 2].includes(INSTANCES) || !(WORKERS >= 1 && WORKERS <= 64) || !['sqlite', 'postgres'].includes(ENGINE)) {
  console.error('soak: SOAK_SECONDS must be > 0, --instances 1 or 2, --workers 1..64, --engine sqlite or postgres');
  process.exit(2);
}
if (INSTANCES > 1 && ENGINE !== 'postgres') {
  console.error('soak: two instances share one database: use PostgreSQL');
  process.exit(2);
}
if (ENGINE === 'postgres' && !TEST_PG_URL) {
  console.error('soak: set TEST_DATABASE_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres) for PostgreSQL');
  process.exit(2);
}

/** Warm-up: a fifth of the run, at least 10 s and at most 60 s (never more than half the run). */
const WARMUP_S = Math.min(SECONDS / 2, Math.max(10, Math.min(60, SECONDS / 5)));
const ADMIN = 'soak-admin';
const ADMIN_PASSWORD = 'soak-admin-password-3c8e';
const PASSWORD = 'soak-user-password-91f0';

type Op = 'sign-in' | 'refresh' | 'read' | 'write' | 'admin-write';
// The mix: weights per worker step.
const MIX: Array<[Op, number]> = [['sign-in', 10], ['refresh', 15], ['read', 50], ['write', 20], ['admin-write', 5]];
const TOTAL_WEIGHT = MIX.reduce((n, [, w]) => n + w, 0);

function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : NaN;
  } catch {
    return NaN; // the process is gone
  }
}

function pct(sorted: number[], p: number): number {
  if (!sorted.length) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

async function main(): Promise<number> {
  const cleanup: Array<() => Promise<void> | void> = [];
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-soak-'));
  cleanup.push(() => fs.rmSync(dir, { recursive: true, force: true }));
  const servers: Server[] = [];
  try {
    let databaseUrl = `sqlite:${path.join(dir, 'latchkey.db')}`;
    if (ENGINE === 'postgres') {
      const db = await freshPgDatabase(TEST_PG_URL!);
      databaseUrl = db.url;
      cleanup.push(() => db.drop());
    }
    let redisUrl: string | undefined;
    if (INSTANCES > 1) {
      redisUrl = TEST_REDIS_URL;
      if (!redisUrl) {
        if (!redisServerPath()) throw new Error('two instances need Redis: set TEST_REDIS_URL or install redis-server');
        const r: PrivateRedis = await startRedis();
        cleanup.push(() => r.proc.kill('SIGKILL'));
        redisUrl = r.url;
      }
    }
    const env = {
      DATABASE_URL: databaseUrl, REDIS_URL: redisUrl,
      LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: ADMIN, LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    };
    for (let i = 0; i < INSTANCES; i++) {
      const s = await startServer(env);
      servers.push(s);
      cleanup.push(() => s.kill('SIGKILL'));
    }
    const agents = servers.map(() => new http.Agent({ keepAlive: true, maxSockets: WORKERS }));
    cleanup.push(() => agents.forEach((a) => a.destroy()));
    let turn = 0;
    /** Requests go round-robin over the instances: a token issued by one is used on the other. */
    const call = (method: string, urlPath: string, o: { json?: unknown; bearer?: string } = {}): Promise<Reply> => {
      const i = turn++ % servers.length;
      return request(servers[i]!.base, method, urlPath, { ...o, agent: agents[i], timeoutMs: 15_000 });
    };

    // Set-up: one user per worker, signed in.
    const adminPair = await servers[0]!.login(ADMIN, ADMIN_PASSWORD);
    const admin = { ...adminPair, at: Date.now(), refreshing: undefined as Promise<void> | undefined };
    const users: Array<{ id: string; username: string; access: string; refresh: string }> = [];
    for (let w = 0; w < WORKERS; w++) {
      const username = `soak-${w}`;
      const r = await call('POST', '/api/users/', { bearer: admin.access, json: { username, password: PASSWORD, email: `${username}@example.com` } });
      if (r.status !== 201) throw new Error(`creating ${username}: ${r.status} ${r.text}`);
      const pair = await servers[w % servers.length]!.login(username, PASSWORD);
      users.push({ id: r.body.id, username, ...pair });
    }
    // The admin's access token lives 5 minutes: renew it (one at a time) well before.
    const adminToken = async () => {
      if (Date.now() - admin.at > 120_000) {
        admin.refreshing ??= (async () => {
          const r = await call('POST', '/api/token/refresh', { json: { refresh: admin.refresh } });
          if (r.status !== 200) throw new Error(`admin refresh: ${r.status} ${r.text}`);
          Object.assign(admin, r.body, { at: Date.now() });
        })().finally(() => (admin.refreshing = undefined));
        await admin.refreshing;
      }
      return admin.access;
    };

    const latencies = new Map<Op, number[]>(MIX.map(([op]) => [op, []]));
    const errors = new Map<string, number>();
    let requests = 0;
    const fail = (what: string) => errors.set(what, (errors.get(what) ?? 0) + 1);
    const expect = (op: Op, r: Reply, status: number) => {
      requests++;
      latencies.get(op)!.push(r.ms);
      if (r.status !== status) fail(`${op}: ${r.status} ${r.text.slice(0, 120)}`);
      return r.status === status;
    };

    const started = Date.now();
    const deadline = started + SECONDS * 1000;
    const rss: Array<{ t: number; kib: number[] }> = [];
    const sample = () => rss.push({ t: (Date.now() - started) / 1000, kib: servers.map((s) => rssKiB(s.pid)) });
    let warm: { t: number; kib: number[] } | undefined;
    const sampler = setInterval(() => {
      sample();
      if (!warm && Date.now() - started >= WARMUP_S * 1000) warm = rss.at(-1);
    }, 5000);
    const load0 = os.loadavg();
    let groupSeq = 0;

    const worker = async (w: number) => {
      const me = users[w]!;
      let seed = w + 1;
      const rand = () => ((seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31);
      while (Date.now() < deadline) {
        let x = rand() * TOTAL_WEIGHT;
        const op = MIX.find(([, wgt]) => (x -= wgt) < 0)![0];
        try {
          if (op === 'sign-in') {
            const r = await call('POST', '/api/token', { json: { username: me.username, password: PASSWORD } });
            if (expect(op, r, 200)) Object.assign(me, r.body);
          } else if (op === 'refresh') {
            const r = await call('POST', '/api/token/refresh', { json: { refresh: me.refresh } });
            if (expect(op, r, 200)) Object.assign(me, r.body);
          } else if (op === 'read') {
            const r = rand() < 0.5
              ? await call('GET', '/api/users/', { bearer: me.access })
              : await call('GET', `/api/users/${me.id}/`, { bearer: me.access });
            expect(op, r, 200);
          } else if (op === 'write') {
            expect(op, await call('PATCH', `/api/users/${me.id}/`, { bearer: me.access, json: { first_name: `n${Math.floor(rand() * 1e6)}` } }), 200);
          } else {
            // Staff work: a group made, a member added, the group deleted (the database stays bounded).
            const token = await adminToken();
            const g = await call('POST', '/api/groups/', { bearer: token, json: { name: `soak-group-${w}-${groupSeq++}` } });
            if (!expect(op, g, 201)) continue;
            expect(op, await call('POST', `/api/groups/${g.body.id}/members/`, { bearer: token, json: { id: me.id } }), 201);
            expect(op, await call('DELETE', `/api/groups/${g.body.id}/`, { bearer: token }), 204);
          }
        } catch (err) {
          requests++;
          fail(`${op}: ${(err as Error).message}`);
        }
      }
    };
    // Tokens expire after 5 minutes: every worker refreshes often enough through the mix (15 %),
    // and a worker whose access token was refused would show up as errors.
    sample();
    await Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    clearInterval(sampler);
    sample();
    const load1 = os.loadavg();
    const elapsed = (Date.now() - started) / 1000;

    // Report.
    const all = [...latencies.values()].flat().sort((a, b) => a - b);
    const end = rss.at(-1)!;
    warm ??= rss.find((r) => r.t >= WARMUP_S) ?? rss[0]!;
    const errorCount = [...errors.values()].reduce((a, b) => a + b, 0);
    const lines: string[] = [];
    lines.push(`soak: ${INSTANCES} instance(s) on ${ENGINE}${INSTANCES > 1 ? ' + Redis' : ''}, ${WORKERS} workers, ${elapsed.toFixed(0)} s, Node ${process.version}, ${os.cpus().length} CPU(s)`);
    lines.push(`requests: ${requests} (${(requests / elapsed).toFixed(0)}/s), errors: ${errorCount}`);
    lines.push(`latency (ms)    count      p50      p99      max`);
    for (const [op, xs] of [...latencies.entries(), ['all', all] as [string, number[]]]) {
      const s = [...xs].sort((a, b) => a - b);
      lines.push(`  ${op.padEnd(12)} ${String(s.length).padStart(7)} ${pct(s, 50).toFixed(1).padStart(8)} ${pct(s, 99).toFixed(1).padStart(8)} ${(s.at(-1) ?? NaN).toFixed(1).padStart(8)}`);
    }
    servers.forEach((s, i) => {
      const w0 = warm!.kib[i]!;
      const e = end.kib[i]!;
      const peak = Math.max(...rss.map((r) => r.kib[i]!));
      lines.push(`memory, instance ${i + 1}: RSS ${(w0 / 1024).toFixed(1)} MiB after ${warm!.t.toFixed(0)} s warm-up -> ${(e / 1024).toFixed(1)} MiB at the end ` +
        `(${(((e - w0) / w0) * 100).toFixed(1)} %; peak ${(peak / 1024).toFixed(1)} MiB; start ${(rss[0]!.kib[i]! / 1024).toFixed(1)} MiB)`);
    });
    lines.push(`load average: ${load0.map((x) => x.toFixed(2)).join(' ')} at the start, ${load1.map((x) => x.toFixed(2)).join(' ')} at the end`);
    if (errorCount) {
      lines.push('errors:');
      for (const [what, n] of [...errors.entries()].sort((a, b) => b[1] - a[1]).slice(0, 10)) lines.push(`  ${n} x ${what}`);
    }
    // RSS swings by a third as the garbage collector and the argon2 buffers come and go: a
    // single sample at each end is noisy. The median over a window right after the warm-up and
    // over the last window of the run tells a leak (a steady climb) from that swing.
    const win = Math.max(10, Math.min(60, (elapsed - WARMUP_S) / 4));
    const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
    const growth = servers.map((_, i) => {
      const first = rss.filter((r) => r.t >= WARMUP_S && r.t < WARMUP_S + win).map((r) => r.kib[i]!);
      const last = rss.filter((r) => r.t > elapsed - win).map((r) => r.kib[i]!);
      const g = (median(last) - median(first)) / median(first);
      lines.push(`memory, instance ${i + 1}: median RSS ${(median(first) / 1024).toFixed(1)} MiB over ${win.toFixed(0)} s after the warm-up -> ` +
        `${(median(last) / 1024).toFixed(1)} MiB over the last ${win.toFixed(0)} s (${(g * 100).toFixed(1)} %)`);
      return g;
    });
    const judged = elapsed >= 300 ? (growth.every((g) => g < 0.1) ? 'met' : 'MISSED') : 'not judged (a run under 5 minutes is too short)';
    lines.push(`aims: errors ${errorCount === 0 ? 'none: met' : 'MISSED'}; memory growth after warm-up (medians) < 10 %: ${judged}`);
    lines.push(`rss samples (s: MiB): ${rss.map((r) => `${r.t.toFixed(0)}: ${r.kib.map((k) => (k / 1024).toFixed(0)).join('/')}`).join(', ')}`);
    for (const s of servers) {
      if (!s.running()) lines.push(`server :${s.port} EXITED during the run: ${JSON.stringify(await s.exited)}`);
      const out = s.output().trim();
      if (out) lines.push(`server :${s.port} logged (warnings and errors):\n${out.slice(-2000)}`);
    }
    console.log(lines.join('\n'));
    return errorCount || servers.some((s) => !s.running()) ? 1 : 0;
  } finally {
    for (const f of cleanup.reverse()) {
      try {
        await f();
      } catch (err) {
        console.error(`soak: clean-up: ${(err as Error).message}`);
      }
    }
  }
}

process.exitCode = await main();
