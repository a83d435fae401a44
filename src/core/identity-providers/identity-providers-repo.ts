// What the tenants' identity providers and their pending authorization requests need stored; the
// store implements it (src/store/repos/identity-providers.ts).
import type { Page, PageRequest } from '../types.ts';
import type { ProviderKind } from './presets.ts';

export interface IdentityProviderRecord {
  pk: number;
  tenantPk: number;
  /** The id in URLs and in social accounts' `provider`. */
  slug: string;
  name: string;
  kind: ProviderKind;
  /** Overrides of the preset's; null: the preset's own (or discovery's). */
  issuer: string | null;
  authorizationEndpoint: string | null;
  tokenEndpoint: string | null;
  userinfoEndpoint: string | null;
  emailsEndpoint: string | null;
  clientId: string;
  /** Sealed with the secret box under `idp:<tenantPk>:<slug>`; null for a public client. */
  clientSecretSealed: string | null;
  scopes: string[];
  enabled: boolean;
  /** Just in time: the first sign-in of an unknown person creates the account; false: link existing ones only. */
  jit: boolean;
  /** Lower-case domains an upstream e-mail must be in; empty: any. */
  allowedDomains: string[];
  /** The upstream's `amr` may satisfy the tenant's second-factor requirement. */
  trustedForMfa: boolean;
  /** May be reached on the internal network: its addresses were last saved by a superuser or the operator (public-network.ts). */
  internalNetwork: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface UpstreamRequestRecord {
  stateHash: string;
  tenantPk: number;
  providerPk: number;
  bindingHash: string;
  purpose: 'login' | 'connect' | 'interaction';
  /** Connect: the signed-in user the link is for. */
  userPk: number | null;
  codeVerifier: string;
  nonce: string;
  next: string;
  createdAt: number;
  expiresAt: number;
}

export interface IdentityProvidersRepo {
  list(tenantPk: number, page: PageRequest): Promise<Page<IdentityProviderRecord>>;
  find(tenantPk: number, slug: string): Promise<IdentityProviderRecord | undefined>;
  findByPk(pk: number): Promise<IdentityProviderRecord | undefined>;
  /** A slug taken in the tenant is a conflict (Store.isConflict). */
  insert(r: Omit<IdentityProviderRecord, 'pk'>): Promise<IdentityProviderRecord>;
  update(pk: number, r: Partial<Omit<IdentityProviderRecord, 'pk' | 'tenantPk' | 'slug' | 'createdAt'>>): Promise<void>;
  delete(pk: number): Promise<void>;
  /** Every provider with a sealed secret (resealing). */
  allWithSecrets(): Promise<IdentityProviderRecord[]>;

  insertRequest(r: UpstreamRequestRecord): Promise<void>;
  findRequest(stateHash: string): Promise<UpstreamRequestRecord | undefined>;
  /** Marks it used; false when it was used already (single use, also between instances). */
  consumeRequest(stateHash: string, now: number): Promise<boolean>;
  deleteExpiredRequests(now: number): Promise<void>;
}
