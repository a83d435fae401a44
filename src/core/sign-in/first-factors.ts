// First factors: how a sign-in finds the account and proves the person holds it. Each is a
// strategy (kratos' word): the flow asks it for a proof and never looks inside. An upstream
// identity, a passkey or an e-mailed code will each be one more entry in FirstFactors.
import crypto from 'node:crypto';
import type { Store } from '../store.ts';
import type { RequestOrigin } from '../audit/audit-log.ts';
import type { LoginThrottle } from '../credentials/login-throttle.ts';
import type { PasswordHasher } from '../credentials/password-hasher.ts';
import { MAX_PASSWORD_BYTES } from '../credentials/password-policy.ts';
import { invalidCredentials } from '../errors.ts';
import type { Tenant, User } from '../types.ts';
import { normalizeEmail, normalizeUsername } from '../users/user-fields.ts';
import type { FirstFactorInput } from './sign-in-request.ts';

/** Why a later step refused an account the factor proved. */
export type RefusalReason = 'inactive';

export interface FirstFactorProof {
  user: User;
  /** What it proved, in RFC 8176's words (`pwd`; a passkey: `webauthn`); the factor's method when absent. */
  amr?: string[];
  /** Runs once the account's state is accepted, outside any transaction (a slow hash upgrade). */
  accepted(): Promise<void>;
  /** Inside the transaction that completes (or suspends) the sign-in: what success resets. */
  settle(): Promise<void>;
  /** A later step refused the account: counted and recorded as this factor's failure, then INVALID_CREDENTIALS. */
  refuse(reason: RefusalReason): Promise<never>;
}

export interface FirstFactor<I extends FirstFactorInput = FirstFactorInput> {
  readonly method: I['method'];
  /** Finds the account and checks the proof; refuses (counted where the factor counts) with INVALID_CREDENTIALS. */
  prove(tenant: Tenant, input: I): Promise<FirstFactorProof>;
}

export type FirstFactors = { [M in FirstFactorInput['method']]: FirstFactor<Extract<FirstFactorInput, { method: M }>> };

/**
 * The password. Exactly one hash verification runs whether or not the user exists, has a
 * password or is active, so neither answer nor time tells them apart (see decoyCheck). The attempt is counted
 * (committed) before the hash, so parallel guesses count; success restarts the count.
 */
export function passwordFactor(d: { store: Store; hasher: PasswordHasher; throttle: LoginThrottle; origin: () => RequestOrigin | undefined }): FirstFactor<Extract<FirstFactorInput, { method: 'password' }>> {
  /**
   * The one verification of a name with no password to check: against the stored hash of an
   * account of the tenant that the name picks (always the same one for the same name), whose
   * result is thrown away. An unknown name then costs what an account of the tenant costs, in its
   * scheme (imported hashes are slower or faster than argon2id), so neither the time of one
   * attempt nor of many at one name tells an unknown name from an imported account; a tenant
   * with no passwords at all gets the argon2id dummy.
   */
  const decoyCheck = async (tenantPk: number, name: string, password: string): Promise<void> => {
    const pick = crypto.hash('sha256', `${tenantPk}\n${name.normalize('NFKC').toLowerCase()}`, 'buffer').readUInt32BE(0) / 2 ** 32;
    const decoy = await d.store.read.users.passwordHashAt(tenantPk, pick);
    if (decoy) await d.hasher.verify(decoy, password);
    else await d.hasher.verifyDummy(password);
  };
  return {
    method: 'password',
    async prove(tenant, input) {
      const ip = d.origin()?.ip;
      // An address is matched as it is stored (lower-case domain, no spaces); a username as typed, normalised by the look-up.
      const name = input.by === 'email' ? normalizeEmail(input.identifier) : input.identifier;
      await d.throttle.check(tenant, name, ip);
      const user = Buffer.byteLength(input.password, 'utf8') > MAX_PASSWORD_BYTES ? undefined
        : input.by === 'email' ? await d.store.read.users.findOneByEmail(tenant.pk, name)
        : await d.store.read.users.findByUsername(tenant.pk, normalizeUsername(name));
      // Signing in by e-mail counts against the account's name too: one limit per account, whatever it is called by.
      const names = user && input.by === 'email' ? [name, user.username] : [name];
      const claimed = await d.throttle.claim(tenant, ...names);
      const fail = async (userPk: number | null, reason: string): Promise<never> => {
        // The attempted name is not recorded for unknown users: people type passwords there.
        await d.throttle.failed(tenant, ip, userPk, claimed, { type: 'sign_in.failed', tenantPk: tenant.pk, userPk, detail: { reason } }, ...names);
        throw invalidCredentials();
      };
      if (!user || !user.passwordHash) {
        await decoyCheck(tenant.pk, name, input.password.slice(0, MAX_PASSWORD_BYTES));
        return fail(user?.pk ?? null, user ? 'no_password' : 'unknown_user');
      }
      const stored = user.passwordHash;
      if (!(await d.hasher.verify(stored, input.password))) return fail(user.pk, 'bad_password');
      return {
        user,
        amr: ['pwd'],
        async accepted() {
          if (!d.hasher.needsRehash(stored)) return;
          // Made with other parameters or another scheme (an imported hash): upgrade it now that we know the password.
          const upgraded = await d.hasher.hash(input.password);
          await d.store.transaction((r) => r.users.update(user.pk, { passwordHash: upgraded }));
          user.passwordHash = upgraded;
        },
        settle: () => d.throttle.succeeded(tenant, name, user.username),
        refuse: (reason) => fail(user.pk, reason),
      };
    },
  };
}
