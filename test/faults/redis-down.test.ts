// Redis stops under two instances (a redis-server of this test's own; PostgreSQL from
// TEST_DATABASE_URL, a fresh database). Both keep serving; revocations stay exact because they
// are checked in the database; the per-address sign-in limit falls back to each instance's own
// counters; both instances log the loss. When Redis returns they hear each other again: a key
// rotation by the CLI is in force on both with the next request.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import {
  IN_CI, TEST_PG_URL, decodeJwt, freshPgDatabase, redisCommand, redisServerPath, runCli, startRedis, startServer, until,
  type PrivateRedis, type Server,
} from '../helpers/processes.ts';

const ADMIN = 'root';
const ADMIN_PASSWORD = 'redis-down-admin-pw-2e9f';
const PASSWORD = 'redis-down-user-pw-81c0';
const CHANNEL = 'latchkey:invalidate';

const skip = IN_CI ? false
  : !redisServerPath() ? 'redis-server is not installed: cannot start a private Redis'
  : !TEST_PG_URL ? 'TEST_DATABASE_URL is not set: two instances need PostgreSQL'
  : false;

const subscribers = async (url: string) => {
  const r = (await redisCommand(url, 'PUBSUB', 'NUMSUB', CHANNEL)) as [string, number];
  return Number(r[1]);
};

describe('Redis stops under two instances', { skip, timeout: 180_000 }, () => {
  let redis: PrivateRedis | undefined;
  let A: Server | undefined;
  let B: Server | undefined;
  let drop: (() => Promise<void>) | undefined;
  let env: Record<string, string>;

  before(async () => {
    if (!TEST_PG_URL) throw new Error('CI must run this suite: TEST_DATABASE_URL is not set');
    redis = await startRedis();
    const db = await freshPgDatabase(TEST_PG_URL);
    drop = db.drop;
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      TRUST_PROXY: '1',
      LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: ADMIN,
      LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    };
    A = await startServer(env);
    B = await startServer(env);
  });

  after(async () => {
    await A?.kill('SIGKILL');
    await B?.kill('SIGKILL');
    await redis?.proc.kill('SIGKILL');
    await drop?.();
  });

  it('keeps serving with exact revocations, logs it, and propagates again once Redis is back', async () => {
    const a = A!;
    const b = B!;
    assert.ok(await until(async () => (await subscribers(redis!.url)) >= 2, 10_000), 'the two instances did not both subscribe');
    const admin = await a.login(ADMIN, ADMIN_PASSWORD);
    const created = await a.call('POST', '/api/users/', { bearer: admin.access, json: { username: 'alice', password: PASSWORD } });
    assert.equal(created.status, 201, created.text);
    const t = await a.login('alice', PASSWORD);
    assert.equal((await b.call('GET', '/api/users/', { bearer: t.access })).status, 200);
    assert.doesNotMatch(a.output() + b.output(), /redis unavailable/);

    // Redis dies.
    const port = redis!.port;
    await redis!.proc.kill('SIGKILL');
    const logged = await until(() => /redis unavailable/.test(a.output()) && /redis unavailable/.test(b.output()), 15_000, 100);
    assert.ok(logged, `both instances must log the loss of Redis; A: ${a.output().slice(-500)} B: ${b.output().slice(-500)}`);
    for (const out of [a.output(), b.output()]) {
      const line = out.split('\n').find((l) => l.includes('redis unavailable'))!;
      assert.equal(JSON.parse(line).level, 40, 'logged as a warning');
    }

    // Both keep serving: sign-ins (the per-address counter falls back) and authenticated reads.
    for (const s of [a, b]) {
      const r = await s.call('POST', '/api/token', { json: { username: 'alice', password: PASSWORD } });
      assert.equal(r.status, 200, r.text);
      assert.ok(r.ms < 3000, `a sign-in took ${r.ms} ms without Redis`);
      assert.equal((await s.call('GET', '/api/users/', { bearer: t.access })).status, 200);
    }

    // Revocation stays exact: a logout on A is refused on B with the next request.
    assert.equal((await a.call('POST', '/api/token/logout', { bearer: t.access })).status, 200);
    const refused = await b.call('GET', '/api/users/', { bearer: t.access });
    assert.equal(refused.status, 401);
    assert.equal(refused.body.detail, 'Token has been revoked');

    // A change is still made (the database has it) though the other instance cannot be told.
    const limit = await a.call('POST', '/api/configuration/', { bearer: admin.access, json: { key: 'login_ip_limit', value: '10' } });
    assert.equal(limit.status, 201, limit.text);
    // The per-address limit falls back to this instance's own counter.
    const ip = `10.${crypto.randomInt(256)}.${crypto.randomInt(256)}.${crypto.randomInt(1, 255)}`;
    for (let i = 0; i < 10; i++) {
      const r = await a.call('POST', '/api/token', { json: { username: `ghost-${i}`, password: 'wrong-password' }, headers: { 'x-forwarded-for': ip } });
      assert.equal(r.status, 401, r.text);
    }
    const limited = await a.call('POST', '/api/token', { json: { username: 'alice', password: PASSWORD }, headers: { 'x-forwarded-for': ip } });
    assert.equal(limited.status, 429, limited.text);

    // Redis returns on the same address: both instances subscribe again by themselves.
    redis = await startRedis(port);
    assert.ok(await until(async () => (await subscribers(redis!.url)) >= 2, 20_000, 200), 'the instances did not subscribe again within 20 s');

    const before = await a.login('alice', PASSWORD);
    const oldKid = decodeJwt(before.access).header.kid;
    const cli = await runCli(['keys', 'rotate'], { DATABASE_URL: env.DATABASE_URL, REDIS_URL: env.REDIS_URL });
    assert.equal(cli.code, 0, cli.output);
    const newKid = /current (\S+),/.exec(cli.output)?.[1];
    assert.ok(newKid && newKid !== oldKid, cli.output);
    for (const s of [a, b]) {
      const fresh = await s.login('alice', PASSWORD);
      assert.equal(decodeJwt(fresh.access).header.kid, newKid, `:${s.port} still signs with the old key after Redis came back`);
      assert.equal((await s.call('GET', '/api/users/', { bearer: before.access })).status, 200);
    }
  });
});
