// Seeds a database for the benchmarks: the bench user (staff, so that it may list users) and
// EXTRA users user00001... that share one valid argon2id hash (so seeding pays two hashes, not
// 1,001). Goes through the store's repositories, so the rows are what the service itself writes.
// Idempotent: run it again and it puts the bench user's password and flags back and adds only
// the extra users that are missing. Works before the server starts or beside it (SQLite WAL).
import { openStore } from '../src/store/index.ts';
import os from 'node:os';
import path from 'node:path';
import { createArgon2Hasher, createCore } from '../src/core/index.ts';
import { outboxMailer } from '../src/mail/transports.ts';
import { sha256 } from '../src/core/secrets.ts';

export const BENCH_USER = {
  username: process.env.BENCH_USERNAME ?? 'bench',
  email: process.env.BENCH_EMAIL ?? 'bench@example.com',
  password: process.env.BENCH_PASSWORD ?? 'bench-password-123',
};

/** The confidential client of the OAuth scenarios (client-credentials, introspect); the peer harness's defaults. */
export const BENCH_CLIENT = {
  id: process.env.BENCH_CLIENT_ID ?? 'bench-client',
  secret: process.env.BENCH_CLIENT_SECRET ?? 'bench-client-secret-7c1e5a9d3b2f4e6a8c0d1f3b5a7e9c2d',
  scope: 'api:read',
};

export interface SeedResult {
  /** The bench user's UUID. */
  benchId: string;
  /** Users in the default tenant after seeding. */
  total: number;
}

/**
 * @param benchId a fixed UUID for the bench user (the peer harness needs to know it beforehand
 *   to call GET /api/users/{id}/); a random one when omitted.
 */
export async function seedBench(databaseUrl: string, opts: { extraUsers: number; benchId?: string; publicUrl?: string }): Promise<SeedResult> {
  const store = openStore(databaseUrl);
  try {
    const core = createCore({ store, publicUrl: opts.publicUrl ?? 'http://127.0.0.1', mailer: outboxMailer(path.join(os.tmpdir(), 'latchkey-bench-outbox')) });
    await core.prepare(); // schema, default tenant, signing keys: a no-op when the server made them
    const tenant = await core.tenants.ensureDefault();
    const hasher = createArgon2Hasher();
    const now = Date.now();

    let bench = await store.read.users.findByUsername(tenant.pk, BENCH_USER.username);
    if (!bench) {
      const passwordHash = await hasher.hash(BENCH_USER.password);
      await store.transaction((r) => r.users.insert({
        id: opts.benchId ?? crypto.randomUUID(), tenantPk: tenant.pk, username: BENCH_USER.username, email: BENCH_USER.email,
        firstName: '', lastName: '', passwordHash, isActive: true, isStaff: true, isSuperuser: false, lastLogin: null,
        passwordChangedAt: now, profile: {}, emm: {}, avatar: null, emailVerified: false, createdAt: now, updatedAt: now,
      }));
    } else {
      const ok = bench.passwordHash !== null && (await hasher.verify(bench.passwordHash, BENCH_USER.password));
      await store.transaction(async (r) => {
        await r.users.update(bench!.pk, { isActive: true, isStaff: true, ...(ok ? {} : { passwordHash: await hasher.hash(BENCH_USER.password), passwordChangedAt: now, updatedAt: now }) });
      });
      if (opts.benchId && bench.id !== opts.benchId) {
        // Nothing refers to a user by its UUID (foreign keys use pk); its tokens stop working.
        await store.db.updateTable('users').set({ id: opts.benchId }).where('pk', '=', bench.pk).execute();
      }
    }
    bench = (await store.read.users.findByUsername(tenant.pk, BENCH_USER.username))!;

    const tag = (i: number) => `user${String(i).padStart(5, '0')}`;
    const have = new Set(
      (await store.db.selectFrom('users').select('username').where('tenant_pk', '=', tenant.pk).where('username', 'like', 'user%').execute())
        .map((r) => r.username),
    );
    const missing = Array.from({ length: opts.extraUsers }, (_, i) => tag(i + 1)).filter((u) => !have.has(u));
    if (missing.length > 0) {
      const shared = await hasher.hash('extra-user-password-123');
      await store.transaction(async (r) => {
        for (const username of missing) {
          await r.users.insert({
            id: crypto.randomUUID(), tenantPk: tenant.pk, username, email: `${username}@example.com`, firstName: '', lastName: '',
            passwordHash: shared, isActive: true, isStaff: false, isSuperuser: false, lastLogin: null, passwordChangedAt: now,
            profile: {}, emm: {}, avatar: null, emailVerified: false, createdAt: now, updatedAt: now,
          });
        }
      });
    }
    // The bench client: client_credentials with the scope api:read (its secret kept as SHA-256, as the service keeps them).
    const client = await store.read.clients.find(BENCH_CLIENT.id);
    await store.transaction(async (r) => {
      if (!client) {
        await r.clients.insert({
          clientId: BENCH_CLIENT.id, tenantPk: tenant.pk, name: 'Bench client', secretHash: sha256(BENCH_CLIENT.secret),
          grantTypes: ['client_credentials'], redirectUris: [], scopes: [BENCH_CLIENT.scope], firstParty: false, createdAt: now, updatedAt: now,
        });
      } else {
        await r.clients.update(client.pk, { secretHash: sha256(BENCH_CLIENT.secret), grantTypes: ['client_credentials'], scopes: [BENCH_CLIENT.scope], updatedAt: now });
      }
    });
    const [{ n }] = await store.db.selectFrom('users').where('tenant_pk', '=', tenant.pk).select((eb) => eb.fn.countAll<number>().as('n')).execute();
    return { benchId: bench.id, total: Number(n) };
  } finally {
    await store.close();
  }
}
