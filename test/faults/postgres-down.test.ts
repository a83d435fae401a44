// PostgreSQL stops under load (a private cluster of this test's own: nobody else's database is
// touched). Requests get 503 at once, /healthz says 503, nothing that needed the database is
// accepted (a logout during the outage is not answered 2xx, and is indeed not in force after),
// and service comes back by itself when the database does, with revocations intact.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { IN_CI, pgBinDir, sleep, startPrivatePostgres, startServer, until, type PrivatePostgres, type Server } from '../helpers/processes.ts';

const bin = pgBinDir();
const skip = bin ? false : IN_CI ? false : 'PostgreSQL server programs (initdb, pg_ctl) are not installed: cannot start a private cluster';

const ADMIN = 'root';
const ADMIN_PASSWORD = 'pg-down-admin-pw-51c2';
const USER = 'alice';
const PASSWORD = 'alice-pw-pg-down-93be';
const WORKERS = 6;

interface Sample {
  kind: 'read' | 'login';
  start: number;
  end: number;
  status: number | 'error';
}

describe('PostgreSQL stops under load', { skip, timeout: 240_000 }, () => {
  let pg: PrivatePostgres | undefined;
  let server: Server | undefined;

  before(async () => {
    if (!bin) throw new Error('CI must run this suite: initdb is not installed (.ci/run installs postgresql)');
    pg = await startPrivatePostgres(bin);
    server = await startServer({
      DATABASE_URL: pg.url,
      LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: ADMIN,
      LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    });
  });

  after(async () => {
    await server?.kill('SIGKILL');
    pg?.destroy();
  });

  it('answers 503 at once, accepts nothing, and recovers by itself', async () => {
    const s = server!;
    const admin = await s.login(ADMIN, ADMIN_PASSWORD);
    const created = await s.call('POST', '/api/users/', { bearer: admin.access, json: { username: USER, password: PASSWORD } });
    assert.equal(created.status, 201, created.text);
    // Each worker signs in as its own user: parallel sign-ins to one account are throttled by design.
    for (let w = 0; w < WORKERS; w++) {
      const r = await s.call('POST', '/api/users/', { bearer: admin.access, json: { username: `worker-${w}`, password: PASSWORD } });
      assert.equal(r.status, 201, r.text);
    }
    const revokedBefore = await s.login(USER, PASSWORD);
    const loggedOutDuring = await s.login(USER, PASSWORD);
    const reader = await s.login(USER, PASSWORD);
    assert.equal((await s.call('POST', '/api/token/logout', { bearer: revokedBefore.access })).status, 200);
    assert.equal((await s.call('GET', '/api/users/', { bearer: revokedBefore.access })).status, 401);

    // Load: authenticated reads and sign-ins, a bounded number of workers, until told to stop.
    const samples: Sample[] = [];
    let running = true;
    const worker = async (w: number) => {
      for (let i = 0; running; i++) {
        const kind = (i + w) % 3 === 0 ? 'login' : 'read';
        const start = performance.now();
        let status: number | 'error';
        try {
          const r = kind === 'read'
            ? await s.call('GET', '/api/users/', { bearer: reader.access, timeoutMs: 10_000 })
            : await s.call('POST', '/api/token', { json: { username: `worker-${w}`, password: PASSWORD }, timeoutMs: 10_000 });
          status = r.status;
        } catch {
          status = 'error';
        }
        samples.push({ kind, start, end: performance.now(), status });
        if (status === 'error' || status === 503) await sleep(20); // no hot loop against a dead port
      }
    };
    const load = Promise.all(Array.from({ length: WORKERS }, (_, w) => worker(w)));
    try {
      await until(() => samples.length >= 30, 10_000);
      const healthy = samples.slice();
      assert.ok(healthy.length >= 30, 'the load did not get going');
      assert.deepEqual([...new Set(healthy.map((x) => x.status))], [200], 'not every request succeeded before the outage');

      // The crash: no checkpoint, every connection cut.
      await pg!.stop('immediate');
      const downAt = performance.now();

      const health = await s.call('GET', '/healthz');
      assert.equal(health.status, 503, health.text);
      assert.deepEqual(health.body, { status: 'unavailable' });
      assert.ok(health.ms < 3000, `/healthz took ${health.ms} ms`);

      const logout = await s.call('POST', '/api/token/logout', { bearer: loggedOutDuring.access });
      assert.equal(logout.status, 503, `a logout the database could not record was answered ${logout.status}`);
      assert.equal(logout.headers['retry-after'], '1');
      assert.deepEqual(logout.body, { detail: 'Service temporarily unavailable, try again shortly.' });

      const write = await s.call('POST', '/api/users/', { bearer: admin.access, json: { username: 'bob', password: 'bob-pw-never-made-1' } });
      assert.equal(write.status, 503, write.text);

      // Let the load run against the dead database for a while.
      await until(() => samples.filter((x) => x.start >= downAt).length >= 60, 5000);
      const restartAt = performance.now();
      const during = samples.filter((x) => x.start >= downAt && x.end <= restartAt);
      assert.ok(during.length >= 20, `only ${during.length} requests ran during the outage`);
      const statuses = [...new Set(during.map((x) => x.status))];
      assert.deepEqual(statuses, [503], `during the outage the answers were ${statuses.join(', ')}`);
      const slowest = Math.max(...during.map((x) => x.end - x.start));
      // Not a timing test: a sanity bound far above what "at once" means (no 5 s connect timeout).
      assert.ok(slowest < 3000, `a request took ${slowest.toFixed(0)} ms to be refused`);

      // The database returns: so does the service, with nobody restarting anything.
      await pg!.start();
      const back = await until(async () => (await s.call('GET', '/healthz', { timeoutMs: 2000 })).status === 200, 20_000, 200);
      assert.ok(back, '/healthz did not return to 200 within 20 s of PostgreSQL starting again');
      const backAt = performance.now();
      await until(() => samples.filter((x) => x.start >= backAt).length >= 30, 10_000);
      running = false;
      await load;
      const after = samples.filter((x) => x.start >= backAt);
      assert.ok(after.length >= 30, 'the load did not resume');
      assert.deepEqual([...new Set(after.map((x) => x.status))], [200], 'not every request succeeded after the recovery');

      console.log(`# ${healthy.length} requests before, ${during.length} during the outage (all 503, slowest ${slowest.toFixed(0)} ms, ` +
        `median ${median(during.map((x) => x.end - x.start)).toFixed(1)} ms), recovered ${((backAt - restartAt) / 1000).toFixed(1)} s after the restart began`);
    } finally {
      running = false;
      await load;
    }

    // Revocations survived; the refused logout was indeed not recorded; the refused write made nothing.
    const revoked = await s.call('GET', '/api/users/', { bearer: revokedBefore.access });
    assert.equal(revoked.status, 401);
    assert.equal(revoked.body.detail, 'Token has been revoked');
    assert.equal((await s.call('POST', '/api/token/refresh', { json: { refresh: revokedBefore.refresh } })).status, 401);
    assert.equal((await s.call('GET', '/api/users/', { bearer: loggedOutDuring.access })).status, 200);
    const users = await s.call('GET', '/api/users/', { bearer: admin.access });
    assert.deepEqual(users.body.resources.map((u: any) => u.username).sort(), [USER, ADMIN, ...Array.from({ length: WORKERS }, (_, w) => `worker-${w}`)].sort());
    assert.equal((await s.call('POST', '/api/token/logout', { bearer: loggedOutDuring.access })).status, 200);
    assert.equal((await s.call('GET', '/api/users/', { bearer: loggedOutDuring.access })).status, 401);
  });
});

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? 0;
}
