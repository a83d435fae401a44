// What the core needs of storage, in its own words: one repository interface per table group,
// each declared next to the service that uses it (users/users-repo.ts, tokens/..., and so on) so
// that a domain's storage needs change with its service, composed here into `Repos`, and the
// `Store` that hands them out and runs transactions. A write made inside a caller's transaction
// takes only the repositories it touches (`Pick<Repos, ...>`).
// src/store/ implements these over Kysely; the core imports nothing from there. Records keep
// the columns' snake_case names where the core already read them so (sessions, tokens, keys).
import type { AuditRepo } from './audit/audit-repo.ts';
import type { EmailAddressesRepo } from './accounts/email-addresses-repo.ts';
import type { EmailTokensRepo } from './accounts/email-tokens-repo.ts';
import type { SocialAccountsRepo } from './accounts/social-accounts-repo.ts';
import type { ClientsRepo } from './clients/clients-repo.ts';
import type { CountersRepo } from './counters/counters.ts';
import type { LoginFailuresRepo } from './credentials/login-failures-repo.ts';
import type { TokenKeysRepo } from './credentials/token-keys-repo.ts';
import type { GroupsRepo } from './groups/groups-repo.ts';
import type { SessionsRepo } from './sessions/sessions-repo.ts';
import type { SettingsRepo } from './settings/settings-repo.ts';
import type { PendingFlowsRepo } from './sign-in/pending-flows.ts';
import type { TenantsRepo } from './tenants/tenants-repo.ts';
import type { RefreshKeysRepo } from './tokens/refresh-keys-repo.ts';
import type { SigningKeysRepo } from './tokens/signing-keys-repo.ts';
import type { TokenFamiliesRepo } from './tokens/token-families-repo.ts';
import type { UsersRepo } from './users/users-repo.ts';
import type { OidcPayloadsRepo } from './oidc/oidc-payloads-repo.ts';
import type { IdentityProvidersRepo } from './identity-providers/identity-providers-repo.ts';
import type { AuthenticatorsRepo, TrustedBrowsersRepo, WebauthnChallengesRepo } from './mfa/authenticators-repo.ts';
import type { PasskeySignupsRepo } from './accounts/passkey-signups-repo.ts';

export interface Repos {
  tenants: TenantsRepo;
  users: UsersRepo;
  groups: GroupsRepo;
  settings: SettingsRepo;
  signingKeys: SigningKeysRepo;
  refreshKeys: RefreshKeysRepo;
  tokens: TokenFamiliesRepo;
  sessions: SessionsRepo;
  tokenKeys: TokenKeysRepo;
  clients: ClientsRepo;
  audit: AuditRepo;
  emailAddresses: EmailAddressesRepo;
  emailTokens: EmailTokensRepo;
  socialAccounts: SocialAccountsRepo;
  loginFailures: LoginFailuresRepo;
  pendingFlows: PendingFlowsRepo;
  counters: CountersRepo;
  oidcPayloads: OidcPayloadsRepo;
  authenticators: AuthenticatorsRepo;
  webauthnChallenges: WebauthnChallengesRepo;
  passkeySignups: PasskeySignupsRepo;
  trustedBrowsers: TrustedBrowsersRepo;
  identityProviders: IdentityProvidersRepo;
}

/** `R`: a store may hand out more repositories than the core's (the import's batch writer). */
export interface Store<R extends Repos = Repos> {
  /**
   * Repositories for reads. Inside a transaction's `fn` (in its async context) they are that
   * transaction's: SQLite has one connection, which the open transaction holds, so a read
   * outside it would wait for it for ever; and the transaction's own writes are visible.
   */
  readonly read: R;
  /**
   * Runs `fn` in one transaction: all its writes land, or none. Called inside another
   * transaction's `fn`, it joins that one, so a step that writes on its own (the sign-in
   * throttle, the audit log) can also be part of a larger request's single transaction.
   */
  transaction<T>(fn: (repos: R) => Promise<T>): Promise<T>;
  /** Whether a transaction is under way in this async context. */
  inTransaction(): boolean;
  /**
   * Runs `fn` once the transaction under way has committed (at once when there is none; never
   * when it rolls back): for what others must not see before the change is there, such as
   * telling other instances to drop their caches. `fn` must not throw.
   */
  afterCommit(fn: () => Promise<void> | void): Promise<void>;
  /** Answers when the store can be reached (the health check). */
  ping(): Promise<void>;
  /**
   * Whether `err` is the store refusing a write that a uniqueness rule forbids (a username, a
   * client id, ... taken meanwhile: a race the core's own checks lost), so the core can answer
   * it as the field error it is.
   */
  isConflict(err: unknown): boolean;
}

/** What createCore is given: a Store whose schema `prepare()` can bring up to date. */
export interface MigratableStore extends Store {
  /** Applies the migrations not yet applied; answers their names. */
  migrate(): Promise<string[]>;
}
