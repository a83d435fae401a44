// Resetting a forgotten password by an e-mailed link (dj-rest-auth's password reset).
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { LoginThrottle } from '../credentials/login-throttle.ts';
import type { Passwords } from '../credentials/passwords.ts';
import { DomainError, FieldErrorBag, fieldError, validationError } from '../errors.ts';
import { resetMessage } from '../mail/messages.ts';
import { tenantIssuer } from '../tokens/access-tokens.ts';
import { isUuid, randomToken, sha256 } from '../secrets.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { User } from '../types.ts';
import { emailProblem, normalizeEmail } from '../users/user-fields.ts';
import type { EmailLimits } from './email-limits.ts';
import type { Outbox } from './outbox.ts';

const MISMATCH = "The two password fields didn't match.";

/** A reset token is stored as the SHA-256 of itself with the user's password hash at the time. */
const resetTokenHash = (token: string, user: User) => sha256(`${token}\n${user.passwordHash ?? ''}`);

export class PasswordReset {
  private readonly d: {
    store: Store; clock: Clock; settings: SettingsService; tenants: TenantsService; passwords: Passwords; throttle: LoginThrottle;
    outbox: Outbox; limits: EmailLimits; publicUrl: string;
  };

  constructor(deps: PasswordReset['d']) {
    this.d = deps;
  }

  /**
   * Sends a reset link to every active account with this address. The same answer either way,
   * in the same time: finding the accounts, making the tokens and sending happen after it.
   */
  async request(tenantName: string | undefined, email: string): Promise<void> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const settings = await this.d.settings.forTenant(tenant.pk);
    if (!settings.password_forgotten_enabled) throw new DomainError('PERMISSION_DENIED', 'Password reset is disabled.');
    const addr = normalizeEmail(email);
    if (!addr || emailProblem(addr)) throw fieldError('email', 'Enter a valid email address.');
    await this.d.limits.count(tenant, 'reset', addr);
    const now = this.d.clock.now();
    this.d.outbox.afterAnswer(async () => {
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
        await this.d.outbox.send(resetMessage(tenantIssuer(this.d.publicUrl, tenant.name), tenant.displayName, addr, user.username, user.id, token, settings.password_reset_timeout));
      }
    });
  }

  /** The account a reset link is for, while the link still works (allauth's GET of the key); VALIDATION_FAILED on `token` otherwise. */
  async describe(input: { uid: string; token: string }): Promise<User> {
    const user = isUuid(input.uid) ? await this.d.store.read.users.findById(input.uid) : undefined;
    const hash = user && input.token.length > 0 && input.token.length <= 200 ? resetTokenHash(input.token, user) : undefined;
    const row = hash ? await this.d.store.read.emailTokens.find(hash) : undefined;
    if (!user || !row || row.user_pk !== user.pk || row.purpose !== 'reset' || row.used_at !== null || row.expires_at <= this.d.clock.now() || !user.isActive) {
      throw validationError({ token: ['The password reset token was invalid.'] });
    }
    return user;
  }

  /**
   * Sets a new password from a reset link: single use, before it expires, and only while the
   * password is unchanged (the token's stored hash covers the password hash of the moment it
   * was made, as Django's tokens do, so any change of password by any route voids it exactly).
   */
  async confirm(input: { uid: string; token: string; new1: string; new2: string }): Promise<void> {
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
}
