// A user's second factors: TOTP, recovery codes and (passkeys.ts) passkeys. Enrolling, listing,
// removing, and checking one as the second step of a sign-in (sign-in-flow.ts asks here) or of a
// reauthentication. Wrong codes count in the account's failure throttle, as wrong passwords do.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { SecretBox } from '../secret-box.ts';
import type { LoginThrottle } from '../credentials/login-throttle.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { RequestOrigin } from '../audit/audit-log.ts';
import type { Tenant, User } from '../types.ts';
import { DomainError, fieldError, notFound } from '../errors.ts';
import { randomToken, sha256 } from '../secrets.ts';
import type { AuthenticatorRecord, AuthenticatorType } from './authenticators-repo.ts';
import { newTotpSecret, totpQrSvg, totpStep, totpUri, type TotpData } from './totp.ts';
import { hashRecoveryCode, looksLikeRecoveryCode, newRecoveryCodes, type RecoveryCodesData } from './recovery-codes.ts';

/** What a second factor proved, as RFC 8176 words it where it can (`rc`: a recovery code). */
export type SecondFactorMethod = 'otp' | 'rc' | 'webauthn';
// `mfa`: an upstream identity provider trusted for it (trusted_for_mfa) said it checked several factors.
export const SECOND_FACTOR_METHODS: readonly string[] = ['otp', 'rc', 'webauthn', 'mfa'];

/** An enrolled authenticator as front-ends show it (never a seed or a hash). */
export interface AuthenticatorView {
  id: number;
  type: AuthenticatorType;
  name: string | null;
  createdAt: number;
  lastUsedAt: number | null;
  /** recovery_codes: how many there were and how many are left. */
  totalCodes?: number;
  unusedCodes?: number;
  /** webauthn: whether it can sign in without a password (a discoverable credential). */
  passwordless?: boolean;
}

/** A passkey check, installed by the passkeys module (passkeys.ts). */
export interface PasskeyCheck {
  /** Checks `response` against a challenge of this user's; throws VALIDATION_FAILED when it does not hold. */
  verifyForUser(tenant: Tenant, user: User, response: unknown, purpose: 'authenticate' | 'reauthenticate'): Promise<void>;
}

export type SecondFactorInput = { code: string } | { webauthn: unknown };

const PENDING_TOTP_LIFETIME_MS = 10 * 60_000;
const wrongCode = () => fieldError('code', 'Incorrect code.');

export class SecondFactors {
  private readonly d: { store: Store; clock: Clock; events: Events; box: SecretBox; throttle: LoginThrottle; settings: SettingsService; issuer: (tenant: Tenant) => string; origin: () => RequestOrigin | undefined };
  private passkeyCheck: PasskeyCheck | undefined;

  constructor(deps: SecondFactors['d']) {
    this.d = deps;
  }

  /** The passkeys module plugs its check in here (it needs this service to list and store). */
  usePasskeys(check: PasskeyCheck): void {
    this.passkeyCheck = check;
  }

  async list(user: User): Promise<AuthenticatorView[]> {
    const rows = await this.d.store.read.authenticators.forUser(user.pk);
    return rows.filter((r) => !(r.type === 'totp' && (JSON.parse(r.data) as TotpData).pending)).map(view);
  }

  /** Whether the user has a second factor (TOTP or a passkey: recovery codes alone are a fallback, not a factor). */
  async enrolled(userPk: number): Promise<boolean> {
    const rows = await this.d.store.read.authenticators.forUser(userPk);
    return rows.some((r) => r.type === 'webauthn' || (r.type === 'totp' && !(JSON.parse(r.data) as TotpData).pending));
  }

  /** Whether the tenant requires a second factor and the user has none yet (they may only set one up). */
  async mustEnrol(tenant: Tenant, user: User): Promise<boolean> {
    // Settings are cached: a tenant that does not require one costs nothing here.
    if (!(await this.d.settings.forTenant(tenant.pk)).mfa_required) return false;
    return !(await this.enrolled(user.pk));
  }

  /** The TOTP seed to enrol (the same one for ten minutes, until confirmed), with its URI and QR code. */
  async totpSetup(tenant: Tenant, user: User): Promise<{ secret: string; uri: string; svg: string }> {
    const rows = (await this.d.store.read.authenticators.forUser(user.pk)).filter((r) => r.type === 'totp');
    const active = rows.find((r) => !(JSON.parse(r.data) as TotpData).pending);
    if (active) throw new DomainError('VALIDATION_FAILED', 'TOTP is already enabled.', { fields: { non_field_errors: ['TOTP is already enabled.'] } });
    const now = this.d.clock.now();
    let pending = rows.find((r) => now - r.createdAt < PENDING_TOTP_LIFETIME_MS);
    if (!pending) {
      const secret = newTotpSecret();
      await this.d.store.transaction(async (r) => {
        await r.authenticators.deleteForUser(user.pk, 'totp');
        const data: TotpData = { secret: this.d.box.seal(secret, seedContext(user)), lastStep: null, pending: true };
        const pk = await r.authenticators.insert({ tenantPk: tenant.pk, userPk: user.pk, type: 'totp', name: null, credentialId: null, data: JSON.stringify(data), createdAt: now, lastUsedAt: null });
        pending = { pk, tenantPk: tenant.pk, userPk: user.pk, type: 'totp', name: null, credentialId: null, data: JSON.stringify(data), createdAt: now, lastUsedAt: null };
      });
    }
    const secret = this.d.box.open((JSON.parse(pending!.data) as TotpData).secret, seedContext(user));
    const uri = totpUri(secret, this.d.issuer(tenant), user.email || user.username);
    return { secret, uri, svg: await totpQrSvg(uri) };
  }

  /**
   * Confirms the seed of `totpSetup` with a code from the app. The first second factor also
   * makes recovery codes (answered, shown once), as django-allauth does.
   */
  async totpActivate(tenant: Tenant, user: User, code: string): Promise<{ recoveryCodes: string[] | undefined }> {
    const row = (await this.d.store.read.authenticators.forUser(user.pk)).find((r) => r.type === 'totp');
    const data = row ? (JSON.parse(row.data) as TotpData) : undefined;
    if (!row || !data?.pending || this.d.clock.now() - row.createdAt >= PENDING_TOTP_LIFETIME_MS) {
      throw fieldError('code', 'Set up TOTP first: no secret is waiting for its code.');
    }
    const step = totpStep(this.d.box.open(data.secret, seedContext(user)), code.trim(), this.d.clock.now());
    if (step === null) throw wrongCode();
    let recoveryCodes: string[] | undefined;
    await this.d.store.transaction(async (r) => {
      const next: TotpData = { ...data, pending: false, lastStep: step };
      if (!(await r.authenticators.swapData(row.pk, row.data, JSON.stringify(next), this.d.clock.now()))) throw wrongCode();
      recoveryCodes = await this.ensureRecoveryCodes(r, tenant, user);
      await this.d.events.emit({ type: 'mfa.enabled', tenantPk: tenant.pk, userPk: user.pk, detail: { type: 'totp' } });
    });
    return { recoveryCodes };
  }

  async totpDeactivate(tenant: Tenant, user: User): Promise<void> {
    const row = (await this.d.store.read.authenticators.forUser(user.pk)).find((r) => r.type === 'totp' && !(JSON.parse(r.data) as TotpData).pending);
    if (!row) throw notFound('TOTP is not enabled.');
    await this.removed(tenant, user, row);
  }

  /** Removes one authenticator (a passkey by id); the recovery codes go with the last second factor. */
  async remove(tenant: Tenant, user: User, id: number): Promise<void> {
    const row = (await this.d.store.read.authenticators.forUser(user.pk)).find((r) => r.pk === id);
    if (!row) throw notFound();
    await this.removed(tenant, user, row);
  }

  private async removed(tenant: Tenant, user: User, row: AuthenticatorRecord): Promise<void> {
    await this.d.store.transaction(async (r) => {
      await r.authenticators.delete(row.pk);
      const left = (await r.authenticators.forUser(user.pk)).filter((a) => a.type === 'webauthn' || (a.type === 'totp' && !(JSON.parse(a.data) as TotpData).pending));
      if (left.length === 0) {
        await r.authenticators.deleteForUser(user.pk, 'recovery_codes');
        await r.trustedBrowsers.deleteForUser(user.pk);
      }
      await this.d.events.emit({ type: 'mfa.disabled', tenantPk: tenant.pk, userPk: user.pk, detail: { type: row.type } });
    });
  }

  /**
   * "Trust this browser": a token the browser keeps (a cookie) that skips the second factor of
   * this user's sign-ins for the tenant's `trust_browser_days`. Stored as SHA-256; removing the
   * last second factor forgets every trusted browser.
   */
  async trustBrowser(tenant: Tenant, user: User, days: number): Promise<{ token: string; expiresAt: number }> {
    const token = randomToken(TRUST_TOKEN_BYTES);
    const now = this.d.clock.now();
    const expiresAt = now + days * 86_400_000;
    await this.d.store.transaction((r) => r.trustedBrowsers.insert({ tokenHash: sha256(token), tenantPk: tenant.pk, userPk: user.pk, createdAt: now, expiresAt }));
    return { token, expiresAt };
  }

  async trusts(token: string, user: User): Promise<boolean> {
    if (token.length === 0 || token.length > 200) return false;
    const row = await this.d.store.read.trustedBrowsers.find(sha256(token));
    return row !== undefined && row.userPk === user.pk && row.expiresAt > this.d.clock.now();
  }

  /**
   * Rewrites every TOTP seed sealed under an older key of LATCHKEY_SECRET_KEYS under the first one,
   * so the older key can be dropped. Answers how many seeds there are and how many were rewritten.
   */
  async resealSeeds(): Promise<{ total: number; resealed: number }> {
    let total = 0;
    let resealed = 0;
    for (let after = 0; ;) {
      const rows = await this.d.store.read.authenticators.listOfType('totp', after, 200);
      if (rows.length === 0) break;
      for (const row of rows) {
        total++;
        const data = JSON.parse(row.data) as TotpData;
        if (this.d.box.isCurrent(data.secret)) continue;
        const context = `totp:${row.tenantPk}:${row.userPk}`;
        const next = JSON.stringify({ ...data, secret: this.d.box.reseal(data.secret, context) });
        // A sign-in that used the seed meanwhile changed `data`: its next pass reseals it.
        if (await this.d.store.transaction((r) => r.authenticators.swapData(row.pk, row.data, next, row.lastUsedAt ?? row.createdAt))) resealed++;
      }
      after = rows[rows.length - 1]!.pk;
    }
    return { total, resealed };
  }

  /** Recovery codes as the user may see them later: how many are left, never the codes. */
  async recoveryCodes(user: User): Promise<{ total: number; unused: number } | undefined> {
    const row = (await this.d.store.read.authenticators.forUser(user.pk)).find((r) => r.type === 'recovery_codes');
    if (!row) return undefined;
    const data = JSON.parse(row.data) as RecoveryCodesData;
    return { total: data.total, unused: data.unused.length };
  }

  /** Replaces every recovery code with ten new ones, answered once. Needs a second factor. */
  async regenerateRecoveryCodes(tenant: Tenant, user: User): Promise<string[]> {
    if (!(await this.enrolled(user.pk))) throw fieldError('non_field_errors', 'Set up a second factor first.');
    return this.d.store.transaction(async (r) => {
      await r.authenticators.deleteForUser(user.pk, 'recovery_codes');
      return (await this.ensureRecoveryCodes(r, tenant, user))!;
    });
  }

  /** Recovery codes for a user's first second factor (passkeys.ts); undefined when they exist already. */
  async ensureRecoveryCodesFor(tenant: Tenant, user: User): Promise<string[] | undefined> {
    return this.d.store.transaction((r) => this.ensureRecoveryCodes(r, tenant, user));
  }

  private async ensureRecoveryCodes(r: Store['read'], tenant: Tenant, user: User): Promise<string[] | undefined> {
    if ((await r.authenticators.forUser(user.pk)).some((a) => a.type === 'recovery_codes')) return undefined;
    const { codes, data } = newRecoveryCodes();
    await r.authenticators.insert({ tenantPk: tenant.pk, userPk: user.pk, type: 'recovery_codes', name: null, credentialId: null, data: JSON.stringify(data), createdAt: this.d.clock.now(), lastUsedAt: null });
    await this.d.events.emit({ type: 'mfa.recovery_codes_generated', tenantPk: tenant.pk, userPk: user.pk });
    return codes;
  }

  /**
   * Checks a second factor of `user`: a TOTP code (each accepted once), a recovery code (each
   * once; the audit row says how many are left), or a passkey's answer. Every attempt counts in
   * the account's failure throttle; a success starts the count again. Answers what it proved.
   */
  async verify(tenant: Tenant, user: User, input: SecondFactorInput, purpose: 'authenticate' | 'reauthenticate' = 'authenticate'): Promise<{ method: SecondFactorMethod; recoveryCodesLeft?: number }> {
    const ip = this.d.origin()?.ip;
    await this.d.throttle.check(tenant, user.username, ip);
    const claimed = await this.d.throttle.claim(tenant, user.username);
    try {
      const out = await this.check(tenant, user, input, purpose);
      await this.d.throttle.succeeded(tenant, user.username);
      return out;
    } catch (err) {
      if (err instanceof DomainError && err.code === 'VALIDATION_FAILED') {
        await this.d.throttle.failed(tenant, ip, user.pk, claimed, { type: 'mfa.failed', tenantPk: tenant.pk, userPk: user.pk, detail: { kind: 'webauthn' in input ? 'webauthn' : 'code' } }, user.username);
      }
      throw err;
    }
  }

  private async check(tenant: Tenant, user: User, input: SecondFactorInput, purpose: 'authenticate' | 'reauthenticate'): Promise<{ method: SecondFactorMethod; recoveryCodesLeft?: number }> {
    if ('webauthn' in input) {
      if (!this.passkeyCheck) throw fieldError('credential', 'Passkeys are not available.');
      await this.passkeyCheck.verifyForUser(tenant, user, input.webauthn, purpose);
      return { method: 'webauthn' };
    }
    const code = typeof input.code === 'string' ? input.code.trim() : '';
    if (code.length === 0 || code.length > 64) throw wrongCode();
    const rows = await this.d.store.read.authenticators.forUser(user.pk);
    const now = this.d.clock.now();
    const totp = rows.find((r) => r.type === 'totp' && !(JSON.parse(r.data) as TotpData).pending);
    if (totp && /^\d{6}$/.test(code)) {
      const data = JSON.parse(totp.data) as TotpData;
      const step = totpStep(this.d.box.open(data.secret, seedContext(user)), code, now);
      // A code of a step already used (replayed, or an older one of the window) is refused.
      if (step === null || (data.lastStep !== null && step <= data.lastStep)) throw wrongCode();
      if (!(await this.d.store.transaction((r) => r.authenticators.swapData(totp.pk, totp.data, JSON.stringify({ ...data, lastStep: step }), now)))) throw wrongCode();
      return { method: 'otp' };
    }
    const rc = rows.find((r) => r.type === 'recovery_codes');
    if (rc && looksLikeRecoveryCode(code)) {
      const data = JSON.parse(rc.data) as RecoveryCodesData;
      const hash = hashRecoveryCode(code);
      if (!data.unused.includes(hash)) throw wrongCode();
      const next: RecoveryCodesData = { ...data, unused: data.unused.filter((h) => h !== hash) };
      const left = next.unused.length;
      await this.d.store.transaction(async (r) => {
        // Two requests with one code: the second finds the data changed and fails.
        if (!(await r.authenticators.swapData(rc.pk, rc.data, JSON.stringify(next), now))) throw wrongCode();
        await this.d.events.emit({ type: 'mfa.recovery_code_used', tenantPk: tenant.pk, userPk: user.pk, detail: { left } });
      });
      return { method: 'rc', recoveryCodesLeft: left };
    }
    throw wrongCode();
  }
}

export const TRUST_TOKEN_BYTES = 32;

/** A seed is sealed to its user: copied into another user's row, it does not open. */
const seedContext = (user: User) => `totp:${user.tenantPk}:${user.pk}`;

function view(r: AuthenticatorRecord): AuthenticatorView {
  const base: AuthenticatorView = { id: r.pk, type: r.type, name: r.name, createdAt: r.createdAt, lastUsedAt: r.lastUsedAt };
  if (r.type === 'recovery_codes') {
    const data = JSON.parse(r.data) as RecoveryCodesData;
    return { ...base, totalCodes: data.total, unusedCodes: data.unused.length };
  }
  if (r.type === 'webauthn') return { ...base, passwordless: Boolean((JSON.parse(r.data) as { passwordless?: boolean }).passwordless) };
  return base;
}
