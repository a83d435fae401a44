// Setting a password, the one way every route does it: the tenant's policy, argon2id, the new
// hash written with the user's other sign-ins ended, and the audit event, in one transaction.
// Change (both APIs), reset, an administrator's set and registration all come through here.
import type { Repos, Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { User } from '../types.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { PasswordHasher } from './password-hasher.ts';
import { checkPassword, MAX_PASSWORD_BYTES } from './password-policy.ts';
import { endAllSignIns, type KeptSignIn, type SignInRepos } from '../sessions/end-sign-ins.ts';

export const WRONG_CURRENT_PASSWORD = 'Your old password was entered incorrectly. Please enter it again.';

export interface PasswordWrite {
  /** `password.changed` (by the user or an administrator) or `password.reset` (by an e-mailed link). */
  event: { type: 'password.changed'; by: 'self' | 'administrator'; actorPk: number | null } | { type: 'password.reset' };
  /** The sign-in that stays (a user changing its own password); every other one ends. */
  keep?: KeptSignIn;
}

export class Passwords {
  private readonly d: { store: Store; clock: Clock; hasher: PasswordHasher; settings: SettingsService; events: Events };

  constructor(deps: Passwords['d']) {
    this.d = deps;
  }

  /** The policy's complaints about `password` as the new password of `who` in a tenant (empty when it passes). */
  async problems(tenantPk: number, password: string, who: { username: string; email: string }): Promise<string[]> {
    return checkPassword(password, await this.d.settings.forTenant(tenantPk), who);
  }

  /**
   * Whether `password` is the user's current one. Exactly one verification runs, a dummy one
   * when the user has no password, so a wrong answer takes as long whatever the account.
   */
  async isCurrent(user: User, password: string): Promise<boolean> {
    if (!user.passwordHash || Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
      await this.d.hasher.verifyDummy(password.slice(0, MAX_PASSWORD_BYTES));
      return false;
    }
    return this.d.hasher.verify(user.passwordHash, password);
  }

  /** The stored form of a new password; before any transaction (a write must not wait on a hash). */
  hash(password: string): Promise<string> {
    return this.d.hasher.hash(password);
  }

  /** Writes a hash made by `hash` as the user's password, inside the caller's transaction. */
  async write(r: Pick<Repos, 'users' | SignInRepos>, user: User, passwordHash: string, how: PasswordWrite): Promise<void> {
    const now = this.d.clock.now();
    await r.users.update(user.pk, { passwordHash, passwordChangedAt: now, updatedAt: now });
    await endAllSignIns(r, now, user.pk, how.event.type === 'password.reset' ? 'password_reset' : 'password_changed', how.keep);
    const base = { tenantPk: user.tenantPk, userPk: user.pk };
    if (how.event.type === 'password.reset') await this.d.events.emit({ ...base, type: 'password.reset' });
    else await this.d.events.emit({ ...base, type: 'password.changed', actorPk: how.event.actorPk, detail: { by: how.event.by } });
  }

  /** Hashes and writes in one go, for callers with nothing else to write. */
  async set(user: User, password: string, how: PasswordWrite): Promise<void> {
    const passwordHash = await this.hash(password);
    await this.d.store.transaction((r) => this.write(r, user, passwordHash, how));
  }
}
