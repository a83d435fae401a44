// Signing up with a passkey alone (django-allauth's "passkey signup"): the person gives an address
// (and a username), is given creation options for a passkey that keeps itself on the device and
// verifies its user, and hands the new passkey back. The account is made only then, with its
// passkey and its address, in one transaction: a sign-up abandoned, or answered with a credential
// that does not hold, leaves no account (only its pending row, which expires). The rules of
// signing up are the password sign-up's (registration.ts `admit`, users.checkNew): registration
// open, the same field checks, so the answers tell no more about who has an account. The new
// account has no password; the passkey is its first factor (`webauthn`), and then the sign-in
// goes on as any does: an address the tenant wants verified first leaves it pending at
// `verify_email`. No recovery codes come with it (django-allauth makes none at a passkey sign-up);
// the user makes them later.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import { selfService } from '../actor.ts';
import { FieldErrorBag, tokenInvalid } from '../errors.ts';
import { randomToken, sha256 } from '../secrets.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { UsersService } from '../users/users-service.ts';
import type { Passkeys } from '../mfa/passkeys.ts';
import type { SignInStarts } from '../sign-in/sign-in-starts.ts';
import type { SignInFlow } from '../sign-in/sign-in-flow.ts';
import { PENDING_FLOW_LIFETIME_MS } from '../sign-in/pending-flows.ts';
import type { Issue, SignInOutcome } from '../sign-in/sign-in-request.ts';
import type { Tenant } from '../types.ts';
import type { Outbox } from './outbox.ts';
import type { Registration } from './registration.ts';
import type { PasskeySignupRecord } from './passkey-signups-repo.ts';
import type { PublicKeyCredentialCreationOptionsJSON } from '@simplewebauthn/server';

const flowInvalid = () => tokenInvalid('This sign-up has expired or is unknown. Sign up again.');

export class PasskeySignup {
  private readonly d: {
    store: Store; clock: Clock; tenants: TenantsService; users: UsersService; registration: Registration; passkeys: Passkeys; signIn: SignInFlow; outbox: Outbox; starts: SignInStarts;
  };

  constructor(deps: PasskeySignup['d']) {
    this.d = deps;
  }

  /** Checks what the person asks for as a password sign-up would, and keeps it until the passkey comes: the flow's token. */
  async start(tenantName: string | undefined, input: { username?: string; email?: string }): Promise<{ flowToken: string; expiresAt: number; tenant: Tenant }> {
    const { tenant, email, username } = await this.admit(tenantName, input.email, input.username);
    await this.d.starts.count(tenant);
    const flowToken = randomToken(32);
    const now = this.d.clock.now();
    const record: PasskeySignupRecord = {
      tokenHash: sha256(flowToken), tenantPk: tenant.pk, username, email, userHandle: randomToken(32), challengeHash: null,
      createdAt: now, expiresAt: now + PENDING_FLOW_LIFETIME_MS,
    };
    await this.d.store.transaction(async (r) => {
      await r.passkeySignups.deleteExpired(now);
      await r.passkeySignups.insert(record);
    });
    return { flowToken, expiresAt: record.expiresAt, tenant };
  }

  /** The tenant of a sign-up still waiting on its passkey; undefined when its token is unknown, used or expired. */
  async pending(flowToken: string): Promise<{ tenantPk: number; expiresAt: number; email: string; username: string } | undefined> {
    const row = await this.live(flowToken);
    return row && { tenantPk: row.tenantPk, expiresAt: row.expiresAt, email: row.email, username: row.username };
  }

  /** Creation options for the sign-up's passkey; the latest options' challenge is the only one that completes it. */
  async creationOptions(flowToken: string): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const row = await this.live(flowToken);
    if (!row) throw flowInvalid();
    const tenant = await this.tenantOf(row);
    const options = await this.d.passkeys.signupOptions(tenant, row);
    await this.d.store.transaction((r) => r.passkeySignups.setChallenge(row.tokenHash, sha256(options.challenge)));
    return options;
  }

  /**
   * Completes the sign-up with the new passkey: checks it (a wrong one leaves the sign-up pending,
   * its challenge spent), then makes the account, its address and its passkey in one transaction
   * that also uses the sign-up up (a replay finds it used), and signs the account in.
   */
  async complete(flowToken: string, input: { name: string; credential: unknown }, issue: Issue): Promise<SignInOutcome> {
    const row = await this.live(flowToken);
    if (!row) throw flowInvalid();
    const tenant = await this.tenantOf(row);
    const checked = await this.d.passkeys.checkSignup(tenant, input.credential, input.name, row.challengeHash, row.userHandle);
    // The tenant may have closed registration, or someone taken the name or verified the address, meanwhile.
    const { email, username } = await this.admit(tenant.name, row.email, row.username);
    const made = await this.d.store.transaction(async (r) => {
      if (!(await r.passkeySignups.consume(row.tokenHash, this.d.clock.now()))) throw flowInvalid();
      const user = await this.d.users.create(selfService(tenant), { username, password: null, email, tenant: tenant.name });
      const mail = email ? await this.d.registration.firstAddress(r, tenant, user, email) : undefined;
      await this.d.passkeys.store(r, tenant, user, checked);
      return { user, mail };
    });
    const { user, mail } = made;
    if (mail) {
      try {
        // Sent before answering, as a password sign-up's: when it cannot be, the account is taken back.
        await this.d.outbox.sendOrFail(this.d.registration.verificationMessage(tenant, user, email, mail.key));
      } catch (err) {
        await this.d.registration.takeBack(tenant, user);
        throw err;
      }
    }
    return this.d.signIn.startNewAccount(user, { issue, amr: ['webauthn'], method: 'webauthn_signup' });
  }

  private async admit(tenantName: string | undefined, emailInput: string | undefined, usernameInput: string | undefined) {
    const errors = new FieldErrorBag();
    // A passkey account needs an address (django-allauth's rule for passkey sign-ups): it is how the person gets back in.
    const { tenant, email } = await this.d.registration.admit(tenantName, emailInput, errors, { emailRequired: true });
    errors.throwIfAny();
    // Without a username, the address is the username (as the headless password sign-up does).
    const username = usernameInput ?? email;
    await this.d.users.checkNew(selfService(tenant), { username, password: null, email, tenant: tenant.name });
    return { tenant, email, username };
  }

  private async live(flowToken: string): Promise<PasskeySignupRecord | undefined> {
    if (flowToken.length === 0 || flowToken.length > 200) return undefined;
    const row = await this.d.store.read.passkeySignups.find(sha256(flowToken));
    return row && row.expiresAt > this.d.clock.now() ? row : undefined;
  }

  private async tenantOf(row: PasskeySignupRecord): Promise<Tenant> {
    const tenant = await this.d.tenants.byPk(row.tenantPk);
    if (!tenant?.isActive) throw flowInvalid();
    return tenant;
  }
}
