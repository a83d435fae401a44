// Registering oneself (dj-rest-auth's registration): a new ordinary account of the tenant, its
// address and the verification message, and a sign-in unless the address must be verified first.
import type { Repos, Store } from '../store.ts';
import type { Tenant, User } from '../types.ts';
import { selfService } from '../actor.ts';
import type { Clock } from '../clock.ts';
import { DomainError, FieldErrorBag } from '../errors.ts';
import type { Events } from '../events.ts';
import type { NewSession } from '../sessions/sessions-service.ts';
import type { SignInFlow } from '../sign-in/sign-in-flow.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import { emailProblem, normalizeEmail } from '../users/user-fields.ts';
import type { UsersService } from '../users/users-service.ts';
import { OWNED_ELSEWHERE, type EmailVerification } from './email-verification.ts';
import type { Outbox } from './outbox.ts';

const MISMATCH = "The two password fields didn't match.";

export interface Registered {
  /** The token key, unless the address must be verified before signing in. */
  key: string | null;
  session: NewSession | null;
}

export class Registration {
  private readonly d: {
    store: Store; clock: Clock; events: Events; settings: SettingsService; tenants: TenantsService; users: UsersService;
    signIn: SignInFlow; verification: EmailVerification; outbox: Outbox;
  };

  constructor(deps: Registration['d']) {
    this.d = deps;
  }

  /**
   * What signing up asks besides the account's own rules (users.create has those), whether by
   * password or by passkey: registration open in the tenant (else PERMISSION_DENIED), an address
   * when it must be verified, a valid one, and not one another user of the tenant has verified.
   * Problems go into `errors`, which the caller throws.
   */
  async admit(tenantName: string | undefined, emailInput: string | undefined, errors: FieldErrorBag, opts: { emailRequired?: boolean } = {}): Promise<{ tenant: Tenant; email: string }> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const settings = await this.d.settings.forTenant(tenant.pk);
    if (!settings.registration_enabled) throw new DomainError('PERMISSION_DENIED', 'Registration is closed.');
    const email = normalizeEmail(emailInput ?? '');
    if ((settings.email_verification_mandatory || opts.emailRequired) && !email) errors.add('email', 'This field is required.');
    const ep = emailProblem(email);
    if (ep) errors.add('email', ep);
    // As adding an address: one verified by another user of the tenant is theirs (and signing in
    // by e-mail must keep finding them).
    if (email && !ep && (await this.d.store.read.emailAddresses.verifiedOwner(tenant.pk, email))) errors.add('email', OWNED_ELSEWHERE);
    return { tenant, email };
  }

  /** A new account's address (primary, unverified) and the key of its verification message, in the caller's transaction. */
  async firstAddress(r: Repos, tenant: Tenant, user: User, email: string): Promise<{ key: string }> {
    const address = await r.emailAddresses.insert({ tenantPk: tenant.pk, userPk: user.pk, email, verified: false, primary: true, createdAt: this.d.clock.now() });
    return { key: await this.d.verification.newKey(r, user, address) };
  }

  /** The verification message of a new account's address. */
  verificationMessage(tenant: Tenant, user: User, email: string, key: string) {
    return this.d.verification.message(tenant, user, email, key);
  }

  /** `signIn: false`: the caller signs the new account in itself (the headless API, through the flow it can continue). */
  async register(tenantName: string | undefined, input: { username: string; email?: string; password1: string; password2: string }, opts: { signIn?: boolean } = {}): Promise<Registered> {
    const errors = new FieldErrorBag();
    const { tenant, email } = await this.admit(tenantName, input.email, errors);
    if (input.password1 !== input.password2) errors.add('non_field_errors', MISMATCH);
    errors.throwIfAny();
    // Password policy, username rules and uniqueness: the one place users are created.
    const user = await this.d.users.create(selfService(tenant), { username: input.username, password: input.password1, email, tenant: tenant.name });
    try {
      const mail = email === '' ? undefined : await this.d.store.transaction((r) => this.firstAddress(r, tenant, user, email));
      // The message is sent before answering: when it cannot be, the account is taken back.
      if (mail) await this.d.outbox.sendOrFail(this.verificationMessage(tenant, user, email, mail.key));
      // dj-rest-auth signs the new user in, through the one sign-in flow: unless the address must
      // be verified first (the flow's verify_email step), then nobody is signed in yet.
      if (opts.signIn === false) return { key: null, session: null };
      try {
        const { issued } = await this.d.signIn.newAccount(user, { kind: 'session_and_key' });
        return { key: issued.key, session: issued.session };
      } catch (err) {
        if (err instanceof DomainError && err.code === 'SIGN_IN_PENDING') return { key: null, session: null };
        throw err;
      }
    } catch (err) {
      await this.takeBack(tenant, user);
      throw err;
    }
  }

  /** A new account whose sign-up could not be completed (its verification message could not be sent) is taken back. */
  async takeBack(tenant: Tenant, user: User): Promise<void> {
    await this.d.store.transaction(async (r) => {
      await r.users.delete(user.pk);
      // The audit log saw the account made: it sees it taken back.
      await this.d.events.emit({ type: 'user.deleted', tenantPk: tenant.pk, userPk: null, detail: { username: user.username, user_id: user.id, reason: 'registration_not_completed' } });
    });
  }
}
