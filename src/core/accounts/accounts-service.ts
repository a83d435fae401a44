// Self-service accounts, as dj-rest-auth with django-allauth offers them: sign-in with a token
// key and a session, registration with e-mail verification, password change and reset by
// e-mail, several e-mail addresses per user, and linked social accounts.
import type { Repos, Store } from '../../store/index.ts';
import { isUniqueViolation } from '../../store/index.ts';
import type { EmailAddress } from '../../store/repos/self-service.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { Page, PageRequest, Principal, Tenant, User } from '../types.ts';
import { DomainError, FieldErrorBag, fieldError, notFound, permissionDenied, validationError } from '../errors.ts';
import { isUuid, randomToken, sha256 } from '../secrets.ts';
import { checkPassword } from '../credentials/password-policy.ts';
import type { PasswordHasher } from '../credentials/password-hasher.ts';
import type { TokenKeys } from '../credentials/token-keys.ts';
import type { LoginThrottle } from '../credentials/login-throttle.ts';
import type { Mailer } from '../mail/mailer.ts';
import { resetMessage, verificationMessage } from '../mail/messages.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { UpstreamProvider } from '../settings/settings-schema.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { SessionsService, NewSession } from '../sessions/sessions-service.ts';
import type { UsersService } from '../users/users-service.ts';
import type { AuthService } from '../auth-service.ts';
import { emailProblem, normalizeEmail } from '../users/user-fields.ts';
import type { RollingLimit } from '../credentials/rolling-limit.ts';
import { selfService } from '../actor.ts';
import { WRONG_CURRENT_PASSWORD, type Passwords } from '../credentials/passwords.ts';
import { signInOf } from '../sessions/end-sign-ins.ts';
import { requireUserManager } from '../permissions.ts';

/** allauth's EMAIL_CONFIRMATION_EXPIRE_DAYS. */
const VERIFICATION_LIFETIME_MS = 3 * 86_400_000;
const MISMATCH = "The two password fields didn't match.";
const OWNED_ELSEWHERE = 'A user is already registered with this e-mail address.';
/** The windows of the e-mail limits, django-allauth's: reset e-mails per minute, verification e-mails per 3 minutes. */
const RESET_WINDOW_S = 60;
const VERIFICATION_WINDOW_S = 180;

/** A reset token is stored as the SHA-256 of itself with the user's password hash at the time. */
const resetTokenHash = (token: string, user: User) => sha256(`${token}\n${user.passwordHash ?? ''}`);

export interface SignedIn {
  key: string;
  session: NewSession;
}

export interface Registration {
  /** The token key, unless the address must be verified before signing in. */
  key: string | null;
  session: NewSession | null;
}

export interface ProvidersView {
  registrationEnabled: boolean;
  passwordForgottenEnabled: boolean;
  mfaRequired: boolean;
  ssoEnabled: boolean;
  ssoRegistration: boolean;
  providers: Array<Pick<UpstreamProvider, 'id' | 'name'> & { login: string; connect: string }>;
}

export interface SocialAccount {
  id: number;
  provider: string;
  uid: string;
  dateJoined: number;
  lastLogin: number | null;
}

export class AccountsService {
  private readonly d: {
    store: Store; clock: Clock; events: Events; hasher: PasswordHasher; passwords: Passwords; mailer: Mailer; publicUrl: string; settings: SettingsService;
    tenants: TenantsService; sessions: SessionsService; users: UsersService; auth: AuthService; tokenKeys: TokenKeys; throttle: LoginThrottle;
    /** Counts the e-mails sent to each address (shared by the instances). */
    limits: RollingLimit;
    /** Failures of messages sent after the answer (resets, resends) go here: they must not change the answer. */
    onBackgroundError: (err: unknown) => void;
  };

  private readonly pending = new Set<Promise<void>>();

  constructor(deps: AccountsService['d']) {
    this.d = deps;
  }

  // --- sign-in and sign-out ----------------------------------------------------------------

  /** Signs in by username or e-mail and password; opens a session and issues a token key. */
  async signIn(tenantName: string | undefined, who: { username?: string; email?: string }, password: string): Promise<SignedIn> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const byEmail = !who.username;
    const name = who.username || normalizeEmail(who.email ?? '');
    if (!name) throw validationError({ non_field_errors: ['Must include "username" or "email" and "password".'] });
    const { user, settle } = await this.d.auth.checkPassword(tenant, name, password, { byEmail });
    const settings = await this.d.settings.forTenant(tenant.pk);
    if (settings.email_verification_mandatory && !user.emailVerified) {
      // The password was right: the failure count starts again, but nobody is signed in.
      await this.d.store.transaction(settle);
      throw validationError({ non_field_errors: ['E-mail is not verified.'] });
    }
    const now = this.d.clock.now();
    // Everything a successful sign-in writes, its audit row included, in one transaction.
    return await this.d.store.transaction(async (r) => {
      await settle();
      await r.users.update(user.pk, { lastLogin: now });
      const session = await this.d.sessions.create(user, r);
      const key = await this.d.tokenKeys.issue(r, user, session.id);
      await this.d.events.emit({ type: 'sign_in.succeeded', tenantPk: tenant.pk, userPk: user.pk, detail: { method: 'token_key' } });
      return { key, session };
    });
  }

  /**
   * Signs out: a sign-in at /api/auth/login/ is one token key and one session, and ending it
   * with either credential ends both (with the JWT family, when a Bearer token was used).
   */
  async signOut(p: Principal): Promise<void> {
    let whole: Principal = p;
    if (p.tokenKeyHash && !p.sessionId) {
      const row = await this.d.store.read.tokenKeys.find(p.tokenKeyHash);
      if (row?.session_id) whole = { ...p, sessionId: row.session_id };
    } else if (p.sessionId && !p.tokenKeyHash) {
      const row = (await this.d.store.read.tokenKeys.forUser(p.user.pk)).find((k) => k.session_id === p.sessionId);
      if (row) whole = { ...p, tokenKeyHash: row.key_hash };
    }
    await this.d.auth.logout(whole);
  }

  // --- registration and verification ------------------------------------------------------

  async register(tenantName: string | undefined, input: { username: string; email?: string; password1: string; password2: string }): Promise<Registration> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const settings = await this.d.settings.forTenant(tenant.pk);
    if (!settings.registration_enabled) throw new DomainError('PERMISSION_DENIED', 'Registration is closed.');
    const email = normalizeEmail(input.email ?? '');
    const errors = new FieldErrorBag();
    if (settings.email_verification_mandatory && !email) errors.add('email', 'This field is required.');
    const ep = emailProblem(email);
    if (ep) errors.add('email', ep);
    if (input.password1 !== input.password2) errors.add('non_field_errors', MISMATCH);
    // As adding an address: one verified by another user of the tenant is theirs (and signing in
    // by e-mail must keep finding them).
    if (email && !ep && (await this.d.store.read.emailAddresses.verifiedOwner(tenant.pk, email))) errors.add('email', OWNED_ELSEWHERE);
    errors.throwIfAny();
    // Password policy, username rules and uniqueness: the one place users are created.
    const user = await this.d.users.create(selfService(tenant), { username: input.username, password: input.password1, email, tenant: tenant.name });
    try {
      const out = await this.d.store.transaction(async (r) => {
        let mail: { address: EmailAddress; key: string } | undefined;
        if (email) {
          const address = await r.emailAddresses.insert({ tenantPk: tenant.pk, userPk: user.pk, email, verified: false, primary: true, createdAt: this.d.clock.now() });
          mail = { address, key: await this.verificationToken(r, user, address) };
        }
        if (settings.email_verification_mandatory) return { key: null, session: null, mail };
        const session = await this.d.sessions.create(user, r);
        return { key: await this.d.tokenKeys.issue(r, user, session.id), session, mail };
      });
      // The message is sent before answering: when it cannot be, the account is taken back.
      if (out.mail) await this.sendOrFail(verificationMessage(this.d.publicUrl, tenant.displayName, email, user.username, out.mail.key));
      return { key: out.key, session: out.session };
    } catch (err) {
      await this.d.store.transaction(async (r) => {
        await r.users.delete(user.pk);
        // The audit log saw the account made: it sees it taken back.
        await this.d.events.emit({ type: 'user.deleted', tenantPk: tenant.pk, userPk: null, detail: { username: user.username, user_id: user.id, reason: 'registration_not_completed' } });
      });
      throw err;
    }
  }

  private async verificationToken(r: Repos, user: User, address: EmailAddress): Promise<string> {
    const key = randomToken(32);
    const now = this.d.clock.now();
    await r.emailTokens.insert({ token_hash: sha256(key), purpose: 'verify', user_pk: user.pk, email_pk: address.pk, created_at: now, expires_at: now + VERIFICATION_LIFETIME_MS, used_at: null });
    return key;
  }

  /**
   * Counts one e-mail of `kind` to `addr`, or refuses it (429) when the address had its share:
   * by the address alone, before anything is looked up, so the answer is the same whether or
   * not it belongs to anyone.
   */
  private async limitEmails(tenant: Tenant, kind: 'reset' | 'verify', addr: string): Promise<void> {
    const settings = await this.d.settings.forTenant(tenant.pk);
    const [limit, window] = kind === 'reset' ? [settings.password_reset_email_limit, RESET_WINDOW_S] : [settings.verification_email_limit, VERIFICATION_WINDOW_S];
    // The address is hashed: the counters need no personal data.
    const key = `mail:${kind}:${tenant.pk}:${sha256(addr.toLowerCase()).slice(0, 32)}`;
    const c = await this.d.limits.check(key, limit, window, 'strict');
    if (!c.allowed) {
      throw new DomainError('RATE_LIMITED', `Too many e-mails to this address. Try again in ${c.retryAfter} seconds.`, { retryAfter: c.retryAfter });
    }
    await this.d.limits.hit(key, window, 'strict');
  }

  private async sendOrFail(message: Parameters<Mailer['send']>[0]): Promise<void> {
    try {
      await this.d.mailer.send(message);
    } catch (err) {
      throw new DomainError('UNAVAILABLE', 'The e-mail could not be sent. Try again later.', { cause: err });
    }
  }

  /**
   * Runs work after the answer has gone out (on a later turn of the event loop), so that
   * neither the answer nor its timing depends on it; failures go to onBackgroundError.
   */
  private afterAnswer(work: () => Promise<void>): void {
    const task: Promise<void> = new Promise<void>((resolve) => setImmediate(resolve))
      .then(work)
      .catch((err) => this.d.onBackgroundError(err))
      .finally(() => this.pending.delete(task));
    this.pending.add(task);
  }

  /** Resolves once the work begun after earlier answers (reset and verification e-mails) is done. */
  async idle(): Promise<void> {
    while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
  }

  /** Confirms the address a verification key was sent to. */
  async verifyEmail(key: string, opts: { ofUser?: number } = {}): Promise<{ userPk: number }> {
    const invalid = () => validationError({ key: ['Invalid or expired verification key.'] });
    if (key.length === 0 || key.length > 200) throw invalid();
    const hash = sha256(key);
    const row = await this.d.store.read.emailTokens.find(hash);
    const now = this.d.clock.now();
    if (!row || row.purpose !== 'verify' || row.used_at !== null || row.expires_at <= now || row.email_pk === null) throw invalid();
    const address = await this.d.store.read.emailAddresses.find(row.email_pk);
    if (!address) throw invalid();
    // Continuing a sign-in: a key of another account's address is refused before it is spent.
    if (opts.ofUser !== undefined && address.userPk !== opts.ofUser) throw invalid();
    const owner = await this.d.store.read.emailAddresses.verifiedOwner(address.tenantPk, address.email);
    if (owner && owner.userPk !== address.userPk) throw validationError({ key: [OWNED_ELSEWHERE] });
    try {
      await this.d.store.transaction(async (r) => {
        if (!(await r.emailTokens.consume(hash, now))) throw invalid();
        await r.emailAddresses.setVerified(address.pk);
        if (address.primary) await r.users.update(address.userPk, { emailVerified: true, email: address.email, updatedAt: now });
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw validationError({ key: [OWNED_ELSEWHERE] });
      throw err;
    }
    return { userPk: address.userPk };
  }

  /**
   * Sends a new verification message to an unverified address. The same answer either way, in
   * the same time: the look-up, the key and the message happen after the answer.
   */
  async resendVerification(tenantName: string | undefined, email: string): Promise<void> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const addr = normalizeEmail(email);
    if (emailProblem(addr) || !addr) throw fieldError('email', 'Enter a valid email address.');
    await this.limitEmails(tenant, 'verify', addr);
    this.afterAnswer(async () => {
      const candidates = (await this.d.store.read.emailAddresses.byEmail(tenant.pk, addr)).filter((a) => !a.verified);
      for (const address of candidates.slice(0, 3)) {
        const user = await this.d.store.read.users.findByPk(address.userPk);
        if (!user?.isActive) continue;
        const key = await this.d.store.transaction((r) => this.verificationToken(r, user, address));
        await this.d.mailer.send(verificationMessage(this.d.publicUrl, tenant.displayName, address.email, user.username, key));
      }
    });
  }

  // --- passwords --------------------------------------------------------------------------

  /** dj-rest-auth's password change: new_password1/2, and old_password when the tenant asks. */
  async changePassword(p: Principal, input: { old?: string; new1: string; new2: string }): Promise<void> {
    const settings = await this.d.settings.forTenant(p.tenant.pk);
    const errors = new FieldErrorBag();
    const current = (await this.d.store.read.users.findByPk(p.user.pk)) ?? p.user;
    if (settings.password_change_requires_old) {
      if (input.old === undefined) errors.add('old_password', 'This field is required.');
      else if (!(await this.d.passwords.isCurrent(current, input.old))) errors.add('old_password', WRONG_CURRENT_PASSWORD);
    }
    if (input.new1 !== input.new2) errors.add('new_password2', MISMATCH);
    for (const m of await this.d.passwords.problems(current.tenantPk, input.new1, current)) errors.add('new_password2', m);
    errors.throwIfAny();
    await this.d.passwords.set(current, input.new1, { event: { type: 'password.changed', by: 'self', actorPk: null }, keep: signInOf(p) });
  }

  /**
   * Sends a reset link to every active account with this address. The same answer either way,
   * in the same time: finding the accounts, making the tokens and sending happen after it.
   */
  async requestPasswordReset(tenantName: string | undefined, email: string): Promise<void> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const settings = await this.d.settings.forTenant(tenant.pk);
    if (!settings.password_forgotten_enabled) throw new DomainError('PERMISSION_DENIED', 'Password reset is disabled.');
    const addr = normalizeEmail(email);
    if (!addr || emailProblem(addr)) throw fieldError('email', 'Enter a valid email address.');
    await this.limitEmails(tenant, 'reset', addr);
    const now = this.d.clock.now();
    this.afterAnswer(async () => {
      const users = new Map<number, User>();
      const primary = await this.d.store.read.users.findOneByEmail(tenant.pk, addr);
      if (primary) users.set(primary.pk, primary);
      for (const a of await this.d.store.read.emailAddresses.byEmail(tenant.pk, addr)) {
        if (!a.verified || users.has(a.userPk)) continue;
        const u = await this.d.store.read.users.findByPk(a.userPk);
        if (u) users.set(u.pk, u);
      }
      for (const user of users.values()) {
        if (!user.isActive) continue;
        const token = randomToken(32);
        await this.d.store.transaction((r) => r.emailTokens.insert({
          token_hash: resetTokenHash(token, user), purpose: 'reset', user_pk: user.pk, email_pk: null, created_at: now,
          expires_at: now + settings.password_reset_timeout * 1000, used_at: null,
        }));
        await this.d.mailer.send(resetMessage(this.d.publicUrl, tenant.displayName, addr, user.username, user.id, token, settings.password_reset_timeout));
      }
    });
  }

  /**
   * Sets a new password from a reset link: single use, before it expires, and only while the
   * password is unchanged (the token's stored hash covers the password hash of the moment it
   * was made, as Django's tokens do, so any change of password by any route voids it exactly).
   */
  async confirmPasswordReset(input: { uid: string; token: string; new1: string; new2: string }): Promise<void> {
    const errors = new FieldErrorBag();
    if (input.new1 !== input.new2) errors.add('new_password2', MISMATCH);
    const user = isUuid(input.uid) ? await this.d.store.read.users.findById(input.uid) : undefined;
    const hash = user && input.token.length > 0 && input.token.length <= 200 ? resetTokenHash(input.token, user) : undefined;
    const row = hash ? await this.d.store.read.emailTokens.find(hash) : undefined;
    const now = this.d.clock.now();
    const valid = user && row && row.user_pk === user.pk && row.purpose === 'reset' && row.used_at === null && row.expires_at > now && user.isActive;
    if (!user) errors.add('uid', 'Invalid value');
    else if (!valid) errors.add('token', 'Invalid value');
    if (valid) {
      for (const m of await this.d.passwords.problems(user.tenantPk, input.new1, user)) errors.add('new_password2', m);
    }
    errors.throwIfAny();
    const target = user!;
    const passwordHash = await this.d.passwords.hash(input.new1);
    const tenant = (await this.d.tenants.byPk(target.tenantPk))!;
    await this.d.store.transaction(async (r) => {
      if (!(await r.emailTokens.consume(hash!, now))) throw validationError({ token: ['Invalid value'] });
      await this.d.passwords.write(r, target, passwordHash, { event: { type: 'password.reset' } });
      // A reset proves control of the address: it lifts a lock on the account.
      await this.d.throttle.unlock(tenant, target.username, target.email);
    });
  }

  // --- e-mail addresses ---------------------------------------------------------------------

  /**
   * Keeps the address rows in step with the user's e-mail when it was set another way (the v1
   * or AuthN APIs, an administrator): that address is the primary one, verified only if it was.
   */
  private async ensurePrimaryRow(user: User): Promise<void> {
    if (!user.email) return;
    const row = await this.d.store.read.emailAddresses.findForUser(user.pk, user.email);
    if (row?.primary) return;
    try {
      await this.d.store.transaction(async (r) => {
        const target = row ?? await r.emailAddresses.insert({
          tenantPk: user.tenantPk, userPk: user.pk, email: user.email, verified: user.emailVerified, primary: false, createdAt: this.d.clock.now(),
        });
        await r.emailAddresses.setPrimary(user.pk, target.pk);
        if (target.verified !== user.emailVerified) await r.users.update(user.pk, { emailVerified: target.verified });
      });
    } catch (err) {
      if (!isUniqueViolation(err)) throw err;
    }
  }

  async listEmails(p: Principal, page: PageRequest): Promise<Page<EmailAddress>> {
    await this.ensurePrimaryRow(p.user);
    return this.d.store.read.emailAddresses.forUser(p.user.pk, page);
  }

  async addEmail(p: Principal, raw: string): Promise<EmailAddress> {
    await this.ensurePrimaryRow(p.user);
    const email = normalizeEmail(raw);
    const ep = email ? emailProblem(email) : 'This field may not be blank.';
    if (ep) throw fieldError('email', ep);
    if (await this.d.store.read.emailAddresses.findForUser(p.user.pk, email)) throw fieldError('email', 'This e-mail address is already assigned to this account.');
    const owner = await this.d.store.read.emailAddresses.verifiedOwner(p.tenant.pk, email);
    if (owner) throw fieldError('email', 'This e-mail address is already associated with another account.');
    let created: { address: EmailAddress; key: string };
    try {
      created = await this.d.store.transaction(async (r) => {
        const address = await r.emailAddresses.insert({ tenantPk: p.tenant.pk, userPk: p.user.pk, email, verified: false, primary: false, createdAt: this.d.clock.now() });
        return { address, key: await this.verificationToken(r, p.user, address) };
      });
    } catch (err) {
      if (isUniqueViolation(err)) throw fieldError('email', 'This e-mail address is already assigned to this account.');
      throw err;
    }
    try {
      await this.sendOrFail(verificationMessage(this.d.publicUrl, p.tenant.displayName, email, p.user.username, created.key));
    } catch (err) {
      await this.d.store.transaction((r) => r.emailAddresses.delete(created.address.pk));
      throw err;
    }
    return created.address;
  }

  private async ownEmail(p: Principal, id: number): Promise<EmailAddress> {
    const a = Number.isSafeInteger(id) && id > 0 ? await this.d.store.read.emailAddresses.find(id) : undefined;
    if (!a || a.userPk !== p.user.pk) throw notFound();
    return a;
  }

  async sendEmailVerification(p: Principal, id: number): Promise<EmailAddress> {
    const a = await this.ownEmail(p, id);
    if (a.verified) throw validationError({ non_field_errors: ['This e-mail address is already verified.'] });
    // The same limit as a resend: both send the message to the address.
    await this.limitEmails(p.tenant, 'verify', a.email);
    const key = await this.d.store.transaction((r) => this.verificationToken(r, p.user, a));
    await this.sendOrFail(verificationMessage(this.d.publicUrl, p.tenant.displayName, a.email, p.user.username, key));
    return a;
  }

  /** Makes a verified address the primary one; the user's e-mail follows it. */
  async makePrimary(p: Principal, id: number): Promise<EmailAddress> {
    const a = await this.ownEmail(p, id);
    if (!a.verified) throw validationError({ non_field_errors: ['Only a verified e-mail address can be primary.'] });
    const now = this.d.clock.now();
    await this.d.store.transaction(async (r) => {
      await r.emailAddresses.setPrimary(p.user.pk, a.pk);
      await r.users.update(p.user.pk, { email: a.email, emailVerified: true, updatedAt: now });
      if (a.email !== p.user.email) await this.d.events.emit({ type: 'email.changed', tenantPk: p.tenant.pk, userPk: p.user.pk });
    });
    return { ...a, primary: true };
  }

  async removeEmail(p: Principal, id: number): Promise<EmailAddress> {
    const a = await this.ownEmail(p, id);
    if (a.primary) throw validationError({ non_field_errors: ['The primary e-mail address cannot be removed.'] });
    await this.d.store.transaction((r) => r.emailAddresses.delete(a.pk));
    return a;
  }

  // --- providers and social accounts --------------------------------------------------------

  async providers(tenantName: string | undefined): Promise<ProvidersView> {
    const tenant: Tenant = await this.d.tenants.resolve(tenantName);
    const s = await this.d.settings.forTenant(tenant.pk);
    return {
      registrationEnabled: s.registration_enabled, passwordForgottenEnabled: s.password_forgotten_enabled, mfaRequired: s.mfa_required,
      ssoEnabled: s.sso_enabled, ssoRegistration: s.sso_registration,
      providers: s.social_providers.map((p) => ({
        id: p.id, name: p.name,
        login: `${this.d.publicUrl}/api/auth/social/${p.id}/login/`,
        connect: `${this.d.publicUrl}/api/auth/social/${p.id}/connect/`,
      })),
    };
  }

  /** Links an upstream account to a user (the upstream sign-in flow, to come, calls this). */
  async linkSocialAccount(user: User, provider: string, uid: string): Promise<SocialAccount> {
    try {
      const r = await this.d.store.transaction((x) => x.socialAccounts.insert({ tenant_pk: user.tenantPk, user_pk: user.pk, provider, uid, date_joined: this.d.clock.now(), last_login: null }));
      return { id: r.pk, provider: r.provider, uid: r.uid, dateJoined: r.date_joined, lastLogin: r.last_login };
    } catch (err) {
      if (isUniqueViolation(err)) throw validationError({ non_field_errors: ['This account is already connected to a user.'] });
      throw err;
    }
  }

  async listSocialAccounts(p: Principal, page: PageRequest): Promise<Page<SocialAccount>> {
    const r = await this.d.store.read.socialAccounts.forUser(p.user.pk, page);
    return { count: r.count, items: r.items.map((x) => ({ id: x.pk, provider: x.provider, uid: x.uid, dateJoined: x.date_joined, lastLogin: x.last_login })) };
  }

  /** Unlinks one; refused while it is the user's only way to sign in (no password, no other account). */
  async disconnectSocialAccount(p: Principal, id: number): Promise<void> {
    const acc = Number.isSafeInteger(id) && id > 0 ? await this.d.store.read.socialAccounts.find(id) : undefined;
    if (!acc || acc.user_pk !== p.user.pk) throw notFound();
    const user = await this.d.store.read.users.findByPk(p.user.pk);
    const others = (await this.d.store.read.socialAccounts.forUser(p.user.pk, { offset: 0, limit: 2 })).count - 1;
    if (!user?.passwordHash && others === 0) {
      throw validationError({ non_field_errors: ['Your account has no password set up: this is your only way to sign in.'] });
    }
    await this.d.store.transaction(async (r) => {
      await r.socialAccounts.delete(acc.pk);
      await this.d.events.emit({ type: 'user.updated', tenantPk: p.tenant.pk, userPk: p.user.pk, detail: { fields: `social:${acc.provider}:disconnected` } });
    });
  }

  /** Administrators lift a sign-in lock (as a password reset does). */
  async unlock(p: Principal, userId: string): Promise<void> {
    const user = await this.d.users.get(p, userId);
    requireUserManager(p, user);
    const tenant = (await this.d.tenants.byPk(user.tenantPk))!;
    await this.d.throttle.unlock(tenant, user.username, user.email);
  }
}

