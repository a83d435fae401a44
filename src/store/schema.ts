// Table row types for Kysely. Times are epoch milliseconds (bigint columns), flags are
// booleans in PostgreSQL and 0/1 in SQLite: repositories normalise both on the way out.
import type { Generated } from 'kysely';
import type { FamilyRecord } from '../core/tokens/token-families-repo.ts';
import type { StoredSession } from '../core/sessions/sessions-repo.ts';
import type { EmailTokenRecord } from '../core/accounts/email-tokens-repo.ts';
import type { AuditRecord } from '../core/audit/audit-repo.ts';

type Flag = boolean | number;

export interface TenantsTable {
  pk: Generated<number>;
  id: string;
  name: string;
  display_name: string;
  is_active: Flag;
  created_at: number;
  updated_at: number;
}

export interface UsersTable {
  pk: Generated<number>;
  id: string;
  tenant_pk: number;
  username: string;
  email: string;
  first_name: string;
  last_name: string;
  password_hash: string | null;
  is_active: Flag;
  is_staff: Flag;
  is_superuser: Flag;
  last_login: number | null;
  password_changed_at: number | null;
  profile: string;
  emm: string;
  avatar: string | null;
  email_verified: boolean | number;
  created_at: number;
  updated_at: number;
}

export interface GroupsTable {
  pk: Generated<number>;
  id: string;
  tenant_pk: number;
  name: string;
  created_at: number;
  updated_at: number;
}

export interface GroupMembersTable {
  group_pk: number;
  user_pk: number;
  created_at: number;
}

export interface SettingsTable {
  tenant_pk: number;
  key: string;
  value: string;
  updated_at: number;
}

export interface SigningKeysTable {
  kid: string;
  alg: string;
  private_jwk: string;
  public_jwk: string;
  state: 'next' | 'current' | 'retired';
  created_at: number;
  activated_at: number | null;
  retired_at: number | null;
}

/** Counters with an expiry (rate limits), when they are kept in the database. */
export interface CountersTable {
  key: string;
  count: number;
  expires_at: number;
}

/** HMAC keys of the v1 refresh JWTs: only Latchkey verifies them, so they never leave the database. */
export interface RefreshKeysTable {
  kid: string;
  secret: string;
  state: 'current' | 'retired';
  created_at: number;
  retired_at: number | null;
}

export interface SignInFlowsTable {
  token_hash: string;
  tenant_pk: number;
  user_pk: number;
  client_pk: number | null;
  scope: string;
  /** The Issue as JSON. */
  issue: string;
  method: string;
  step: string;
  /** What the sign-in has proven so far, space-separated (`pwd`, `otp`, ...). */
  amr: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

/** The OpenID provider's state (core/oidc/oidc-payloads-repo.ts). */
export interface OidcPayloadsTable {
  tenant_pk: number;
  model: string;
  id: string;
  payload: string;
  grant_id: string | null;
  uid: string | null;
  user_code: string | null;
  expires_at: number | null;
  consumed_at: number | null;
}

/** The columns are the core's record of a family. */
export type TokenFamiliesTable = FamilyRecord;

/** Keyed by (family_id, token_hash): a refresh token names its family. */
export interface RefreshTokensTable {
  token_hash: string;
  family_id: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export type SessionsTable = StoredSession;

export interface ClientsTable {
  pk: Generated<number>;
  client_id: string;
  tenant_pk: number;
  name: string;
  secret_hash: string | null;
  /** JSON arrays of strings. */
  grant_types: string;
  redirect_uris: string;
  scopes: string;
  first_party: Generated<boolean | number>;
  created_at: number;
  updated_at: number;
}

/** The core's audit record, its pk made by the database. */
export type AuditEventsTable = Omit<AuditRecord, 'pk'> & { pk: Generated<number> };

export interface TokenKeysTable {
  key_hash: string;
  id: string;
  tenant_pk: number;
  user_pk: number;
  session_id: string | null;
  created_at: number;
}

export interface EmailAddressesTable {
  pk: Generated<number>;
  tenant_pk: number;
  user_pk: number;
  email: string;
  email_lower: string;
  verified: boolean | number;
  is_primary: boolean | number;
  created_at: number;
}

export type EmailTokensTable = EmailTokenRecord;

export interface SocialAccountsTable {
  pk: Generated<number>;
  tenant_pk: number;
  user_pk: number;
  provider: string;
  uid: string;
  date_joined: number;
  last_login: number | null;
}

export interface LoginFailuresTable {
  tenant_pk: number;
  username: string;
  failures: number;
  last_failure_at: number;
}

export interface DB {
  token_keys: TokenKeysTable;
  email_addresses: EmailAddressesTable;
  email_tokens: EmailTokensTable;
  social_accounts: SocialAccountsTable;
  login_failures: LoginFailuresTable;
  audit_events: AuditEventsTable;
  clients: ClientsTable;
  tenants: TenantsTable;
  users: UsersTable;
  groups: GroupsTable;
  group_members: GroupMembersTable;
  settings: SettingsTable;
  signing_keys: SigningKeysTable;
  counters: CountersTable;
  refresh_keys: RefreshKeysTable;
  token_families: TokenFamiliesTable;
  refresh_tokens: RefreshTokensTable;
  /** Refresh tokens issued before 0007 (keyed by hash alone): read until they are used or expire. */
  refresh_tokens_v1: RefreshTokensTable;
  sessions: SessionsTable;
  sign_in_flows: SignInFlowsTable;
  oidc_payloads: OidcPayloadsTable;
  authenticators: AuthenticatorsTable;
  webauthn_challenges: WebauthnChallengesTable;
  passkey_signups: PasskeySignupsTable;
  trusted_browsers: TrustedBrowsersTable;
  identity_providers: IdentityProvidersTable;
  upstream_requests: UpstreamRequestsTable;
}

export interface AuthenticatorsTable {
  pk: Generated<number>;
  tenant_pk: number;
  user_pk: number;
  type: string;
  name: string | null;
  credential_id: string | null;
  data: string;
  created_at: number;
  last_used_at: number | null;
}

export interface WebauthnChallengesTable {
  challenge_hash: string;
  tenant_pk: number;
  user_pk: number | null;
  purpose: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface PasskeySignupsTable {
  token_hash: string;
  tenant_pk: number;
  username: string;
  email: string;
  user_handle: string;
  challenge_hash: string | null;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

export interface TrustedBrowsersTable {
  token_hash: string;
  tenant_pk: number;
  user_pk: number;
  created_at: number;
  expires_at: number;
}

/** Upstream identity providers of the tenants (migration 0013); `client_secret` sealed. */
export interface IdentityProvidersTable {
  pk: Generated<number>;
  tenant_pk: number;
  slug: string;
  name: string;
  kind: string;
  issuer: string | null;
  authorization_endpoint: string | null;
  token_endpoint: string | null;
  userinfo_endpoint: string | null;
  emails_endpoint: string | null;
  client_id: string;
  client_secret: string | null;
  scopes: string;
  enabled: boolean | number;
  jit: boolean | number;
  allowed_domains: string;
  trusted_for_mfa: boolean | number;
  internal_network: boolean | number;
  created_at: number;
  updated_at: number;
}

/** Authorization requests sent upstream and not yet answered (single use). */
export interface UpstreamRequestsTable {
  state_hash: string;
  tenant_pk: number;
  provider_pk: number;
  binding_hash: string;
  purpose: string;
  user_pk: number | null;
  code_verifier: string;
  nonce: string;
  next: string;
  created_at: number;
  expires_at: number;
  used_at: number | null;
}

