// The store: repositories bound to the database, or to one transaction.
import { AsyncLocalStorage } from 'node:async_hooks';
import { sql, type Kysely } from 'kysely';
import type { DB } from './schema.ts';
import { openDatabase, type Database, type Engine } from './database.ts';
import { migrateToLatest } from './migrations/index.ts';
import { tenantsRepo } from './repos/tenants.ts';
import { usersRepo } from './repos/users.ts';
import { groupsRepo } from './repos/groups.ts';
import { settingsRepo } from './repos/settings.ts';
import { signingKeysRepo } from './repos/signing-keys.ts';
import { tokensRepo } from './repos/tokens.ts';
import { sessionsRepo } from './repos/sessions.ts';
import { clientsRepo } from './repos/clients.ts';
import { auditRepo } from './repos/audit.ts';
import { pendingFlowsRepo } from './repos/pending-flows.ts';
import { countersRepo } from './repos/counters.ts';
import { refreshKeysRepo } from './repos/refresh-keys.ts';
import { emailAddressesRepo, emailTokensRepo, loginFailuresRepo, socialAccountsRepo, tokenKeysRepo } from './repos/self-service.ts';
import { importBatchRepo } from './repos/import-batch.ts';

export { isUniqueViolation, isUnavailable } from './errors.ts';
export type { Engine } from './database.ts';

function bind(db: Kysely<DB>, engine: Engine) {
  return {
    tenants: tenantsRepo(db),
    users: usersRepo(db, engine),
    groups: groupsRepo(db, engine),
    settings: settingsRepo(db, engine),
    signingKeys: signingKeysRepo(db),
    tokens: tokensRepo(db, engine),
    sessions: sessionsRepo(db),
    clients: clientsRepo(db),
    audit: auditRepo(db),
    tokenKeys: tokenKeysRepo(db, engine),
    emailAddresses: emailAddressesRepo(db),
    emailTokens: emailTokensRepo(db),
    socialAccounts: socialAccountsRepo(db),
    loginFailures: loginFailuresRepo(db),
    pendingFlows: pendingFlowsRepo(db),
    importBatch: importBatchRepo(db, engine),
    counters: countersRepo(db),
    refreshKeys: refreshKeysRepo(db),
  };
}

export type Repos = ReturnType<typeof bind>;

export interface Store {
  engine: Engine;
  /**
   * Repositories for reads. Inside a transaction's `fn` (in its async context) they are that
   * transaction's: SQLite has one connection, which the open transaction holds, so a read
   * outside it would wait for it for ever; and the transaction's own writes are visible.
   */
  readonly read: Repos;
  /**
   * Runs `fn` in one transaction: all its writes land, or none. Called inside another
   * transaction's `fn`, it joins that one, so a step that writes on its own (the sign-in
   * throttle, the audit log) can also be part of a larger request's single transaction.
   */
  transaction<T>(fn: (repos: Repos) => Promise<T>): Promise<T>;
  /** Whether a transaction is under way in this async context. */
  inTransaction(): boolean;
  /**
   * Runs `fn` once the transaction under way has committed (at once when there is none; never
   * when it rolls back): for what others must not see before the change is there, such as
   * telling other instances to drop their caches. `fn` must not throw.
   */
  afterCommit(fn: () => Promise<void> | void): Promise<void>;
  migrate(): Promise<string[]>;
  ping(): Promise<void>;
  close(): Promise<void>;
  /** The Kysely instance, for tests and tools that inspect tables. */
  db: Kysely<DB>;
}

export function createStore(database: Database): Store {
  const { db, engine } = database;
  const plain = bind(db, engine);
  const ambient = new AsyncLocalStorage<{ repos: Repos; committed: Array<() => Promise<void> | void> }>();
  return {
    engine,
    db,
    get read() {
      return ambient.getStore()?.repos ?? plain;
    },
    async transaction(fn) {
      const open = ambient.getStore();
      if (open) return fn(open.repos);
      const committed: Array<() => Promise<void> | void> = [];
      const result = await db.transaction().execute((trx) => {
        const repos = bind(trx, engine);
        return ambient.run({ repos, committed }, () => fn(repos));
      });
      for (const then of committed) {
        try {
          await then();
        } catch {
          // Committed is committed: a failing follow-up must not turn the change into an error.
        }
      }
      return result;
    },
    inTransaction: () => ambient.getStore() !== undefined,
    async afterCommit(fn) {
      const open = ambient.getStore();
      if (open) open.committed.push(fn);
      else await fn();
    },
    migrate: () => migrateToLatest(db, engine),
    ping: async () => {
      await sql`select 1`.execute(db);
    },
    close: () => database.close(),
  };
}

export function openStore(url: string): Store {
  return createStore(openDatabase(url));
}
