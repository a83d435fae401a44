// Builds the whole server over a fresh database of one engine, for API tests through inject().
import type { FastifyInstance, InjectOptions, LightMyRequestResponse } from 'fastify';
import { openStore, type Store } from '../../src/store/index.ts';
import { createArgon2Hasher, createCore, type Clock, type Core, type Mailer, type PasswordHasher, OPERATOR } from '../../src/core/index.ts';
import os from 'node:os';
import path from 'node:path';
import { buildServer } from '../../src/http/server.ts';
import { outboxMailer } from '../../src/mail/transports.ts';
import { requestOrigin } from '../../src/http/request-origin.ts';
import type { Engine } from './engines.ts';
import { noteSecret, noteSecretsPassingThrough, testLogger } from './secret-log.ts';

export const PUBLIC_URL = 'http://latchkey.test';

/** Tests that send no e-mail they read still need a mailer: the outbox folder, in the system's temporary folder. */
export const outboxMailerForTests = () => outboxMailer(path.join(os.tmpdir(), 'latchkey-test-outbox'));

/** Real argon2id with small parameters: the same code path, a fraction of the time. */
export const fastHasher = (): PasswordHasher => createArgon2Hasher({ memoryCost: 1024, timeCost: 1, parallelism: 1 });

/** Counts hash and verify calls, as Django's tests count hasher calls for timing attacks. */
export function countingHasher(inner: PasswordHasher = fastHasher()) {
  const counts = { hash: 0, verify: 0 };
  const hasher: PasswordHasher = {
    hash: (p) => (counts.hash++, inner.hash(p)),
    verify: (h, p) => (counts.verify++, inner.verify(h, p)),
    needsRehash: (h) => inner.needsRehash(h),
    verifyDummy: async (p) => {
      counts.verify++;
      await inner.verifyDummy(p);
    },
  };
  return { hasher, counts };
}

export interface TestApp {
  app: FastifyInstance;
  core: Core;
  store: Store;
  request(opts: InjectOptions): Promise<LightMyRequestResponse>;
  /** Creates a user through the core (no principal): `{ username, password, ... }`. */
  createUser(input: { username: string; password?: string; email?: string; isStaff?: boolean; isSuperuser?: boolean; isActive?: boolean; tenant?: string }): ReturnType<Core['users']['create']>;
  /** Signs in through POST /api/token and returns the pair and a Bearer header. */
  login(username: string, password: string): Promise<{ access: string; refresh: string; headers: { authorization: string } }>;
  close(): Promise<void>;
}

export async function startApp(engine: Engine, opts: { clock?: Clock; hasher?: PasswordHasher; mailer?: Mailer; publicUrl?: string; csrfTrustedOrigins?: string[] } = {}): Promise<TestApp> {
  const db = await engine.create();
  const store = openStore(db.url);
  const publicUrl = opts.publicUrl ?? PUBLIC_URL;
  const core = createCore({ store, publicUrl, clock: opts.clock, hasher: opts.hasher ?? fastHasher(), origin: requestOrigin, mailer: opts.mailer ?? outboxMailerForTests() });
  await core.prepare();
  const app = await buildServer({ core, publicUrl, logger: testLogger(), csrfTrustedOrigins: opts.csrfTrustedOrigins });
  noteSecretsPassingThrough(app);
  return {
    app, core, store,
    request: (o) => app.inject(o),
    createUser: (input) => {
      noteSecret(input.password);
      return core.users.create(OPERATOR, { ...input, password: input.password ?? null });
    },
    async login(username, password) {
      noteSecret(password);
      const r = await app.inject({ method: 'POST', url: '/api/token', payload: { username, password } });
      if (r.statusCode !== 200) throw new Error(`login failed: ${r.statusCode} ${r.body}`);
      const { access, refresh } = r.json();
      noteSecret(access);
      noteSecret(refresh);
      return { access, refresh, headers: { authorization: `Bearer ${access}` } };
    },
    async close() {
      await app.close();
      await store.close();
      await db.drop();
    },
  };
}
