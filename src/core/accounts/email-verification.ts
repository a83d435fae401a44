// Verifying an e-mail address: the key in its message (single use, three days), and sending the
// message again.
import type { Repos, Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import { fieldError, validationError } from '../errors.ts';
import { verificationMessage } from '../mail/messages.ts';
import { tenantIssuer } from '../tokens/access-tokens.ts';
import { randomToken, sha256 } from '../secrets.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { Tenant, User } from '../types.ts';
import { emailProblem, normalizeEmail } from '../users/user-fields.ts';
import type { EmailAddress } from './email-address.ts';
import type { EmailLimits } from './email-limits.ts';
import type { Outbox } from './outbox.ts';

/** allauth's EMAIL_CONFIRMATION_EXPIRE_DAYS. */
const VERIFICATION_LIFETIME_MS = 3 * 86_400_000;
export const OWNED_ELSEWHERE = 'A user is already registered with this e-mail address.';

export class EmailVerification {
  private readonly d: { store: Store; clock: Clock; tenants: TenantsService; outbox: Outbox; limits: EmailLimits; publicUrl: string };

  constructor(deps: EmailVerification['d']) {
    this.d = deps;
  }

  /** Makes the key of a verification message for `address`, inside the caller's transaction (only its hash is kept). */
  async newKey(r: Pick<Repos, 'emailTokens'>, user: User, address: EmailAddress): Promise<string> {
    const key = randomToken(32);
    const now = this.d.clock.now();
    await r.emailTokens.insert({ token_hash: sha256(key), purpose: 'verify', user_pk: user.pk, email_pk: address.pk, created_at: now, expires_at: now + VERIFICATION_LIFETIME_MS, used_at: null });
    return key;
  }

  /** The verification message of `address` with `key`. */
  message(tenant: Tenant, user: User, email: string, key: string) {
    // The link opens the tenant's own pages (its issuer's /account/...), in its theme.
    return verificationMessage(tenantIssuer(this.d.publicUrl, tenant.name), tenant.displayName, email, user.username, key);
  }

  /** The address and account a verification key is for, without spending it (allauth's GET of the key). */
  async describe(key: string): Promise<{ email: string; user: User }> {
    const invalid = () => validationError({ key: ['Invalid or expired verification key.'] });
    if (key.length === 0 || key.length > 200) throw invalid();
    const row = await this.d.store.read.emailTokens.find(sha256(key));
    if (!row || row.purpose !== 'verify' || row.used_at !== null || row.expires_at <= this.d.clock.now() || row.email_pk === null) throw invalid();
    const address = await this.d.store.read.emailAddresses.find(row.email_pk);
    const user = address && (await this.d.store.read.users.findByPk(address.userPk));
    if (!address || !user) throw invalid();
    return { email: address.email, user };
  }

  /**
   * Confirms the address a verification key was sent to. `ofUser` (a pending sign-in continuing):
   * a key of another account's address is refused before it is spent.
   */
  async verify(key: string, opts: { ofUser?: number } = {}): Promise<{ userPk: number }> {
    const invalid = () => validationError({ key: ['Invalid or expired verification key.'] });
    if (key.length === 0 || key.length > 200) throw invalid();
    const hash = sha256(key);
    const row = await this.d.store.read.emailTokens.find(hash);
    const now = this.d.clock.now();
    if (!row || row.purpose !== 'verify' || row.used_at !== null || row.expires_at <= now || row.email_pk === null) throw invalid();
    const address = await this.d.store.read.emailAddresses.find(row.email_pk);
    if (!address) throw invalid();
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
      if (this.d.store.isConflict(err)) throw validationError({ key: [OWNED_ELSEWHERE] });
      throw err;
    }
    return { userPk: address.userPk };
  }

  /**
   * Sends a new verification message to an unverified address. The same answer either way, in
   * the same time: the look-up, the key and the message happen after the answer.
   */
  async resend(tenantName: string | undefined, email: string): Promise<void> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const addr = normalizeEmail(email);
    if (emailProblem(addr) || !addr) throw fieldError('email', 'Enter a valid email address.');
    await this.d.limits.count(tenant, 'verify', addr);
    this.d.outbox.afterAnswer(async () => {
      const candidates = (await this.d.store.read.emailAddresses.byEmail(tenant.pk, addr)).filter((a) => !a.verified);
      for (const address of candidates.slice(0, 3)) {
        const user = await this.d.store.read.users.findByPk(address.userPk);
        if (!user?.isActive) continue;
        const key = await this.d.store.transaction((r) => this.newKey(r, user, address));
        await this.d.outbox.send(this.message(tenant, user, address.email, key));
      }
    });
  }
}
