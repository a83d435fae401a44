// Signing in and out: password checks, JWT pairs with rotating refresh tokens, and turning a
// presented credential into a Principal.
import type { Store } from '../store/index.ts';
import type { Clock } from './clock.ts';
import type { Client, Principal, Tenant, User } from './types.ts';
import type { ClientsService } from './clients/clients-service.ts';
import type { Events } from './events.ts';
import type { LoginThrottle } from './credentials/login-throttle.ts';
import type { RequestOrigin } from './audit/audit-log.ts';
import { DomainError, FieldErrorBag, invalidCredentials, notAuthenticated, tokenInvalid } from './errors.ts';
import { newUuid } from './secrets.ts';
import { newRefreshToken, refreshTokenKey, type RefreshTokenKey } from './tokens/refresh-tokens.ts';
import { isJwtShaped, type RefreshKeys } from './tokens/refresh-keys.ts';
import type { PasswordHasher } from './credentials/password-hasher.ts';
import { MAX_PASSWORD_BYTES, checkPassword } from './credentials/password-policy.ts';
import type { AccessTokens } from './tokens/access-tokens.ts';
import type { SettingsService } from './settings/settings-service.ts';
import type { Settings } from './settings/settings-schema.ts';
import type { TenantsService } from './tenants/tenants-service.ts';
import type { SessionsService } from './sessions/sessions-service.ts';
import type { UsersService } from './users/users-service.ts';
import { normalizeUsername } from './users/user-fields.ts';
import { WRONG_CURRENT_PASSWORD, type Passwords } from './credentials/passwords.ts';
import { signInOf } from './sessions/end-sign-ins.ts';

export interface TokenPair {
  access: string;
  refresh: string;
  /** Seconds until the access token expires. */
  expiresIn: number;
  /** Granted scopes (as asked), space-separated; '' when none were asked. */
  scope: string;
}

export interface GrantContext {
  /** The registered client asking, when there is one. */
  client?: Client;
  scopes?: string[];
  /** The refresh token's form: a JWT (the v1 dialect, as simplejwt's) or `<family>.<secret>` (the default). */
  refreshFormat?: 'jwt' | 'opaque';
}

export interface PasswordFields {
  current: string;
  next: string;
}

export class AuthService {
  private readonly store: Store;
  private readonly clock: Clock;
  private readonly hasher: PasswordHasher;
  private readonly accessTokens: AccessTokens;
  private readonly settings: SettingsService;
  private readonly tenants: TenantsService;
  private readonly sessions: SessionsService;
  private readonly users: UsersService;
  private readonly clients: ClientsService;
  private readonly events: Events;
  private readonly throttle: LoginThrottle;
  private readonly origin: () => RequestOrigin | undefined;
  private readonly refreshKeys: RefreshKeys;
  private readonly passwords: Passwords;

  constructor(deps: {
    store: Store; clock: Clock; hasher: PasswordHasher; accessTokens: AccessTokens; settings: SettingsService;
    tenants: TenantsService; sessions: SessionsService; users: UsersService; clients: ClientsService; events: Events;
    throttle: LoginThrottle; origin: () => RequestOrigin | undefined; refreshKeys: RefreshKeys; passwords: Passwords;
  }) {
    this.passwords = deps.passwords;
    this.refreshKeys = deps.refreshKeys;
    this.throttle = deps.throttle;
    this.origin = deps.origin;
    this.clients = deps.clients;
    this.events = deps.events;
    this.store = deps.store;
    this.clock = deps.clock;
    this.hasher = deps.hasher;
    this.accessTokens = deps.accessTokens;
    this.settings = deps.settings;
    this.tenants = deps.tenants;
    this.sessions = deps.sessions;
    this.users = deps.users;
  }

  /** checkPassword, then the failure count starts again at once (for sign-ins that write nothing else). */
  async verifyPassword(tenant: Tenant, username: string, password: string, opts: { byEmail?: boolean } = {}): Promise<User> {
    const { user, settle } = await this.checkPassword(tenant, username, password, opts);
    await this.store.transaction(settle);
    return user;
  }

  /**
   * Checks a username and password. Exactly one hash verification runs whether or not the user
   * exists, is active or has a password, so neither answer nor time tells them apart. The attempt
   * is counted (committed) before the hash, so parallel guesses count; on success, `settle`
   * restarts the count: call it inside the sign-in's own transaction.
   */
  async checkPassword(tenant: Tenant, username: string, password: string, opts: { byEmail?: boolean } = {}): Promise<{ user: User; settle: () => Promise<void> }> {
    const ip = this.origin()?.ip;
    await this.throttle.check(tenant, username, ip);
    const user = Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES ? undefined
      : opts.byEmail ? await this.store.read.users.findOneByEmail(tenant.pk, username)
      : await this.store.read.users.findByUsername(tenant.pk, normalizeUsername(username));
    // Signing in by e-mail counts against the account's name too: one limit per account, whatever it is called by.
    const names = user && opts.byEmail ? [username, user.username] : [username];
    const claimed = await this.throttle.claim(tenant, ...names);
    if (!user || !user.passwordHash) {
      await this.hasher.verifyDummy(password.slice(0, MAX_PASSWORD_BYTES));
      // The attempted name is not recorded for unknown users: people type passwords there.
      const failure = { type: 'sign_in.failed', tenantPk: tenant.pk, userPk: user?.pk ?? null, detail: { reason: user ? 'no_password' : 'unknown_user' } } as const;
      await this.throttle.failed(tenant, ip, user?.pk ?? null, claimed, failure, ...names);
      throw invalidCredentials();
    }
    const ok = await this.hasher.verify(user.passwordHash, password);
    if (!ok || !user.isActive) {
      const failure = { type: 'sign_in.failed', tenantPk: tenant.pk, userPk: user.pk, detail: { reason: ok ? 'inactive' : 'bad_password' } } as const;
      await this.throttle.failed(tenant, ip, user.pk, claimed, failure, ...names);
      throw invalidCredentials();
    }
    if (this.hasher.needsRehash(user.passwordHash)) {
      // The hash parameters changed since this password was set: upgrade it now that we know it.
      const upgraded = await this.hasher.hash(password);
      await this.store.transaction((r) => r.users.update(user.pk, { passwordHash: upgraded }));
      user.passwordHash = upgraded;
    }
    return { user, settle: () => this.throttle.succeeded(tenant, username, user.username) };
  }

  /** Signs a user in and starts a new refresh-token family. */
  async obtainPair(tenantName: string | undefined, username: string, password: string, grant: GrantContext = {}): Promise<TokenPair> {
    const tenant = await this.tenants.resolve(tenantName);
    const scopes = grant.scopes ?? [];
    if (grant.client && grant.client.tenantPk !== tenant.pk) throw new DomainError('INVALID_CLIENT', 'Unknown client id.');
    this.clients.checkGrant(grant.client, 'password', scopes);
    const { user, settle } = await this.checkPassword(tenant, username, password);
    const settings = await this.settings.forTenant(tenant.pk);
    const now = this.clock.now();
    const familyId = newUuid();
    const refresh = await this.newRefresh(familyId, user.id, now, settings, grant.refreshFormat);
    const groups = await this.store.read.groups.namesForUser(user.pk);
    // Everything a successful sign-in writes, its audit row included, in one transaction.
    await this.store.transaction(async (r) => {
      await settle();
      await r.users.update(user.pk, { lastLogin: now });
      await r.tokens.createFamily({ id: familyId, tenant_pk: tenant.pk, user_pk: user.pk, created_at: now, client_pk: grant.client?.pk ?? null, scope: scopes.join(' ') });
      await r.tokens.insertRefresh({ token_hash: refresh.hash, family_id: familyId, created_at: now, expires_at: now + settings.refresh_token_lifetime * 1000 });
      await this.events.emit({ type: 'sign_in.succeeded', tenantPk: tenant.pk, userPk: user.pk, detail: { method: 'jwt', client_id: grant.client?.clientId ?? null } });
    });
    const { token } = await this.accessTokens.issue({
      userId: user.id, username: user.username, tenant: tenant.name, familyId, groups, lifetimeSeconds: settings.access_token_lifetime,
      clientId: grant.client?.clientId, scope: scopes.join(' '), ...tokenSettings(settings),
    });
    return { access: token, refresh: refresh.token, expiresIn: settings.access_token_lifetime, scope: scopes.join(' ') };
  }

  /**
   * Rotates a refresh token. Presenting one that was already used means it leaked (or a client
   * raced itself): the whole family is revoked, as OAuth 2.0 Security BCP §4.14 advises.
   */
  async refresh(refreshToken: string, grant: GrantContext & { enforceClient?: boolean; tenant?: Tenant } = {}): Promise<TokenPair> {
    const key = await this.presentedRefresh(refreshToken);
    const found = key && (await this.store.read.tokens.findRefresh(key));
    const now = this.clock.now();
    if (!found || found.revoked_at !== null || found.expires_at <= now) throw tokenInvalid();
    // A request that names a tenant (X-Tenant) gets nothing from another tenant's token.
    if (grant.tenant && found.tenant_pk !== grant.tenant.pk) throw tokenInvalid();
    // At the OAuth token endpoint a refresh token works only for the client it was issued to.
    if (grant.enforceClient && (found.client_pk ?? undefined) !== grant.client?.pk) throw tokenInvalid();
    const client = found.client_pk === null ? undefined : await this.clients.byPk(found.client_pk);
    // A refresh names only scopes of the original grant (RFC 6749 §6): those granted at sign-in;
    // for a sign-in that asked none (an unrestricted token, no scope claim), the scopes its client
    // is registered with, which it could have asked then (requests-oauthlib names the session's
    // scope only when refreshing). With no client, or a client registered with no scopes, none.
    const granted = found.scope ? found.scope.split(' ') : client?.scopes ?? [];
    this.clients.checkGrant(grant.client, 'refresh_token', grant.scopes ?? []);
    if (grant.scopes?.some((s) => !granted.includes(s))) {
      throw new DomainError('INVALID_SCOPE', 'A refresh cannot widen the scope granted at sign-in.');
    }
    const scope = grant.scopes && grant.scopes.length > 0 ? grant.scopes.join(' ') : found.scope ?? '';
    const user = await this.store.read.users.findByPk(found.user_pk);
    const tenant = user && (await this.tenants.byPk(user.tenantPk));
    if (!user || !user.isActive || !tenant?.isActive || user.tenantPk !== found.tenant_pk) throw tokenInvalid();
    if (key.userId !== undefined && key.userId !== user.id) throw tokenInvalid();
    const settings = await this.settings.forTenant(tenant.pk);
    const next = await this.newRefresh(found.family_id, user.id, now, settings, grant.refreshFormat);
    const rotated = await this.store.transaction(async (r) => {
      if (await r.tokens.consumeRefresh(found, now)) {
        await r.tokens.insertRefresh({ token_hash: next.hash, family_id: found.family_id, created_at: now, expires_at: now + settings.refresh_token_lifetime * 1000 });
        return true;
      }
      // Used before (or by a request that won the race with this one): the family is revoked.
      await r.tokens.revokeFamily(found.family_id, 'refresh_token_reused', now);
      await this.events.emit({ type: 'refresh_token.reused', tenantPk: found.tenant_pk, userPk: found.user_pk, detail: { family: found.family_id } });
      return false;
    });
    if (!rotated) throw tokenInvalid();
    const groups = await this.store.read.groups.namesForUser(user.pk);
    const { token } = await this.accessTokens.issue({
      userId: user.id, username: user.username, tenant: tenant.name, familyId: found.family_id, groups,
      lifetimeSeconds: settings.access_token_lifetime, clientId: client?.clientId, scope, ...tokenSettings(settings),
    });
    return { access: token, refresh: next.token, expiresIn: settings.access_token_lifetime, scope };
  }

  /** A refresh token of the family's next turn, in the form asked. */
  private async newRefresh(familyId: string, userId: string, now: number, settings: Settings, format: GrantContext['refreshFormat']): Promise<{ token: string; hash: string }> {
    if (format !== 'jwt') return newRefreshToken(familyId);
    const iat = Math.floor(now / 1000);
    return this.refreshKeys.issue({ familyId, userId, iat, exp: Math.floor((now + settings.refresh_token_lifetime * 1000) / 1000) });
  }

  /** The store key of a presented refresh token of either form, or undefined when it cannot be one of ours. */
  private async presentedRefresh(token: string): Promise<(RefreshTokenKey & { userId?: string }) | undefined> {
    return isJwtShaped(token) ? this.refreshKeys.read(token) : refreshTokenKey(token);
  }

  /** Ends what the caller signed in with: its refresh family (and so its access tokens) or session. */
  async logout(p: Principal, refreshToken?: string): Promise<void> {
    const now = this.clock.now();
    let extraFamily: string | undefined;
    if (refreshToken) {
      const key = await this.presentedRefresh(refreshToken);
      const found = key && (await this.store.read.tokens.findRefresh(key));
      if (found && found.user_pk === p.user.pk) extraFamily = found.family_id;
    }
    await this.store.transaction(async (r) => {
      if (p.familyId) await r.tokens.revokeFamily(p.familyId, 'logout', now);
      if (extraFamily) await r.tokens.revokeFamily(extraFamily, 'logout', now);
      if (p.sessionId) await r.sessions.delete(p.sessionId);
      if (p.tokenKeyHash) await r.tokenKeys.delete(p.tokenKeyHash);
      const base = { tenantPk: p.tenant.pk, userPk: p.user.pk };
      if (p.familyId || extraFamily || p.tokenKeyHash) await this.events.emit({ ...base, type: 'token.revoked', detail: { reason: 'logout' } });
      if (p.sessionId) await this.events.emit({ ...base, type: 'session.ended', detail: { reason: 'logout' } });
    });
  }

  /**
   * Changes the caller's own password. Every other sign-in of the user ends; the one the caller
   * used stays, as Django's update_session_auth_hash keeps the current session.
   */
  async changePassword(p: Principal, fields: PasswordFields): Promise<void> {
    const errors = new FieldErrorBag();
    const current = await this.store.read.users.findByPk(p.user.pk);
    if (!current) throw notAuthenticated();
    if (!(await this.passwords.isCurrent(current, fields.current))) errors.add('current_password', WRONG_CURRENT_PASSWORD);
    for (const m of await this.passwords.problems(current.tenantPk, fields.next, current)) errors.add('new_password', m);
    errors.throwIfAny();
    await this.passwords.set(current, fields.next, { event: { type: 'password.changed', by: 'self', actorPk: null }, keep: signInOf(p) });
  }

  /** The Principal behind a Bearer access token; TOKEN_INVALID when it no longer stands. */
  async authenticateAccessToken(token: string): Promise<Principal> {
    const claims = await this.accessTokens.verify(token);
    const user = await this.store.read.users.findById(claims.sub);
    if (!user || !user.isActive || user.tenantName !== claims.tenant) throw tokenInvalid('User not found or inactive');
    const tenant = await this.tenants.byPk(user.tenantPk);
    if (!tenant || !tenant.isActive) throw tokenInvalid('Tenant is disabled');
    const family = await this.store.read.tokens.findFamily(claims.fam);
    if (!family || family.revoked_at !== null || family.user_pk !== user.pk) throw tokenInvalid('Token has been revoked');
    const client = family.client_pk === null ? undefined : await this.clients.byPk(family.client_pk);
    return { kind: 'user', user, tenant, method: 'jwt', familyId: family.id, client };
  }

  /** The Principal behind a `sessionid` cookie, or null when the session is not (or no longer) valid. */
  async authenticateSession(cookie: string): Promise<{ principal: Principal; csrfOk: (token: string | undefined) => boolean } | null> {
    const session = await this.sessions.find(cookie);
    if (!session) return null;
    const user = await this.store.read.users.findByPk(session.userPk);
    if (!user || !user.isActive || user.tenantPk !== session.tenantPk) return null;
    const tenant = await this.tenants.byPk(user.tenantPk);
    if (!tenant || !tenant.isActive) return null;
    return {
      principal: { kind: 'user', user, tenant, method: 'session', sessionId: session.id },
      csrfOk: (t) => this.sessions.checkCsrf(session, t),
    };
  }
}

/** What a tenant's settings say about the tokens it issues. */
const tokenSettings = (s: Settings) => ({ algorithm: s.token_signing_algorithm, audience: s.token_audience });

export const csrfFailed = (reason: string) => new DomainError('CSRF_FAILED', `CSRF Failed: ${reason}`);
