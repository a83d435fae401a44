// A user's e-mail addresses (django-allauth's): add one (verified by its message), make a
// verified one primary (the user's e-mail follows it), remove one that is not primary.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import { fieldError, notFound, validationError } from '../errors.ts';
import type { Events } from '../events.ts';
import type { Page, PageRequest, Principal, User } from '../types.ts';
import { emailProblem, normalizeEmail } from '../users/user-fields.ts';
import type { EmailAddress } from './email-address.ts';
import type { EmailLimits } from './email-limits.ts';
import type { EmailVerification } from './email-verification.ts';
import type { Outbox } from './outbox.ts';

export class EmailAddresses {
  private readonly d: { store: Store; clock: Clock; events: Events; verification: EmailVerification; outbox: Outbox; limits: EmailLimits };

  constructor(deps: EmailAddresses['d']) {
    this.d = deps;
  }

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
      if (!this.d.store.isConflict(err)) throw err;
    }
  }

  async list(p: Principal, page: PageRequest): Promise<Page<EmailAddress>> {
    await this.ensurePrimaryRow(p.user);
    return this.d.store.read.emailAddresses.forUser(p.user.pk, page);
  }

  async add(p: Principal, raw: string): Promise<EmailAddress> {
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
        return { address, key: await this.d.verification.newKey(r, p.user, address) };
      });
    } catch (err) {
      if (this.d.store.isConflict(err)) throw fieldError('email', 'This e-mail address is already assigned to this account.');
      throw err;
    }
    try {
      await this.d.outbox.sendOrFail(this.d.verification.message(p.tenant, p.user, email, created.key));
    } catch (err) {
      await this.d.store.transaction((r) => r.emailAddresses.delete(created.address.pk));
      throw err;
    }
    return created.address;
  }

  private async own(p: Principal, id: number): Promise<EmailAddress> {
    const a = Number.isSafeInteger(id) && id > 0 ? await this.d.store.read.emailAddresses.find(id) : undefined;
    if (!a || a.userPk !== p.user.pk) throw notFound();
    return a;
  }

  async sendVerification(p: Principal, id: number): Promise<EmailAddress> {
    const a = await this.own(p, id);
    if (a.verified) throw validationError({ non_field_errors: ['This e-mail address is already verified.'] });
    // The same limit as a resend: both send the message to the address.
    await this.d.limits.count(p.tenant, 'verify', a.email);
    const key = await this.d.store.transaction((r) => this.d.verification.newKey(r, p.user, a));
    await this.d.outbox.sendOrFail(this.d.verification.message(p.tenant, p.user, a.email, key));
    return a;
  }

  /** Makes a verified address the primary one; the user's e-mail follows it. */
  async makePrimary(p: Principal, id: number): Promise<EmailAddress> {
    const a = await this.own(p, id);
    if (!a.verified) throw validationError({ non_field_errors: ['Only a verified e-mail address can be primary.'] });
    const now = this.d.clock.now();
    await this.d.store.transaction(async (r) => {
      await r.emailAddresses.setPrimary(p.user.pk, a.pk);
      await r.users.update(p.user.pk, { email: a.email, emailVerified: true, updatedAt: now });
      if (a.email !== p.user.email) await this.d.events.emit({ type: 'email.changed', tenantPk: p.tenant.pk, userPk: p.user.pk });
    });
    return { ...a, primary: true };
  }

  async remove(p: Principal, id: number): Promise<EmailAddress> {
    const a = await this.own(p, id);
    if (a.primary) throw validationError({ non_field_errors: ['The primary e-mail address cannot be removed.'] });
    await this.d.store.transaction((r) => r.emailAddresses.delete(a.pk));
    return a;
  }
}
