import type { Kysely } from 'kysely';
import { Migrator, type Migration, type MigrationResultSet } from 'kysely/migration';
import type { Engine } from '../database.ts';
import { initial } from './0001-initial.ts';
import { tenantsClients } from './0002-tenants-clients.ts';
import { audit } from './0004-audit.ts';
import { selfService } from './0005-self-service.ts';
import { usersListIndex } from './0006-users-list-index.ts';
import { refreshTokensByFamily } from './0007-refresh-tokens-by-family.ts';
import { countersRefreshKeys } from './0008-counters-refresh-keys.ts';
import { oidcPayloads } from './0011-oidc-payloads.ts';
import { signInFlows } from './0010-sign-in-flows.ts';
import { secondFactors } from './0012-second-factors.ts';
import { identityProviders } from './0013-identity-providers.ts';
import { clientFirstParty } from './0015-client-first-party.ts';
import { passkeySignups } from './0016-passkey-signups.ts';
import { sessionTokenFamilies } from './0017-session-token-families.ts';
import { identityProviderNetwork } from './0018-identity-provider-network.ts';

/** Versioned migrations, in order. Append only: a released migration is never edited. */
export function migrations(engine: Engine): Record<string, Migration> {
  return {
    '0001-initial': initial(engine),
    '0002-tenants-clients': tenantsClients(engine),
    '0004-audit': audit(engine),
    '0005-self-service': selfService(engine),
    '0006-users-list-index': usersListIndex(),
    '0007-refresh-tokens-by-family': refreshTokensByFamily(engine),
    '0008-counters-refresh-keys': countersRefreshKeys(),
    '0010-sign-in-flows': signInFlows(),
    '0011-oidc-payloads': oidcPayloads(),
    '0012-second-factors': secondFactors(engine),
    '0013-identity-providers': identityProviders(engine),
    '0015-client-first-party': clientFirstParty(),
    '0016-passkey-signups': passkeySignups(),
    '0017-session-token-families': sessionTokenFamilies(),
    '0018-identity-provider-network': identityProviderNetwork(),
  };
}

export class MigrationError extends Error {}

export async function migrateToLatest(db: Kysely<any>, engine: Engine): Promise<string[]> {
  const migrator = new Migrator({
    db,
    provider: { getMigrations: async () => migrations(engine) },
    migrationTableName: 'latchkey_migrations',
    migrationLockTableName: 'latchkey_migrations_lock',
    // A migration numbered below one already applied (0013 after 0015) still runs on databases made meanwhile.
    allowUnorderedMigrations: true,
  });
  const result: MigrationResultSet = await migrator.migrateToLatest();
  if (result.error) {
    throw new MigrationError(`database migration failed: ${(result.error as Error).message ?? result.error}`);
  }
  return (result.results ?? []).filter((r) => r.status === 'Success').map((r) => r.migrationName);
}
