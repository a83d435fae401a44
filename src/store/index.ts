// The store: the core's Store and Repos (core/store.ts) over Kysely, the repositories bound to
// the database or to one transaction.
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
import { oidcPayloadsRepo } from './repos/oidc-payloads.ts';
import { authenticatorsRepo, trustedBrowsersRepo, webauthnChallengesRepo } from './repos/authenticators.ts';
import { emailAddressesRepo, emailTokensRepo, loginFailuresRepo, socialAccountsRepo, tokenKeysRepo } from './repos/self-service.ts';
import { identityProvidersRepo } from './repos/identity-providers.ts';
import { passkeySignupsRepo } from './repos/passkey-signups.ts';
import { importBatchRepo, type ImportBatchRepo } from './repos/import-batch.ts';
import { isUniqueViolation } from './errors.ts';
import type { Repos, Store as CoreStore } from '../core/store.ts';

export { isUniqueViolation, isUnavailable } from './errors.ts';
export type { Engine } from './database.ts';
export type { Repos } from '../core/store.ts';

/** The core's repositories, and the store's own: the import's batch writer (core/import speaks to it through ImportSink). */
export interface StoreRepos extends Repos {
  importBatch: ImportBatchRepo;
}

function bind(db: Kysely<DB>, engine: Engine): StoreRepos {
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
    oidcPayloads: oidcPayloadsRepo(db),
    authenticators: authenticatorsRepo(db),
    webauthnChallenges: webauthnChallengesRepo(db),
    passkeySignups: passkeySignupsRepo(db),
    trustedBrowsers: trustedBrowsersRepo(db),
    identityProviders: identityProvidersRepo(db),
  };
}

/**
 * The store's handle: the core's Store (reads, transactions, afterCommit, ping, isConflict;
 * see core/store.ts) and what only its owner uses: the engine, the schema's migrations, closing,
 * and the Kysely instance for tests and tools that inspect tables.
 */
export interface Store extends CoreStore<StoreRepos> {
  engine: Engine;
  migrate(): Promise<string[]>;
  close(): Promise<void>;
  db: Kysely<DB>;
}

export function createStore(database: Database): Store {
  const { db, engine } = database;
  const plain = bind(db, engine);
  const ambient = new AsyncLocalStorage<{ repos: StoreRepos; committed: Array<() => Promise<void> | void> }>();
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
    isConflict: isUniqueViolation,
    close: () => database.close(),
  };
}

export function openStore(url: string): Store {
  return createStore(openDatabase(url));
}
