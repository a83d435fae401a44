// The core over a fresh database of one engine, with no HTTP at all.
import { sql } from 'kysely';
import { openStore, type Store } from '../../src/store/index.ts';
import { createCore, ManualClock, DomainError, type SecretBox, type Core, type PasswordHasher, type Principal, type ErrorCode, OPERATOR } from '../../src/core/index.ts';
import { fastHasher, outboxMailerForTests } from '../helpers/app.ts';
import type { Engine } from '../helpers/engines.ts';

export const PUBLIC_URL = 'http://latchkey.test';
export const PASSWORD = 'correct-horse-battery';

export interface CoreFixture {
  core: Core;
  store: Store;
  clock: ManualClock;
  /** Creates a user in the default tenant with PASSWORD (or the one given). */
  user(username: string, extra?: { password?: string | null; isActive?: boolean; isStaff?: boolean; isSuperuser?: boolean }): ReturnType<Core['users']['create']>;
  /** Signs in and returns the pair with the Principal its access token stands for. */
  login(username: string, password?: string): Promise<{ access: string; refresh: string; principal: Principal }>;
  close(): Promise<void>;
}

export async function startCore(engine: Engine, opts: { hasher?: PasswordHasher; clock?: ManualClock; secretBox?: SecretBox } = {}): Promise<CoreFixture> {
  const db = await engine.create();
  const store = openStore(db.url);
  const clock = opts.clock ?? new ManualClock();
  const core = createCore({ store, publicUrl: PUBLIC_URL, clock, hasher: opts.hasher ?? fastHasher(), mailer: outboxMailerForTests(), secretBox: opts.secretBox });
  await core.prepare();
  return {
    core, store, clock,
    user: (username, extra = {}) => core.users.create(OPERATOR, { username, ...extra, password: extra.password === undefined ? PASSWORD : extra.password }),
    async login(username, password = PASSWORD) {
      const pair = await obtainPair(core, undefined, username, password);
      return { access: pair.access, refresh: pair.refresh, principal: await core.credentials.accessToken(pair.access) };
    },
    async close() {
      await store.close();
      await db.drop();
    },
  };
}

/** Signs in by password through the sign-in flow, for a token pair (as v1 `POST /api/token` does). */
export async function obtainPair(core: Core, tenant: string | undefined, username: string, password: string, opts: { refreshFormat?: 'jwt' | 'opaque' } = {}) {
  const { issued } = await core.signIn.now({
    tenant, factor: { method: 'password', by: 'username', identifier: username, password }, issue: { kind: 'token_pair', refreshFormat: opts.refreshFormat },
  });
  return issued;
}

/** Signs in by password for one request, as HTTP Basic does: the user, or the refusal. */
export async function verifyPassword(core: Core, tenant: string | undefined, username: string, password: string) {
  const { user } = await core.signIn.now({ tenant, factor: { method: 'password', by: 'username', identifier: username, password }, issue: { kind: 'request' } });
  return user;
}

/** Asserts that `promise` rejects with a DomainError of `code`. */
export async function rejectsWith(promise: Promise<unknown>, code: ErrorCode, message?: string): Promise<DomainError> {
  try {
    await promise;
  } catch (err) {
    if (!(err instanceof DomainError)) throw new Error(`${message ?? ''} expected DomainError ${code}, got ${String(err)}`, { cause: err });
    if (err.code !== code) throw new Error(`${message ?? ''} expected ${code}, got ${err.code}: ${err.message}`, { cause: err });
    return err;
  }
  throw new Error(`${message ?? ''} expected DomainError ${code}, but it resolved`);
}

/** The decoded payload and header of a JWT (no check). */
export function decodeJwt(token: string): { header: Record<string, any>; payload: Record<string, any> } {
  const [h, p] = token.split('.');
  return { header: JSON.parse(Buffer.from(h!, 'base64url').toString()), payload: JSON.parse(Buffer.from(p!, 'base64url').toString()) };
}

/**
 * Makes the database itself refuse inserts into `table` (a trigger that raises) until the
 * returned function runs: a real failure in the middle of an operation's writes.
 */
export async function refuseInserts(store: Store, table: string): Promise<() => Promise<void>> {
  const name = `refuse_${table}`;
  if (store.engine === 'sqlite') {
    await sql.raw(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} BEGIN SELECT RAISE(ABORT, 'refused by the test'); END`).execute(store.db);
    return async () => void (await sql.raw(`DROP TRIGGER ${name}`).execute(store.db));
  }
  await sql.raw(`CREATE OR REPLACE FUNCTION ${name}() RETURNS trigger AS $$ BEGIN RAISE EXCEPTION 'refused by the test'; END $$ LANGUAGE plpgsql`).execute(store.db);
  await sql.raw(`CREATE TRIGGER ${name} BEFORE INSERT ON ${table} FOR EACH ROW EXECUTE FUNCTION ${name}()`).execute(store.db);
  return async () => {
    await sql.raw(`DROP TRIGGER ${name} ON ${table}`).execute(store.db);
    await sql.raw(`DROP FUNCTION ${name}()`).execute(store.db);
  };
}
