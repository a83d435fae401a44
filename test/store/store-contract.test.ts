// The store contract, run against every engine: migrations, repositories, unique constraints,
// the single-use guarantee of consumeRefresh, and all-or-nothing transactions. Two of the core's
// narrow interfaces are held to their cases on every implementation there is: the counters
// (in memory, in the database on each engine, in Redis) and the pending sign-ins (in memory, and
// in the database on each engine).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { engines, type Engine } from '../helpers/engines.ts';
import { openStore, isUniqueViolation, type Store } from '../../src/store/index.ts';
import { migrations } from '../../src/store/migrations/index.ts';
import type { NewUser } from '../../src/store/repos/users.ts';
import { ManualClock, type Tenant } from '../../src/core/index.ts';
import { databaseCounters, localCounters, redisCounters, type Counters } from '../../src/store/counters.ts';
import { memoryPendingFlows } from '../../src/store/memory/pending-flows.ts';
import type { PendingFlowRecord, PendingFlowsRepo } from '../../src/core/sign-in/pending-flows.ts';
import { loadRedis } from '../../src/optional-modules.ts';

const NOW = Date.UTC(2026, 0, 1);

/** A database URL that a second connection can reopen (an in-memory SQLite cannot be). */
async function reopenableDatabase(engine: Engine): Promise<{ url: string; drop(): Promise<void> }> {
  if (engine.name === 'postgres') return engine.create();
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-store-'));
  return { url: `sqlite:${path.join(dir, 'db.sqlite')}`, drop: async () => fs.rmSync(dir, { recursive: true, force: true }) };
}

function newUser(tenantPk: number, username: string, extra: Partial<NewUser> = {}): NewUser {
  return {
    id: crypto.randomUUID(), tenantPk, username, email: `${username}@example.com`, firstName: 'First', lastName: 'Last',
    passwordHash: null, isActive: true, isStaff: false, isSuperuser: false, lastLogin: null, passwordChangedAt: null,
    profile: {}, emm: {}, avatar: null, emailVerified: false, createdAt: NOW, updatedAt: NOW, ...extra,
  };
}

const newTenant = (name: string): Omit<Tenant, 'pk'> => ({
  id: crypto.randomUUID(), name, displayName: name.toUpperCase(), isActive: true, createdAt: NOW, updatedAt: NOW,
});

const sha = (s: string) => crypto.createHash('sha256').update(s).digest('hex');

for (const { engine, skip } of engines) {
  describe(`store migrations [${engine.name}]`, { skip }, () => {
    let db: { url: string; drop(): Promise<void> };
    before(async () => { db = await reopenableDatabase(engine); });
    after(async () => { await db?.drop(); });

    it('applies every migration on a fresh database, then nothing on a second run or a new connection', async () => {
      const store = openStore(db.url);
      try {
        const applied = await store.migrate();
        assert.deepEqual(applied, Object.keys(migrations(engine.name)));
        assert.deepEqual(await store.migrate(), [], 'a second run applies nothing');
        // The schema is there: every table answers.
        for (const table of ['tenants', 'users', 'groups', 'group_members', 'settings', 'signing_keys', 'token_families', 'refresh_tokens', 'sessions'] as const) {
          const rows = await store.db.selectFrom(table).selectAll().execute();
          assert.deepEqual(rows, [], `${table} exists and is empty`);
        }
      } finally {
        await store.close();
      }
      // A restarted server (a new connection) finds the schema current.
      const again = openStore(db.url);
      try {
        assert.deepEqual(await again.migrate(), []);
      } finally {
        await again.close();
      }
    });
  });

  describe(`store repositories [${engine.name}]`, { skip }, () => {
    let db: { url: string; drop(): Promise<void> };
    let store: Store;
    let tenant: Tenant;
    let other: Tenant;

    before(async () => {
      db = await engine.create();
      store = openStore(db.url);
      await store.migrate();
      tenant = await store.transaction((r) => r.tenants.insert(newTenant('acme')));
      other = await store.transaction((r) => r.tenants.insert(newTenant('globex')));
    });
    after(async () => {
      await store?.close();
      await db?.drop();
    });

    it('round-trips tenants', async () => {
      assert.equal(typeof tenant.pk, 'number');
      const found = await store.read.tenants.findByName('acme');
      assert.deepEqual(found, tenant);
      assert.deepEqual(await store.read.tenants.findByPk(other.pk), other);
      assert.equal(await store.read.tenants.findByName('nope'), undefined);
    });

    it('round-trips a user with every field, flags as booleans and times as numbers', async () => {
      const input = newUser(tenant.pk, 'alice', {
        passwordHash: '$argon2id$v=19$m=1024,t=1,p=1$c2FsdA$aGFzaA', isStaff: true, isSuperuser: false, isActive: true,
        lastLogin: NOW + 5, passwordChangedAt: NOW + 6, profile: { lang: 'fr' }, emm: { device: 'x' }, avatar: 'https://e.example/a.png',
        emailVerified: true,
      });
      const pk = await store.transaction((r) => r.users.insert(input));
      assert.equal(typeof pk, 'number');
      const expected = { ...input, pk, tenantName: 'acme' };
      const byId = await store.read.users.findById(input.id);
      assert.deepEqual(byId, expected);
      assert.deepEqual(await store.read.users.findByPk(pk), expected);
      assert.deepEqual(await store.read.users.findByUsername(tenant.pk, 'alice'), expected);
      assert.equal(await store.read.users.findByUsername(other.pk, 'alice'), undefined, 'usernames are looked up within a tenant');
      assert.equal(typeof byId!.createdAt, 'number');
      assert.equal(byId!.isStaff, true);
      assert.equal(byId!.isSuperuser, false);
    });

    it('updates and deletes users', async () => {
      const u = newUser(tenant.pk, 'bob');
      const pk = await store.transaction((r) => r.users.insert(u));
      await store.transaction((r) => r.users.update(pk, { firstName: 'Robert', isActive: false, isStaff: true, updatedAt: NOW + 10, passwordHash: 'h' }));
      const got = (await store.read.users.findByPk(pk))!;
      assert.equal(got.firstName, 'Robert');
      assert.equal(got.isActive, false);
      assert.equal(got.isStaff, true);
      assert.equal(got.updatedAt, NOW + 10);
      assert.equal(got.passwordHash, 'h');
      assert.equal(got.lastName, 'Last', 'fields not named are kept');
      await store.transaction((r) => r.users.delete(pk));
      assert.equal(await store.read.users.findByPk(pk), undefined);
    });

    it('lists a tenant\'s users by pk with a count, limit and offset', async () => {
      const t = await store.transaction((r) => r.tenants.insert(newTenant('listing')));
      const pks: number[] = [];
      for (let i = 0; i < 5; i++) pks.push(await store.transaction((r) => r.users.insert(newUser(t.pk, `l${i}`))));
      const page = await store.read.users.list(t.pk, { offset: 1, limit: 2 });
      assert.equal(page.count, 5);
      assert.deepEqual(page.items.map((u) => u.pk), pks.slice(1, 3));
      const only = await store.read.users.list(t.pk, { offset: 0, limit: 100 }, pks[3]);
      assert.equal(only.count, 1);
      assert.deepEqual(only.items.map((u) => u.username), ['l3']);
    });

    it('refuses a second user with the same username in one tenant, allows it in another', async () => {
      await store.transaction((r) => r.users.insert(newUser(tenant.pk, 'carol')));
      await assert.rejects(
        store.transaction((r) => r.users.insert(newUser(tenant.pk, 'carol'))),
        (err) => isUniqueViolation(err),
      );
      const pk = await store.transaction((r) => r.users.insert(newUser(other.pk, 'carol')));
      assert.equal((await store.read.users.findByPk(pk))!.tenantName, 'globex');
    });

    it('round-trips groups and memberships; refuses a duplicate group name in one tenant', async () => {
      const g = await store.transaction((r) => r.groups.insert({ id: crypto.randomUUID(), tenantPk: tenant.pk, name: 'admins', createdAt: NOW, updatedAt: NOW }));
      assert.deepEqual(await store.read.groups.findById(g.id), g);
      assert.deepEqual(await store.read.groups.findByName(tenant.pk, 'admins'), g);
      await assert.rejects(
        store.transaction((r) => r.groups.insert({ id: crypto.randomUUID(), tenantPk: tenant.pk, name: 'admins', createdAt: NOW, updatedAt: NOW })),
        (err) => isUniqueViolation(err),
      );
      // The same name in another tenant is another group.
      await store.transaction((r) => r.groups.insert({ id: crypto.randomUUID(), tenantPk: other.pk, name: 'admins', createdAt: NOW, updatedAt: NOW }));

      const dave = await store.transaction((r) => r.users.insert(newUser(tenant.pk, 'dave')));
      const erin = await store.transaction((r) => r.users.insert(newUser(tenant.pk, 'erin')));
      await store.transaction(async (r) => {
        await r.groups.addMember(g.pk, dave, NOW);
        await r.groups.addMember(g.pk, erin, NOW);
      });
      await assert.rejects(store.transaction((r) => r.groups.addMember(g.pk, dave, NOW)), (err) => isUniqueViolation(err), 'a membership is unique');
      assert.equal(await store.read.groups.isMember(g.pk, dave), true);
      const members = await store.read.groups.members(g.pk, { offset: 0, limit: 10 });
      assert.equal(members.count, 2);
      assert.deepEqual(members.items.map((u) => u.username), ['dave', 'erin']);
      assert.deepEqual(await store.read.groups.namesForUser(dave), ['admins']);

      assert.equal(await store.transaction((r) => r.groups.removeMember(g.pk, dave)), true);
      assert.equal(await store.transaction((r) => r.groups.removeMember(g.pk, dave)), false, 'removing a non-member reports it');
      assert.equal(await store.read.groups.isMember(g.pk, dave), false);

      await store.transaction((r) => r.groups.rename(g.pk, 'operators', NOW + 1));
      assert.equal((await store.read.groups.findById(g.id))!.name, 'operators');

      // Deleting a user removes its memberships (foreign keys cascade on both engines).
      await store.transaction((r) => r.users.delete(erin));
      assert.equal((await store.read.groups.members(g.pk, { offset: 0, limit: 10 })).count, 0);
      await store.transaction((r) => r.groups.delete(g.pk));
      assert.equal(await store.read.groups.findById(g.id), undefined);
    });

    it('round-trips settings per tenant, replacing a key on a second put', async () => {
      await store.transaction((r) => r.settings.put(tenant.pk, 'access_token_lifetime', '60', NOW));
      await store.transaction((r) => r.settings.put(tenant.pk, 'password_min_length', '10', NOW));
      await store.transaction((r) => r.settings.put(tenant.pk, 'access_token_lifetime', '90', NOW + 1));
      assert.deepEqual(await store.read.settings.all(tenant.pk), { access_token_lifetime: '90', password_min_length: '10' });
      assert.deepEqual(await store.read.settings.all(other.pk), {}, 'settings belong to one tenant');
    });

    it('round-trips sessions and refresh-token families', async () => {
      const userPk = await store.transaction((r) => r.users.insert(newUser(tenant.pk, 'frank')));
      const session = { id: 'sid1', secret_hash: sha('s'), csrf_hash: sha('c'), tenant_pk: tenant.pk, user_pk: userPk, created_at: NOW, expires_at: NOW + 1000, authenticated_at: NOW, amr: 'pwd otp' };
      await store.transaction((r) => r.sessions.insert(session));
      assert.deepEqual(await store.read.sessions.find('sid1'), session);
      await store.transaction((r) => r.sessions.delete('sid1'));
      assert.equal(await store.read.sessions.find('sid1'), undefined);

      const family = crypto.randomUUID();
      await store.transaction(async (r) => {
        await r.tokens.createFamily({ id: family, tenant_pk: tenant.pk, user_pk: userPk, created_at: NOW, client_pk: null, scope: null });
        await r.tokens.insertRefresh({ token_hash: sha('r1'), family_id: family, created_at: NOW, expires_at: NOW + 1000 });
      });
      const found = await store.read.tokens.findRefresh({ familyId: family, hash: sha('r1') });
      assert.equal(found?.family_id, family);
      assert.equal(found?.user_pk, userPk);
      assert.equal(found?.revoked_at, null);
      assert.equal(found?.used_at, null);
      await store.transaction((r) => r.tokens.revokeFamily(family, 'test', NOW + 5));
      assert.equal((await store.read.tokens.findRefresh({ familyId: family, hash: sha('r1') }))?.revoked_at, NOW + 5);
      assert.equal(await store.read.tokens.findRefresh({ familyId: crypto.randomUUID(), hash: sha('r1') }), undefined, 'the hash under another family is nothing');
      assert.equal(await store.read.tokens.findRefresh({ hash: sha('r1') }), undefined, 'nor is it a token of the earlier format');
      assert.equal((await store.read.tokens.findFamily(family))?.revoked_reason, 'test');
    });

    it('consumeRefresh lets exactly one of many concurrent calls win', async () => {
      const userPk = await store.transaction((r) => r.users.insert(newUser(tenant.pk, 'racer')));
      const family = crypto.randomUUID();
      await store.transaction(async (r) => {
        await r.tokens.createFamily({ id: family, tenant_pk: tenant.pk, user_pk: userPk, created_at: NOW, client_pk: null, scope: null });
        await r.tokens.insertRefresh({ token_hash: sha('race'), family_id: family, created_at: NOW, expires_at: NOW + 1000 });
      });
      const results = await Promise.all(
        Array.from({ length: 8 }, (_, i) => store.transaction((r) => r.tokens.consumeRefresh({ family_id: family, token_hash: sha('race'), legacy: false }, NOW + i))),
      );
      assert.equal(results.filter(Boolean).length, 1, `one winner, got ${JSON.stringify(results)}`);
      assert.equal(await store.read.tokens.consumeRefresh({ family_id: family, token_hash: sha('race'), legacy: false }, NOW + 100), false, 'a used token stays used');
    });

    it('consumeRefresh: a call that waits on an open transaction which consumes the token loses', async () => {
      const userPk = await store.transaction((r) => r.users.insert(newUser(tenant.pk, 'racer2')));
      const family = crypto.randomUUID();
      await store.transaction(async (r) => {
        await r.tokens.createFamily({ id: family, tenant_pk: tenant.pk, user_pk: userPk, created_at: NOW, client_pk: null, scope: null });
        await r.tokens.insertRefresh({ token_hash: sha('race2'), family_id: family, created_at: NOW, expires_at: NOW + 1000 });
      });
      let release!: () => void;
      const held = new Promise<void>((res) => { release = res; });
      let consumedInA!: () => void;
      const aConsumed = new Promise<void>((res) => { consumedInA = res; });
      // A consumes inside a transaction and keeps it open; B tries meanwhile; then A commits.
      const a = store.transaction(async (r) => {
        const ok = await r.tokens.consumeRefresh({ family_id: family, token_hash: sha('race2'), legacy: false }, NOW + 1);
        consumedInA();
        await held;
        return ok;
      });
      await aConsumed;
      const b = store.transaction((r) => r.tokens.consumeRefresh({ family_id: family, token_hash: sha('race2'), legacy: false }, NOW + 2));
      setTimeout(release, 20);
      assert.deepEqual(await Promise.all([a, b]), [true, false]);
    });

    it('a transaction inside a transaction joins it; afterCommit waits for the outer commit and is dropped on rollback', async () => {
      const seen: string[] = [];
      let inside: unknown;
      const result = await store.transaction(async (outer) => {
        inside = outer;
        const inner = await store.transaction(async (r) => {
          assert.equal(r, outer, 'the inner call runs on the outer transaction');
          assert.equal(store.read, outer, 'reads inside a transaction go through it');
          assert.equal(store.inTransaction(), true);
          await store.afterCommit(() => void seen.push('committed'));
          return 'inner';
        });
        assert.deepEqual(seen, [], 'nothing runs before the outer commit');
        return inner;
      });
      assert.equal(result, 'inner');
      assert.deepEqual(seen, ['committed']);
      assert.equal(store.inTransaction(), false);
      assert.notEqual(store.read, inside, 'outside a transaction, reads are not a transaction\'s');

      await assert.rejects(store.transaction(async () => {
        await store.afterCommit(() => void seen.push('rolled back'));
        throw new Error('roll back');
      }), /roll back/);
      assert.deepEqual(seen, ['committed'], 'a rolled-back transaction runs none of its afterCommit work');
      await store.afterCommit(() => void seen.push('at once'));
      assert.deepEqual(seen, ['committed', 'at once'], 'outside a transaction it runs at once');
    });

    it('a read through store.read inside a transaction uses it: no wait on the held connection, and its own writes are seen', async () => {
      const u = newUser(tenant.pk, 'inside-reader');
      const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('the read waited for the transaction: a deadlock on SQLite')), 3000).unref());
      const found = await Promise.race([
        store.transaction(async (r) => {
          await r.users.insert(u);
          // What a cache that misses does in the middle of a request's transaction.
          return store.read.users.findById(u.id);
        }),
        timeout,
      ]);
      assert.equal((found as { username: string } | undefined)?.username, 'inside-reader');
    });

    it('a transaction that throws leaves no partial write', async () => {
      const u = newUser(tenant.pk, 'ghost');
      await assert.rejects(
        store.transaction(async (r) => {
          await r.users.insert(u);
          await r.settings.put(tenant.pk, 'registration_enabled', 'false', NOW);
          assert.ok(await r.users.findById(u.id), 'visible inside the transaction');
          throw new Error('boom');
        }),
        /boom/,
      );
      assert.equal(await store.read.users.findById(u.id), undefined);
      assert.equal(await store.read.users.findByUsername(tenant.pk, 'ghost'), undefined);
      assert.equal((await store.read.settings.all(tenant.pk)).registration_enabled, undefined);
      // A failing statement rolls back what came before it in the same transaction, too.
      const v = newUser(tenant.pk, 'ghost2');
      await assert.rejects(
        store.transaction(async (r) => {
          await r.users.insert(v);
          await r.users.insert(newUser(tenant.pk, 'ghost2')); // unique violation
        }),
        (err) => isUniqueViolation(err),
      );
      assert.equal(await store.read.users.findById(v.id), undefined);
      // And the store still works afterwards.
      await store.transaction((r) => r.users.insert(v));
      assert.ok(await store.read.users.findById(v.id));
    });

    it('look-ups compiled once answer for the values of each call, in and out of transactions', async () => {
      const [a, b] = await store.transaction(async (r) => [
        await r.users.insert(newUser(other.pk, 'prep-a')), await r.users.insert(newUser(other.pk, 'prep-b')),
      ]);
      const ua = (await store.read.users.findByPk(a))!;
      const ub = (await store.read.users.findByPk(b))!;
      assert.deepEqual([ua.username, ub.username, ua.tenantName], ['prep-a', 'prep-b', 'globex']);
      for (let i = 0; i < 3; i++) {
        assert.equal((await store.read.users.findById(i % 2 ? ub.id : ua.id))?.pk, i % 2 ? b : a);
        assert.equal((await store.read.users.findByUsername(other.pk, i % 2 ? 'prep-b' : 'prep-a'))?.pk, i % 2 ? b : a);
        assert.equal(await store.transaction((r) => r.users.findById(i % 2 ? ua.id : ub.id)).then((u) => u?.pk), i % 2 ? a : b);
      }
      assert.equal(await store.read.users.findByUsername(tenant.pk, 'prep-a'), undefined, 'another tenant: not found');
      assert.equal(await store.read.users.findById(crypto.randomUUID()), undefined);
      // Group names: each user's own, sorted.
      await store.transaction(async (r) => {
        const g1 = await r.groups.insert({ id: crypto.randomUUID(), tenantPk: other.pk, name: 'zeta', createdAt: NOW, updatedAt: NOW });
        const g2 = await r.groups.insert({ id: crypto.randomUUID(), tenantPk: other.pk, name: 'alpha', createdAt: NOW, updatedAt: NOW });
        await r.groups.addMember(g1.pk, a, NOW);
        await r.groups.addMember(g2.pk, a, NOW);
        await r.groups.addMember(g1.pk, b, NOW);
      });
      assert.deepEqual(await store.read.groups.namesForUser(a), ['alpha', 'zeta']);
      assert.deepEqual(await store.read.groups.namesForUser(b), ['zeta']);
      // Pages: the limit and offset of each call.
      const all = await store.read.users.list(other.pk, { limit: 100, offset: 0 });
      const second = await store.read.users.list(other.pk, { limit: 1, offset: 1 });
      assert.equal(second.count, all.count);
      assert.deepEqual(second.items.map((u) => u.pk), [all.items[1]!.pk]);
      assert.equal(await store.read.tokens.findRefresh({ hash: sha('no such token') }), undefined);
      assert.equal(await store.read.tokens.findRefresh({ familyId: crypto.randomUUID(), hash: sha('no such token') }), undefined);
    });

    it('preparedQuery refuses a query that does not take an argument as a parameter', async () => {
      const { preparedQuery } = await import('../../src/store/prepared.ts');
      // The argument names a column: it is part of the SQL text, which would then be reused for another column.
      const bad = preparedQuery((d, column: 'email' | 'username') => d.selectFrom('users').select('pk').where(column, '=', 'x'));
      await assert.rejects(bad(store.db, store.engine, 'email'), /argument 0 is not a parameter/);
    });

    it('isUniqueViolation is false for other errors', async () => {
      assert.equal(isUniqueViolation(new Error('x')), false);
      assert.equal(isUniqueViolation(null), false);
      // A foreign-key violation is not a unique violation.
      await assert.rejects(
        store.transaction((r) => r.users.insert(newUser(999_999, 'orphan'))),
        (err) => !isUniqueViolation(err),
      );
    });
  });
}

// --- the counters: one contract, every implementation ------------------------------------------

interface CountersSubject {
  counters: Counters;
  /** The implementation's clock, when the test can move it (Redis keeps its own time). */
  clock?: ManualClock;
  close(): Promise<void>;
}

const REDIS_URL = process.env.TEST_REDIS_URL;

const counterSubjects: Array<{ name: string; skip: string | false; open(): Promise<CountersSubject> }> = [
  {
    name: 'memory', skip: false,
    async open() {
      const clock = new ManualClock(NOW);
      return { counters: localCounters(() => clock.now()), clock, close: async () => {} };
    },
  },
  ...engines.map(({ engine, skip }) => ({
    name: `database ${engine.name}`, skip,
    async open(): Promise<CountersSubject> {
      const db = await engine.create();
      const store = openStore(db.url);
      await store.migrate();
      const clock = new ManualClock(NOW);
      return { counters: databaseCounters(store, () => clock.now()), clock, close: async () => { await store.close(); await db.drop(); } };
    },
  })),
  {
    name: 'redis', skip: REDIS_URL ? false : 'TEST_REDIS_URL is not set: the Redis counters skipped',
    async open() {
      const redis = new (loadRedis())(REDIS_URL!, { maxRetriesPerRequest: 1 });
      // No silent fallback: a case passes only on Redis's own answers.
      const refuse = async (): Promise<never> => { throw new Error('Redis did not answer'); };
      const counters = redisCounters(redis, () => {}, { incr: refuse, get: refuse, counts: refuse });
      return { counters, close: async () => void redis.disconnect() };
    },
  },
];

for (const subject of counterSubjects) {
  describe(`counters contract [${subject.name}]`, { skip: subject.skip }, () => {
    let s: CountersSubject;
    // Keys of this run alone (a Redis is shared by the runs).
    const key = (name: string) => `contract:${crypto.randomUUID()}:${name}`;
    before(async () => { s = await subject.open(); });
    after(async () => { await s?.close(); });

    it('incr counts from one and answers the seconds left of the window', async () => {
      const k = key('a');
      assert.deepEqual(await s.counters.incr(k, 10), { count: 1, ttl: 10 });
      const second = await s.counters.incr(k, 10);
      assert.equal(second.count, 2);
      assert.ok(second.ttl >= 9 && second.ttl <= 10, `the window runs from the first count: ttl ${second.ttl}`);
    });

    it('get answers a key\'s count and seconds left; a key never counted is zero', async () => {
      const k = key('g');
      await s.counters.incr(k, 30);
      await s.counters.incr(k, 30);
      const got = await s.counters.get(k);
      assert.equal(got.count, 2);
      assert.ok(got.ttl >= 29 && got.ttl <= 30, `ttl ${got.ttl}`);
      assert.deepEqual(await s.counters.get(key('none')), { count: 0, ttl: 0 });
    });

    it('counts answers many keys in their order, zero for a key with none', async () => {
      const [x, none, y] = [key('x'), key('none'), key('y')];
      await s.counters.incr(x, 10);
      await s.counters.incr(x, 10);
      await s.counters.incr(y, 10);
      assert.deepEqual(await s.counters.counts([x, none, y]), [2, 0, 1]);
      assert.deepEqual(await s.counters.counts([]), []);
    });

    it('an expired counter reads zero and starts again at one', { skip: subject.name === 'redis' ? 'Redis keeps its own time: the case would have to sleep' : false }, async () => {
      const k = key('e');
      await s.counters.incr(k, 10);
      await s.counters.incr(k, 10);
      s.clock!.advance(10_000);
      assert.deepEqual(await s.counters.counts([k]), [0], 'expired at the end of its window');
      assert.deepEqual(await s.counters.get(k), { count: 0, ttl: 0 });
      assert.deepEqual(await s.counters.incr(k, 10), { count: 1, ttl: 10 }, 'an expired counter starts again');
    });
  });
}

// --- pending sign-ins: one contract, every implementation --------------------------------------

interface FlowsSubject {
  /** Runs `fn` as the sign-in flow does: in a transaction of the store, when there is one. */
  run<T>(fn: (repo: PendingFlowsRepo) => Promise<T>): Promise<T>;
  /** A tenant and a user the flows may name (the database holds them to foreign keys). */
  owner: { tenantPk: number; userPk: number };
  close(): Promise<void>;
}

const flowSubjects: Array<{ name: string; skip: string | false; open(): Promise<FlowsSubject> }> = [
  {
    name: 'memory', skip: false,
    async open() {
      const repo = memoryPendingFlows();
      return { run: (fn) => fn(repo), owner: { tenantPk: 1, userPk: 1 }, close: async () => {} };
    },
  },
  ...engines.map(({ engine, skip }) => ({
    name: `database ${engine.name}`, skip,
    async open(): Promise<FlowsSubject> {
      const db = await engine.create();
      const store = openStore(db.url);
      await store.migrate();
      const t = await store.transaction((r) => r.tenants.insert(newTenant('flows')));
      const userPk = await store.transaction((r) => r.users.insert(newUser(t.pk, 'flow-owner')));
      return {
        run: (fn) => store.transaction((r) => fn(r.pendingFlows)), owner: { tenantPk: t.pk, userPk },
        close: async () => { await store.close(); await db.drop(); },
      };
    },
  })),
];

for (const subject of flowSubjects) {
  describe(`pending sign-ins contract [${subject.name}]`, { skip: subject.skip }, () => {
    let s: FlowsSubject;
    before(async () => { s = await subject.open(); });
    after(async () => { await s?.close(); });
    const flow = (token: string, extra: Partial<PendingFlowRecord> = {}): PendingFlowRecord => ({
      tokenHash: sha(token), tenantPk: s.owner.tenantPk, userPk: s.owner.userPk, clientPk: null, scopes: ['read', 'write'],
      issue: { kind: 'token_pair', refreshFormat: 'jwt' }, method: 'password', step: 'verify_email', amr: ['pwd'], createdAt: NOW, expiresAt: NOW + 900_000, ...extra,
    });

    it('round-trips a pending sign-in, its issue and scopes as they were', async () => {
      const a = flow('round-trip');
      const b = flow('round-trip-2', { scopes: [], issue: { kind: 'session_and_key' } });
      await s.run((r) => r.insert(a));
      await s.run((r) => r.insert(b));
      assert.deepEqual(await s.run((r) => r.find(a.tokenHash)), a);
      assert.deepEqual(await s.run((r) => r.find(b.tokenHash)), b);
    });

    it('an unknown sign-in is not found and cannot be consumed', async () => {
      assert.equal(await s.run((r) => r.find(sha('never stored'))), undefined);
      assert.equal(await s.run((r) => r.consume(sha('never stored'), NOW)), false);
    });

    it('consume uses a sign-in up once: then it is not found, and a second consume is refused', async () => {
      const f = flow('once');
      await s.run((r) => r.insert(f));
      assert.equal(await s.run((r) => r.consume(f.tokenHash, NOW + 1)), true);
      assert.equal(await s.run((r) => r.find(f.tokenHash)), undefined);
      assert.equal(await s.run((r) => r.consume(f.tokenHash, NOW + 2)), false);
    });

    it('consume lets exactly one of many concurrent calls win', async () => {
      const f = flow('race');
      await s.run((r) => r.insert(f));
      const results = await Promise.all(Array.from({ length: 8 }, (_, i) => s.run((r) => r.consume(f.tokenHash, NOW + i))));
      assert.equal(results.filter(Boolean).length, 1, `one winner, got ${JSON.stringify(results)}`);
    });

    it('deleteExpired removes the sign-ins whose time is up and keeps the others', async () => {
      const old = flow('expired', { expiresAt: NOW + 10 });
      const live = flow('live', { expiresAt: NOW + 1_000 });
      await s.run(async (r) => { await r.insert(old); await r.insert(live); });
      await s.run((r) => r.deleteExpired(NOW + 10));
      assert.equal(await s.run((r) => r.find(old.tokenHash)), undefined);
      assert.deepEqual(await s.run((r) => r.find(live.tokenHash)), live);
    });
  });
}
