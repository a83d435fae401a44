// Domain objects, as the core hands them to dialects.

export interface Tenant {
  pk: number;
  id: string;
  name: string;
  displayName: string;
  isActive: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface User {
  pk: number;
  id: string;
  tenantPk: number;
  tenantName: string;
  username: string;
  email: string;
  firstName: string;
  lastName: string;
  passwordHash: string | null;
  isActive: boolean;
  isStaff: boolean;
  isSuperuser: boolean;
  lastLogin: number | null;
  passwordChangedAt: number | null;
  /** Free-form JSON objects kept with the user (the AuthN API's `profile` and `emm`). */
  profile: Record<string, unknown>;
  emm: Record<string, unknown>;
  /** URL of a picture, or null (the v2 API's `avatar`). */
  avatar: string | null;
  /** Whether the user's (primary) e-mail address has been verified. */
  emailVerified: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface Group {
  pk: number;
  id: string;
  tenantPk: number;
  name: string;
  createdAt: number;
  updatedAt: number;
}

/** A registered client application of a tenant. */
export interface Client {
  pk: number;
  clientId: string;
  tenantPk: number;
  name: string;
  /** True when it has a secret (a confidential client, RFC 6749 §2.1). */
  confidential: boolean;
  grantTypes: string[];
  redirectUris: string[];
  /** Scopes it may ask for; empty means no restriction. */
  scopes: string[];
  /** The tenant's own application: the OpenID provider asks for no consent (it trusts it as itself). */
  firstParty: boolean;
  createdAt: number;
  updatedAt: number;
}

export interface Page<T> {
  count: number;
  items: T[];
}

export interface PageRequest {
  offset: number;
  limit: number;
}

/** How a request proved who it is. */
export type AuthMethod = 'jwt' | 'session' | 'token' | 'basic';

/** The authenticated caller: what every permission check is made against. */
export interface Principal {
  readonly kind: 'user';
  user: User;
  tenant: Tenant;
  method: AuthMethod;
  /** Refresh-token family of the access token used (method `jwt`). */
  familyId?: string;
  /** Session used (method `session`). */
  sessionId?: string;
  /** When the session last proved itself (method `session`): reauthentication's window runs from here. */
  authenticatedAt?: number;
  /** What the session's sign-in proved (method `session`): `pwd`, `otp`, `webauthn`, ... */
  amr?: string[];
  /**
   * The tenant requires a second factor and this user has none: the credential may only be used
   * to set one up (and to see and end its session), permissions.ts `requireFullSignIn`.
   */
  mustEnrol?: boolean;
  /** SHA-256 of the token key used (method `token`). */
  tokenKeyHash?: string;
  /** The registered client the request came through (X-Client-Id, or the token's client). */
  client?: Client;
}
