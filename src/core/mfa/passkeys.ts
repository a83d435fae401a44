// Passkeys (WebAuthn) through @simplewebauthn/server: registering one (attestation `none`, user
// verification and a resident key preferred, so the passkey can also sign in without a password),
// using one as a second factor or for reauthentication, and signing in with one alone (a
// discoverable credential: no user is given, the credential names its user). The relying party id
// and origin come from PUBLIC_URL. Challenges are stored as SHA-256, single use, for five minutes;
// a sign counter that goes back is refused (the library's rule: both zero is allowed).
import type {
  AuthenticationResponseJSON, AuthenticatorTransport, PublicKeyCredentialCreationOptionsJSON,
  PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON,
} from '@simplewebauthn/server';
import type { Repos, Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { Tenant, User } from '../types.ts';
import { DomainError, fieldError, invalidCredentials, notFound } from '../errors.ts';
import { sha256 } from '../secrets.ts';
import type { WebauthnChallengeRecord } from './authenticators-repo.ts';
import type { PasskeyCheck, SecondFactors } from './second-factors.ts';
import type { FirstFactor } from '../sign-in/first-factors.ts';
import type { LoginThrottle } from '../credentials/login-throttle.ts';
import type { RequestOrigin } from '../audit/audit-log.ts';
import type { FirstFactorInput } from '../sign-in/sign-in-request.ts';
import type { SignInStarts } from '../sign-in/sign-in-starts.ts';

/** A passkey's `data` in the authenticators table. */
export interface PasskeyData {
  publicKey: string;
  counter: number;
  transports: AuthenticatorTransport[];
  passwordless: boolean;
  /**
   * The WebAuthn user handle it was made for, when not the user's key (`pk`): a passkey made at a
   * sign-up by passkey, before the account existed, has a random one (and so do the user's later ones).
   */
  userHandle?: string;
}

/** A passkey's answer to creation options, checked, not yet stored (passkey-signup.ts stores it with its new account). */
export interface CheckedPasskey {
  credentialId: string;
  data: PasskeyData;
  name: string;
}

export const CHALLENGE_LIFETIME_MS = 5 * 60_000;

// Loaded at the first passkey ceremony: the library and its ASN.1 parsers cost an idle server
// about 20 MB that a deployment without passkeys never needs.
let library: Promise<typeof import('@simplewebauthn/server')> | undefined;
const webauthn = () => (library ??= import('@simplewebauthn/server'));
const MAX_NAME = 100;
type Purpose = WebauthnChallengeRecord['purpose'];

const badCredential = (message = 'Incorrect credential.') => fieldError('credential', message);

export class Passkeys implements PasskeyCheck {
  private readonly rpId: string;
  private readonly origin: string;

  private readonly d: { store: Store; clock: Clock; events: Events; secondFactors: SecondFactors; throttle: LoginThrottle; starts: SignInStarts; origin: () => RequestOrigin | undefined; publicUrl: string };

  constructor(deps: Passkeys['d']) {
    this.d = deps;
    const url = new URL(deps.publicUrl);
    this.rpId = url.hostname;
    this.origin = url.origin;
  }

  private async remember(tenant: Tenant, userPk: number | null, purpose: Purpose, challenge: string): Promise<void> {
    // A challenge for no one yet (a passkey alone, a sign-up) is an unauthenticated write: counted per address.
    if (userPk === null) await this.d.starts.count(tenant);
    const now = this.d.clock.now();
    await this.d.store.transaction(async (r) => {
      await r.webauthnChallenges.deleteExpired(now);
      await r.webauthnChallenges.insert({ challengeHash: sha256(challenge), tenantPk: tenant.pk, userPk, purpose, createdAt: now, expiresAt: now + CHALLENGE_LIFETIME_MS });
    });
  }

  /** Uses the response's challenge up; it must be one given to this tenant, for this purpose and user. */
  private async consume(tenant: Tenant, userPk: number | null, purposes: Purpose[], response: { response?: { clientDataJSON?: unknown } }, expectedHash?: string | null): Promise<string> {
    let challenge: unknown;
    try {
      challenge = JSON.parse(Buffer.from(String(response.response?.clientDataJSON ?? ''), 'base64url').toString('utf8')).challenge;
    } catch {
      throw badCredential();
    }
    if (typeof challenge !== 'string' || challenge.length === 0 || challenge.length > 200) throw badCredential();
    const row = await this.d.store.transaction((r) => r.webauthnChallenges.consume(sha256(challenge as string), this.d.clock.now()));
    if (!row || row.tenantPk !== tenant.pk || !purposes.includes(row.purpose) || row.userPk !== userPk) throw badCredential('The challenge is unknown, used or expired.');
    // A sign-up's answer must name the challenge this very sign-up was given last.
    if (expectedHash !== undefined && row.challengeHash !== expectedHash) throw badCredential('The challenge is unknown, used or expired.');
    return challenge;
  }

  /** Options for navigator.credentials.create: a new passkey of `user` (their passkeys excluded). */
  async registrationOptions(tenant: Tenant, user: User, opts: { passwordless?: boolean } = {}): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const mine = (await this.d.store.read.authenticators.forUser(user.pk)).filter((r) => r.type === 'webauthn');
    const options = await (await webauthn()).generateRegistrationOptions({
      rpName: tenant.displayName || tenant.name,
      rpID: this.rpId,
      userID: new TextEncoder().encode(handleOf(user, mine)),
      userName: user.email || user.username,
      userDisplayName: user.username,
      attestationType: 'none',
      excludeCredentials: mine.map((r) => ({ id: r.credentialId!, transports: (JSON.parse(r.data) as PasskeyData).transports })),
      authenticatorSelection: { residentKey: opts.passwordless ? 'required' : 'preferred', userVerification: opts.passwordless ? 'required' : 'preferred' },
    });
    await this.remember(tenant, user.pk, 'register', options.challenge);
    return options;
  }

  /** Checks the browser's answer to registrationOptions and stores the passkey under `name`. */
  async register(tenant: Tenant, user: User, response: unknown, name: string): Promise<{ id: number; recoveryCodes: string[] | undefined }> {
    const label = passkeyName(name);
    const credential = asObject(response) as unknown as RegistrationResponseJSON;
    const challenge = await this.consume(tenant, user.pk, ['register', 'signup'], credential);
    const checked = await this.checkCreation(credential, challenge, label, false);
    const mine = (await this.d.store.read.authenticators.forUser(user.pk)).filter((r) => r.type === 'webauthn');
    const handle = handleOf(user, mine);
    if (handle !== `${user.pk}`) checked.data.userHandle = handle;
    const wasEnrolled = await this.d.secondFactors.enrolled(user.pk);
    const id = await this.d.store.transaction((r) => this.store(r, tenant, user, checked));
    // The first second factor brings recovery codes, as TOTP's does.
    const recoveryCodes = wasEnrolled ? undefined : await this.d.secondFactors.ensureRecoveryCodesFor(tenant, user);
    return { id, recoveryCodes };
  }

  /**
   * Options for a sign-up by passkey alone (passkey-signup.ts): there is no account yet, so the
   * user handle is the sign-up's own; the passkey must be discoverable and verify its user, as it
   * will be the account's only way in.
   */
  async signupOptions(tenant: Tenant, who: { username: string; email: string; userHandle: string }): Promise<PublicKeyCredentialCreationOptionsJSON> {
    const options = await (await webauthn()).generateRegistrationOptions({
      rpName: tenant.displayName || tenant.name,
      rpID: this.rpId,
      userID: new TextEncoder().encode(who.userHandle),
      userName: who.email || who.username,
      userDisplayName: who.username,
      attestationType: 'none',
      authenticatorSelection: { residentKey: 'required', userVerification: 'required' },
    });
    await this.remember(tenant, null, 'signup', options.challenge);
    return options;
  }

  /**
   * Checks an answer to signupOptions: its challenge must be `challengeHash` (the one the sign-up
   * was given last), its user verified, its credential new. Writes nothing but the spent challenge.
   */
  async checkSignup(tenant: Tenant, response: unknown, name: string, challengeHash: string | null, userHandle: string): Promise<CheckedPasskey> {
    const label = passkeyName(name);
    const credential = asObject(response) as unknown as RegistrationResponseJSON;
    const challenge = await this.consume(tenant, null, ['signup'], credential, challengeHash);
    const checked = await this.checkCreation(credential, challenge, label, true);
    // Asked for a discoverable credential: one that says it is not cannot be the account's only way in.
    if (credential.clientExtensionResults?.credProps?.rk === false) throw badCredential('This passkey cannot sign in by itself: use one your device keeps (a discoverable credential).');
    checked.data.passwordless = true;
    checked.data.userHandle = userHandle;
    return checked;
  }

  /** Stores a checked passkey of `user`, in the caller's transaction. */
  async store(r: Repos, tenant: Tenant, user: User, p: CheckedPasskey): Promise<number> {
    const pk = await r.authenticators.insert({ tenantPk: tenant.pk, userPk: user.pk, type: 'webauthn', name: p.name, credentialId: p.credentialId, data: JSON.stringify(p.data), createdAt: this.d.clock.now(), lastUsedAt: null });
    await this.d.events.emit({ type: 'mfa.enabled', tenantPk: tenant.pk, userPk: user.pk, detail: { type: 'webauthn' } });
    return pk;
  }

  private async checkCreation(credential: RegistrationResponseJSON, challenge: string, label: string, requireUv: boolean): Promise<CheckedPasskey> {
    let verified;
    try {
      verified = await (await webauthn()).verifyRegistrationResponse({ response: credential, expectedChallenge: challenge, expectedOrigin: this.origin, expectedRPID: this.rpId, requireUserVerification: requireUv });
    } catch {
      throw badCredential();
    }
    if (!verified.verified || !verified.registrationInfo) throw badCredential();
    const info = verified.registrationInfo;
    if (await this.d.store.read.authenticators.byCredentialId(info.credential.id)) throw badCredential('This passkey is already registered.');
    return {
      credentialId: info.credential.id,
      name: label,
      data: {
        publicKey: Buffer.from(info.credential.publicKey).toString('base64url'),
        counter: info.credential.counter,
        transports: (info.credential.transports ?? credential.response.transports ?? []) as AuthenticatorTransport[],
        // A discoverable credential with user verification can sign in alone.
        passwordless: credential.clientExtensionResults?.credProps?.rk === true && info.userVerified,
      },
    };
  }

  async rename(user: User, id: number, name: string): Promise<void> {
    const label = passkeyName(name);
    const row = (await this.d.store.read.authenticators.forUser(user.pk)).find((r) => r.pk === id && r.type === 'webauthn');
    if (!row) throw notFound();
    await this.d.store.transaction((r) => r.authenticators.rename(row.pk, label));
  }

  /** Options for navigator.credentials.get: `user`'s passkeys (second factor, reauthentication), or any discoverable one (no user). */
  async authenticationOptions(tenant: Tenant, user: User | undefined, purpose: 'authenticate' | 'reauthenticate' | 'login' = user ? 'authenticate' : 'login'): Promise<PublicKeyCredentialRequestOptionsJSON> {
    const mine = user ? (await this.d.store.read.authenticators.forUser(user.pk)).filter((r) => r.type === 'webauthn') : [];
    if (user && mine.length === 0) throw new DomainError('VALIDATION_FAILED', 'No passkey is registered.', { fields: { credential: ['No passkey is registered.'] } });
    const options = await (await webauthn()).generateAuthenticationOptions({
      rpID: this.rpId,
      userVerification: 'preferred',
      allowCredentials: mine.map((r) => ({ id: r.credentialId!, transports: (JSON.parse(r.data) as PasskeyData).transports })),
    });
    // Reauthentication shares the 'authenticate' purpose: both prove this user's passkey.
    await this.remember(tenant, user?.pk ?? null, purpose === 'login' ? 'login' : 'authenticate', options.challenge);
    return options;
  }

  /** PasskeyCheck: the second factor or a reauthentication of `user`. */
  async verifyForUser(tenant: Tenant, user: User, response: unknown, _purpose: 'authenticate' | 'reauthenticate'): Promise<void> {
    const credential = asObject(response) as unknown as AuthenticationResponseJSON;
    const challenge = await this.consume(tenant, user.pk, ['authenticate'], credential);
    const row = typeof credential.id === 'string' ? await this.d.store.read.authenticators.byCredentialId(credential.id) : undefined;
    if (!row || row.type !== 'webauthn' || row.userPk !== user.pk) throw badCredential();
    await this.check(row, credential, challenge, false);
  }

  /** A passwordless sign-in: the discoverable credential names its user. Answers the user. */
  async verifyPasswordless(tenant: Tenant, response: unknown): Promise<User> {
    const credential = asObject(response) as unknown as AuthenticationResponseJSON;
    const challenge = await this.consume(tenant, null, ['login'], credential);
    const row = typeof credential.id === 'string' ? await this.d.store.read.authenticators.byCredentialId(credential.id) : undefined;
    if (!row || row.type !== 'webauthn' || row.tenantPk !== tenant.pk) throw badCredential();
    const handle = credential.response?.userHandle;
    const expected = (JSON.parse(row.data) as PasskeyData).userHandle ?? `${row.userPk}`;
    if (handle !== undefined && handle !== null && Buffer.from(String(handle), 'base64url').toString('utf8') !== expected) throw badCredential();
    await this.check(row, credential, challenge, true);
    const user = await this.d.store.read.users.findByPk(row.userPk);
    if (!user) throw badCredential();
    return user;
  }

  private async check(row: { pk: number; data: string; credentialId: string | null }, credential: AuthenticationResponseJSON, challenge: string, requireUv: boolean): Promise<void> {
    const data = JSON.parse(row.data) as PasskeyData;
    let verified;
    try {
      verified = await (await webauthn()).verifyAuthenticationResponse({
        response: credential, expectedChallenge: challenge, expectedOrigin: this.origin, expectedRPID: this.rpId,
        credential: { id: row.credentialId!, publicKey: Buffer.from(data.publicKey, 'base64url'), counter: data.counter, transports: data.transports },
        requireUserVerification: requireUv,
      });
    } catch {
      // A bad signature, another origin or relying party, a counter that went back.
      throw badCredential();
    }
    if (!verified.verified) throw badCredential();
    const next = JSON.stringify({ ...data, counter: verified.authenticationInfo.newCounter });
    // Two requests with one assertion: the second finds the counter moved (or its challenge used).
    if (!(await this.d.store.transaction((r) => r.authenticators.swapData(row.pk, row.data, next, this.d.clock.now())))) throw badCredential();
  }

  /**
   * The first factor `webauthn`: a passwordless sign-in. Proves `webauthn`, which satisfies the
   * second step. A credential that does not hold (unknown, another challenge, a bad signature) is a
   * failed sign-in like a wrong password: audited (`sign_in.failed`) and counted in the address's
   * limit of failed sign-ins (login_ip_limit), refused while that limit is reached. It names no
   * account, so no account's failure count moves.
   */
  factor(): FirstFactor<Extract<FirstFactorInput, { method: 'webauthn' }>> {
    return {
      method: 'webauthn',
      prove: async (tenant, input) => {
        const ip = this.d.origin()?.ip;
        await this.d.throttle.checkAddress(tenant, ip);
        const fail = async (userPk: number | null, reason: string): Promise<never> => {
          await this.d.throttle.failedFromAddress(tenant, ip, { type: 'sign_in.failed', tenantPk: tenant.pk, userPk, detail: { reason, method: 'webauthn' } });
          throw invalidCredentials();
        };
        let user: User;
        try {
          user = await this.verifyPasswordless(tenant, input.response);
        } catch (err) {
          if (err instanceof DomainError && err.code === 'VALIDATION_FAILED') return fail(null, 'bad_passkey');
          throw err;
        }
        return {
          user,
          amr: ['webauthn'],
          accepted: async () => {},
          settle: async () => {},
          refuse: (reason) => fail(user.pk, reason),
        };
      },
    };
  }
}

/**
 * The WebAuthn user handle of `user`'s passkeys (opaque to the authenticator; checked in
 * verifyPasswordless): the one their passkeys already carry (an account made by a passkey
 * sign-up has a random one), else the user's key.
 */
const handleOf = (user: User, passkeys: Array<{ data: string }>): string =>
  passkeys.map((r) => (JSON.parse(r.data) as PasskeyData).userHandle).find((h): h is string => typeof h === 'string') ?? `${user.pk}`;

function passkeyName(name: unknown): string {
  const label = typeof name === 'string' ? name.trim() : '';
  if (label.length === 0 || label.length > MAX_NAME) throw fieldError('name', `Give the passkey a name of 1 to ${MAX_NAME} characters.`);
  return label;
}

function asObject(value: unknown): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw badCredential();
  return value as Record<string, unknown>;
}
