// Two `latchkey serve` processes on one PostgreSQL database and one Redis act as one service:
// whatever is done on A is in force on B with the very next request (no waiting, no retry):
// logout, refresh-token reuse, password change, lockout and the per-address limit, signing-key
// rotation (by the CLI), a disabled tenant, a changed setting. The cache-backed cases warm B's
// cache just before the change, so without Redis they would see the old value (caches live 1-5 s).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import { IN_CI, TEST_PG_URL, TEST_REDIS_URL, decodeJwt, freshPgDatabase, runCli, startServer, type Server } from '../helpers/processes.ts';

const ADMIN = 'root';
const ADMIN_PASSWORD = 'cluster-admin-pw-0b7e';
const PASSWORD = 'cluster-user-pw-4d21';

const skip = TEST_PG_URL && TEST_REDIS_URL ? false
  : IN_CI ? false
  : 'TEST_DATABASE_URL and TEST_REDIS_URL must both be set: the two-instance suite needs PostgreSQL and Redis';

/** A client address of this run only (the per-address counters live in a shared Redis). */
const randomIp = () => `10.${crypto.randomInt(256)}.${crypto.randomInt(256)}.${crypto.randomInt(1, 255)}`;

describe('two instances on PostgreSQL and Redis', { skip, timeout: 180_000 }, () => {
  let A: Server;
  let B: Server;
  let env: Record<string, string>;
  let drop: (() => Promise<void>) | undefined;
  let admin: { access: string; refresh: string };

  before(async () => {
    if (!TEST_PG_URL || !TEST_REDIS_URL) throw new Error('CI must run the two-instance suite: set TEST_DATABASE_URL and TEST_REDIS_URL');
    const db = await freshPgDatabase(TEST_PG_URL);
    drop = db.drop;
    env = {
      DATABASE_URL: db.url,
      REDIS_URL: TEST_REDIS_URL,
      TRUST_PROXY: '1',
      LATCHKEY_BOOTSTRAP_ADMIN_USERNAME: ADMIN,
      LATCHKEY_BOOTSTRAP_ADMIN_PASSWORD: ADMIN_PASSWORD,
    };
    // Both start at once on the empty database, as a deployment starts them: migrations, the
    // default tenant, the signing keys and the bootstrap admin are made once.
    const started = await Promise.allSettled([startServer(env), startServer(env)]);
    [A, B] = started.map((r) => (r.status === 'fulfilled' ? r.value : undefined!)) as [Server, Server];
    for (const r of started) if (r.status === 'rejected') throw r.reason;
    admin = await A.login(ADMIN, ADMIN_PASSWORD);
  });

  after(async () => {
    await A?.kill('SIGKILL');
    await B?.kill('SIGKILL');
    await drop?.();
  });

  const createUser = async (username: string, extra: Record<string, string> = {}) => {
    const r = await A.call('POST', '/api/users/', { bearer: admin.access, json: { username, password: PASSWORD, ...extra } });
    assert.equal(r.status, 201, r.text);
    return r.body as { id: string; username: string };
  };
  const me = (s: Server, token: string) => s.call('GET', '/api/users/', { bearer: token });

  it('a logout on A refuses the token on B at once', async () => {
    await createUser('logout-user');
    const t = await A.login('logout-user', PASSWORD);
    assert.equal((await me(B, t.access)).status, 200);
    assert.equal((await A.call('POST', '/api/token/logout', { bearer: t.access })).status, 200);
    const r = await me(B, t.access);
    assert.equal(r.status, 401);
    assert.equal(r.body.detail, 'Token has been revoked');
    assert.equal((await B.call('POST', '/api/token/refresh', { json: { refresh: t.refresh } })).status, 401);
  });

  it('a refresh token rotated on A and reused on B revokes the family on both', async () => {
    await createUser('reuse-user');
    const first = await B.login('reuse-user', PASSWORD);
    const rotated = await A.call('POST', '/api/token/refresh', { json: { refresh: first.refresh } });
    assert.equal(rotated.status, 200, rotated.text);
    assert.equal((await me(B, rotated.body.access)).status, 200);
    const reuse = await B.call('POST', '/api/token/refresh', { json: { refresh: first.refresh } });
    assert.equal(reuse.status, 401, reuse.text);
    for (const s of [A, B]) {
      assert.equal((await s.call('POST', '/api/token/refresh', { json: { refresh: rotated.body.refresh } })).status, 401, `newest refresh token still works on :${s.port}`);
      assert.equal((await me(s, rotated.body.access)).status, 401, `newest access token still works on :${s.port}`);
      assert.equal((await me(s, first.access)).status, 401);
    }
    // Other sign-ins of the user are not touched.
    assert.equal((await me(A, (await B.login('reuse-user', PASSWORD)).access)).status, 200);
  });

  it('a password change on A ends the other sign-ins on B at once', async () => {
    await createUser('pw-user');
    const here = await A.login('pw-user', PASSWORD);
    const other = await B.login('pw-user', PASSWORD);
    assert.equal((await me(B, other.access)).status, 200);
    const r = await A.call('POST', '/api/auth/change-password', { bearer: here.access, json: { current_password: PASSWORD, new_password: 'cluster-new-pw-77aa' } });
    assert.equal(r.status, 201, r.text);
    assert.equal((await me(B, other.access)).status, 401);
    assert.equal((await me(B, here.access)).status, 200);
    assert.equal((await B.call('POST', '/api/token', { json: { username: 'pw-user', password: PASSWORD } })).status, 401);
  });

  it('keys rotated by the CLI: both sign with the new key at once; older tokens still verify on both', async () => {
    await createUser('kid-user');
    const before = [await A.login('kid-user', PASSWORD), await B.login('kid-user', PASSWORD)];
    const oldKid = decodeJwt(before[0]!.access).header.kid;
    assert.equal(decodeJwt(before[1]!.access).header.kid, oldKid);

    const cli = await runCli(['keys', 'rotate'], { DATABASE_URL: env.DATABASE_URL, REDIS_URL: env.REDIS_URL });
    assert.equal(cli.code, 0, cli.output);
    const newKid = /current (\S+),/.exec(cli.output)?.[1];
    assert.ok(newKid && newKid !== oldKid, cli.output);
    assert.doesNotMatch(cli.output, /redis/i, 'the CLI could not tell the instances through Redis');

    const after = [await A.login('kid-user', PASSWORD), await B.login('kid-user', PASSWORD)];
    assert.equal(decodeJwt(after[0]!.access).header.kid, newKid, 'A still signs with the old key');
    assert.equal(decodeJwt(after[1]!.access).header.kid, newKid, 'B still signs with the old key');
    for (const s of [A, B]) {
      for (const t of [...before, ...after]) assert.equal((await me(s, t.access)).status, 200, `a token of kid ${decodeJwt(t.access).header.kid} fails on :${s.port}`);
      const jwks = await s.call('GET', '/.well-known/jwks.json');
      const kids = jwks.body.keys.map((k: any) => k.kid);
      assert.ok(kids.includes(oldKid) && kids.includes(newKid), `JWKS of :${s.port} lacks a key: ${kids.join(', ')}`);
    }
  });

  it('a tenant disabled on A refuses its tokens on B at once', async () => {
    const t = await A.call('POST', '/api/tenants/', { bearer: admin.access, json: { name: 'acme', display_name: 'Acme' } });
    assert.equal(t.status, 201, t.text);
    await createUser('acme-user', { tenant_id: 'acme' });
    const tok = await B.login('acme-user', PASSWORD, { 'x-tenant': 'acme' });
    assert.equal((await me(B, tok.access)).status, 200); // B has the tenant in its cache now
    const off = await A.call('PATCH', '/api/tenants/acme/', { bearer: admin.access, json: { is_active: false } });
    assert.equal(off.status, 200, off.text);
    const r = await me(B, tok.access);
    assert.equal(r.status, 401, `B still accepts a token of the disabled tenant: ${r.text}`);
    assert.equal((await B.call('POST', '/api/token', { json: { username: 'acme-user', password: PASSWORD }, headers: { 'x-tenant': 'acme' } })).status, 400);
    assert.equal((await A.call('PATCH', '/api/tenants/acme/', { bearer: admin.access, json: { is_active: true } })).status, 200);
    assert.equal((await me(B, tok.access)).status, 200);
  });

  it('a setting changed on A applies on B at once', async () => {
    const lifetime = async (s: Server) => {
      const { payload } = decodeJwt((await s.login(ADMIN, ADMIN_PASSWORD)).access);
      return payload.exp - payload.iat;
    };
    assert.equal(await lifetime(B), 300); // B has the tenant's settings in its cache now
    const set = await A.call('POST', '/api/configuration/', { bearer: admin.access, json: { key: 'access_token_lifetime', value: '600' } });
    assert.equal(set.status, 201, set.text);
    assert.equal(await lifetime(B), 600, 'B still issues tokens with the old lifetime');
    const listed = await B.call('GET', '/api/configuration/', { bearer: admin.access });
    assert.equal(listed.body.resources.find((e: any) => e.key === 'access_token_lifetime')?.value, '600');
  });

  it('failed sign-ins counted on both: the account locks, and one address is limited, across instances', async () => {
    await createUser('lock-user');
    await createUser('limit-user');
    for (const [key, value] of [['login_throttle_threshold', '100'], ['login_lockout_threshold', '5'], ['login_ip_limit', '10']]) {
      const r = await A.call('POST', '/api/configuration/', { bearer: admin.access, json: { key, value } });
      assert.equal(r.status, 201, r.text);
    }
    // Per account (counted in the database): 3 failures on A and 2 on B lock it on both.
    const ip1 = randomIp();
    const attempt = (s: Server, username: string, password: string, ip: string) =>
      s.call('POST', '/api/token', { json: { username, password }, headers: { 'x-forwarded-for': ip } });
    for (const s of [A, B, A, B, A]) assert.equal((await attempt(s, 'lock-user', 'wrong-password-1', ip1)).status, 401);
    for (const s of [B, A]) {
      const r = await attempt(s, 'lock-user', PASSWORD, ip1);
      assert.equal(r.status, 403, `the right password was accepted on :${s.port} after the lockout: ${r.text}`);
    }
    // Per address (counted in Redis): 5 failures on A and 5 on B use up the 10 allowed.
    const ip2 = randomIp();
    for (let i = 0; i < 10; i++) assert.equal((await attempt(i % 2 ? B : A, `nobody-${i}`, 'wrong-password-2', ip2)).status, 401);
    for (const s of [A, B]) {
      const r = await attempt(s, 'limit-user', PASSWORD, ip2);
      assert.equal(r.status, 429, `:${s.port} let the address try again: ${r.text}`);
      const wait = Number(r.headers['retry-after']);
      assert.ok(wait > 0 && wait <= 60, `Retry-After ${wait}: a rolling minute`);
    }
    // Another address is not limited.
    assert.equal((await attempt(B, 'limit-user', PASSWORD, randomIp())).status, 200);
  });
});
