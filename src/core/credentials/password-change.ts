// A signed-in user changing its own password, as each API asks for it. Both check the current
// password the same way (one verification, a dummy one without a hash; the same words when it is
// wrong), apply the tenant's policy and set the new one through Passwords, keeping the sign-in used.
import type { Store } from '../store.ts';
import { FieldErrorBag, notAuthenticated } from '../errors.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import { signInOf } from '../sessions/end-sign-ins.ts';
import type { Principal, User } from '../types.ts';
import { WRONG_CURRENT_PASSWORD, type Passwords } from './passwords.ts';

const MISMATCH = "The two password fields didn't match.";

export class PasswordChange {
  private readonly d: { store: Store; settings: SettingsService; passwords: Passwords };

  constructor(deps: PasswordChange['d']) {
    this.d = deps;
  }

  private async current(p: Principal): Promise<User> {
    const user = await this.d.store.read.users.findByPk(p.user.pk);
    if (!user) throw notAuthenticated();
    return user;
  }

  private async apply(p: Principal, user: User, next: string): Promise<void> {
    await this.d.passwords.set(user, next, { event: { type: 'password.changed', by: 'self', actorPk: null }, keep: signInOf(p) });
  }

  /** The v1 API's: `current_password` always, `new_password` once. */
  async change(p: Principal, input: { current: string; next: string }): Promise<void> {
    const user = await this.current(p);
    const errors = new FieldErrorBag();
    if (!(await this.d.passwords.isCurrent(user, input.current))) errors.add('current_password', WRONG_CURRENT_PASSWORD);
    for (const m of await this.d.passwords.problems(user.tenantPk, input.next, user)) errors.add('new_password', m);
    errors.throwIfAny();
    await this.apply(p, user, input.next);
  }

  /** dj-rest-auth's: `new_password1`/`2`, and `old_password` when the tenant asks (`password_change_requires_old`). */
  async changeConfirmed(p: Principal, input: { old?: string; new1: string; new2: string }): Promise<void> {
    const user = await this.current(p);
    const settings = await this.d.settings.forTenant(user.tenantPk);
    const errors = new FieldErrorBag();
    if (settings.password_change_requires_old) {
      if (input.old === undefined) errors.add('old_password', 'This field is required.');
      else if (!(await this.d.passwords.isCurrent(user, input.old))) errors.add('old_password', WRONG_CURRENT_PASSWORD);
    }
    if (input.new1 !== input.new2) errors.add('new_password2', MISMATCH);
    for (const m of await this.d.passwords.problems(user.tenantPk, input.new1, user)) errors.add('new_password2', m);
    errors.throwIfAny();
    await this.apply(p, user, input.new1);
  }
}
