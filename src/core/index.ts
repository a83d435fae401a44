// The core's one entry point: dialects and the CLI import from here only.
import type { MigratableStore } from './store.ts';
import { systemClock, type Clock } from './clock.ts';
import { createArgon2Hasher, type PasswordHasher } from './credentials/password-hasher.ts';
import { KeyRing, type RotatedKeys } from './tokens/key-ring.ts';
import { AccessTokens } from './tokens/access-tokens.ts';
import { RefreshKeys } from './tokens/refresh-keys.ts';
import { TenantsService } from './tenants/tenants-service.ts';
import { SettingsService } from './settings/settings-service.ts';
import { UsersService } from './users/users-service.ts';
import { Passwords } from './credentials/passwords.ts';
import { SignInFlow } from './sign-in/sign-in-flow.ts';
import { passwordFactor } from './sign-in/first-factors.ts';
import { LoginCodes } from './sign-in/login-codes.ts';
import { TokenPairs } from './tokens/token-pairs.ts';
import { GroupsService } from './groups/groups-service.ts';
import { SessionsService } from './sessions/sessions-service.ts';
import { ClientsService } from './clients/clients-service.ts';
import { Events } from './events.ts';
import { meterHasher } from './credentials/hash-meter.ts';
import { localBroadcast, type Broadcast } from './broadcast.ts';
import { storeCounters, type Counters } from './counters/counters.ts';
import { LoginThrottle } from './credentials/login-throttle.ts';
import { RollingLimit } from './credentials/rolling-limit.ts';
import { SignInStarts } from './sign-in/sign-in-starts.ts';
import { TokenKeys } from './credentials/token-keys.ts';
import { Credentials } from './authentication/credentials.ts';
import { ClientGrants } from './tokens/client-grants.ts';
import { SignOut } from './sessions/sign-out.ts';
import { PasswordChange } from './credentials/password-change.ts';
import { AccountUnlock } from './credentials/account-unlock.ts';
import { Outbox } from './accounts/outbox.ts';
import { EmailLimits } from './accounts/email-limits.ts';
import { EmailVerification } from './accounts/email-verification.ts';
import { Registration } from './accounts/registration.ts';
import { PasskeySignup } from './accounts/passkey-signup.ts';
import { PasswordReset } from './accounts/password-reset.ts';
import { EmailAddresses } from './accounts/email-addresses.ts';
import { SocialAccounts } from './accounts/social-accounts.ts';
import type { Mailer } from './mail/mailer.ts';
import { SignInsService } from './sessions/sign-ins.ts';
import { AuditLog, type RequestOrigin } from './audit/audit-log.ts';
import { DomainError } from './errors.ts';
import { OPERATOR } from './actor.ts';
import { SecretBox } from './secret-box.ts';
import { SecondFactors } from './mfa/second-factors.ts';
import { Passkeys } from './mfa/passkeys.ts';
import { Reauthentication } from './mfa/reauthentication.ts';
import { isLoopbackHttp, UpstreamClient } from './identity-providers/upstream-client.ts';
import { IdentityProviders } from './identity-providers/identity-providers.ts';
import { UpstreamSignIn } from './identity-providers/upstream-sign-in.ts';

export * from './errors.ts';
export * from './types.ts';
export { OPERATOR, selfService, type Actor, type Operator, type SelfService } from './actor.ts';
export { requireFullSignIn } from './permissions.ts';
export type { Clock } from './clock.ts';
export { ManualClock, systemClock } from './clock.ts';
export type { PasswordHasher } from './credentials/password-hasher.ts';
export { createArgon2Hasher, OWASP_ARGON2ID } from './credentials/password-hasher.ts';
export { SETTINGS, SETTING_KEYS, formatSetting } from './settings/settings-schema.ts';
export { DEFAULT_TENANT } from './tenants/tenants-service.ts';
export { USERNAME_MAX, NAME_MAX, EMAIL_MAX } from './users/user-fields.ts';
export { GROUP_NAME_MAX } from './groups/groups-service.ts';
export { MAX_PASSWORD_BYTES } from './credentials/password-policy.ts';
export { isUuid } from './secrets.ts';
export { SecretBox } from './secret-box.ts';
export type { AuthenticatorView, SecondFactorMethod } from './mfa/second-factors.ts';
export { GRANT_TYPES } from './clients/clients-service.ts';
export { EVENT_TYPES, type EventType, type SecurityEvent } from './events.ts';
export type { AuditEntry, RequestOrigin } from './audit/audit-log.ts';
export type { SignIn } from './sessions/sign-ins.ts';
export type { SignInRequest, SignInOutcome, Issued, Issue, PendingStep, StepInput, FirstFactorInput } from './sign-in/sign-in-request.ts';
export type { NewSession as NewSessionCookies } from './sessions/sessions-service.ts';
export type { Mailer, MailMessage } from './mail/mailer.ts';
export type { EmailAddress } from './accounts/email-address.ts';
export type { SocialAccount, ProvidersView } from './accounts/social-accounts.ts';
export type { TokenPair } from './tokens/token-pairs.ts';
export type { IdentityProvider, ProviderInput } from './identity-providers/identity-providers.ts';
export { PROVIDER_KINDS, PRESETS } from './identity-providers/presets.ts';

export interface CoreOptions {
  store: MigratableStore;
  /** Issuer of tokens and base of links: PUBLIC_URL. */
  publicUrl: string;
  clock?: Clock;
  hasher?: PasswordHasher;
  /** Where the current request came from (IP, request id), for the audit log. */
  origin?: () => RequestOrigin | undefined;
  /** Reaches the other instances (Redis pub/sub); defaults to this process only. */
  broadcast?: Broadcast;
  /** Counters shared by the instances (Redis); defaults to the database's. */
  counters?: Counters;
  /** Sends e-mail (SMTP, or the outbox folder: src/mail/transports.ts). */
  mailer: Mailer;
  /** Seals secrets kept readable at rest (LATCHKEY_SECRET_KEYS); defaults to a key of this process only. */
  secretBox?: SecretBox;
  /** Where failures of work done after an answer (e-mails) are reported. */
  onBackgroundError?: (err: unknown) => void;
}

export interface BootstrapAdmin {
  username: string;
  password: string;
  email: string;
}

export function createCore(opts: CoreOptions) {
  const store = opts.store;
  const clock = opts.clock ?? systemClock;
  const secretBox = opts.secretBox ?? SecretBox.ephemeral();
  const hasher = meterHasher(opts.hasher ?? createArgon2Hasher());
  const events = new Events(() => clock.now());
  const audit = new AuditLog(store, events, opts.origin ?? (() => undefined));
  const keys = new KeyRing(store, clock);
  const accessTokens = new AccessTokens(keys, clock, opts.publicUrl);
  const refreshKeys = new RefreshKeys(store, clock);
  const tenants = new TenantsService(store, clock, events);
  const settings = new SettingsService(store, clock, events);
  const passwords = new Passwords({ store, clock, hasher, settings, events });
  const users = new UsersService({ store, clock, passwords, tenants, events });
  const groups = new GroupsService(store, clock, events);
  const sessions = new SessionsService(store, clock, settings);
  const clients = new ClientsService(store, clock, events);
  const signIns = new SignInsService(store, clock, events);
  // Caches follow changes made on other instances: a change is an event here, a message there.
  const broadcast = opts.broadcast ?? localBroadcast();
  // Events are told inside the change's transaction: the others hear of it once it is committed.
  events.on((e) => store.afterCommit(async () => {
    if (e.type === 'tenant.changed') await broadcast.publish('tenant');
    else if (e.type === 'client.changed') await broadcast.publish('client', String(e.detail?.client_id ?? ''));
    else if (e.type === 'settings.changed' && e.tenantPk !== null) await broadcast.publish('settings', String(e.tenantPk));
    else if (e.type === 'signing_key.rotated') await broadcast.publish('signing_keys');
  }));
  // A tenant switching to RS256 gets its keys now, so the key set publishes them before the first
  // token they sign (signing would create them too, but verifiers may have cached the old set).
  events.on((e) => store.afterCommit(async () => {
    if (e.type === 'settings.changed' && e.detail?.key === 'token_signing_algorithm' && e.detail.value === 'RS256') {
      // A failure here is made good by the first RS256 signature, which creates the keys itself.
      await keys.ensure('RS256').catch(() => {});
      await broadcast.publish('signing_keys');
    }
  }));
  broadcast.subscribe((topic, payload) => {
    if (topic === 'tenant') tenants.invalidate();
    else if (topic === 'client') clients.invalidate(payload);
    else if (topic === 'settings') settings.invalidate(Number(payload));
    else if (topic === 'signing_keys') {
      void keys.reloadNow().catch(() => {});
      void refreshKeys.reload().catch(() => {});
    }
  });
  const origin = opts.origin ?? (() => undefined);
  // Without Redis the counters live in the database, so the instances still share them.
  const counters = opts.counters ?? storeCounters(store, () => clock.now());
  const throttle = new LoginThrottle({ store, clock, settings, counters, events });
  const tokenKeys = new TokenKeys(clock);
  const secondFactors = new SecondFactors({ store, clock, events, box: secretBox, throttle, settings, origin, issuer: (t) => t.displayName || t.name });
  const credentials = new Credentials({ store, tenants, clients, sessions, accessTokens, mustEnrol: (t, u) => secondFactors.mustEnrol(t, u) });
  const clientGrants = new ClientGrants({ store, clock, clients, accessTokens, settings, credentials });
  const tokenPairs = new TokenPairs({ store, clock, settings, accessTokens, refreshKeys, clients, tenants, events });
  const signOut = new SignOut({ store, clock, events, tokenPairs });
  const passwordChange = new PasswordChange({ store, settings, passwords });
  const accountUnlock = new AccountUnlock({ users, tenants, throttle });
  const outbox = new Outbox(opts.mailer, opts.onBackgroundError ?? (() => {}));
  const emailLimits = new EmailLimits(settings, new RollingLimit(counters, clock));
  const starts = new SignInStarts({ settings, limits: new RollingLimit(counters, clock), origin });
  const emailVerification = new EmailVerification({ store, clock, tenants, outbox, limits: emailLimits, publicUrl: opts.publicUrl });
  const passwordReset = new PasswordReset({ store, clock, settings, tenants, passwords, throttle, outbox, limits: emailLimits, publicUrl: opts.publicUrl });
  const emailAddresses = new EmailAddresses({ store, clock, events, verification: emailVerification, outbox, limits: emailLimits });
  const upstreamClient = new UpstreamClient({ anywhere: isLoopbackHttp(new URL(opts.publicUrl)) });
  const identityProviders = new IdentityProviders({ store, clock, events, box: secretBox, client: upstreamClient, publicUrl: opts.publicUrl });
  const socialAccounts = new SocialAccounts({ store, clock, events, settings, tenants, identityProviders, publicUrl: opts.publicUrl });
  const reauthentication = new Reauthentication({ clock, settings, sessions, secondFactors, passwords, throttle, events, origin });
  const loginCodes = new LoginCodes({ store, clock, counters, throttle, limits: emailLimits, starts, outbox, tenants, origin });
  const upstreamSignIn = new UpstreamSignIn({ store, clock, events, settings, tenants, users, providers: identityProviders, client: upstreamClient, starts, publicUrl: opts.publicUrl });
  const passkeys = new Passkeys({ store, clock, events, secondFactors, throttle, starts, origin, publicUrl: opts.publicUrl });
  secondFactors.usePasskeys(passkeys);
  const signIn = new SignInFlow({
    store, clock, events, tenants, clients, settings,
    factors: { password: passwordFactor({ store, hasher, throttle, origin }), code: loginCodes.factor(), upstream: upstreamSignIn.factor(), webauthn: passkeys.factor() },
    issuers: { pairs: tokenPairs, sessions, tokenKeys },
    emails: { confirm: (key, ofUser) => emailVerification.verify(key, { ofUser }) },
    secondFactors,
  });
  const registration = new Registration({ store, clock, events, settings, tenants, users, signIn, verification: emailVerification, outbox });
  const passkeySignup = new PasskeySignup({ store, clock, tenants, users, registration, passkeys, signIn, outbox, starts });

  return {
    store, clock, hasher, secretBox, keys, accessTokens, tenants, settings, users, groups, sessions, clients, events, audit, signIns, broadcast, throttle,
    // Signing in and the credentials it hands out.
    signIn, credentials, tokenPairs, signOut, tokenKeys, loginCodes,
    // The OpenID provider's machine-to-machine grants: client credentials, introspection, revocation.
    clientGrants,
    // Second factors, and proving a signed-in session again before a sensitive change.
    secondFactors, reauthentication, passkeys,
    // Passwords.
    passwords, passwordChange, passwordReset, accountUnlock,
    // Self-service accounts.
    registration, passkeySignup, emailVerification, emailAddresses, socialAccounts, outbox,
    // Upstream identity providers and signing in through them.
    identityProviders, upstreamSignIn,

    /** Makes the stored state ready: schema, default tenant, signing keys. Safe on every start. */
    async prepare(): Promise<void> {
      await store.migrate();
      await tenants.ensureDefault();
      await keys.ensure();
      await refreshKeys.ensure();
    },

    /**
     * Rotates the JWT signing keys (see KeyRing.rotate) and the refresh-token key (see
     * RefreshKeys.rotate), in one transaction, and records it in the audit log.
     */
    async rotateSigningKey(): Promise<{ current: string; next: string; rotated: RotatedKeys[]; refresh: string }> {
      let refresh = '';
      const out = await keys.rotate(async (rotated) => {
        // Joins the rotation's transaction.
        refresh = await store.transaction((r) => refreshKeys.rotate(r));
        const detail = Object.fromEntries(rotated.map((k) => [k.alg === 'ES256' ? 'current' : `current_${k.alg}`, k.current]));
        await events.emit({ type: 'signing_key.rotated', tenantPk: null, userPk: null, detail: { ...detail, refresh } });
      });
      return { ...out, refresh };
    },

    /**
     * Rewrites every sealed secret under the first key of LATCHKEY_SECRET_KEYS (`latchkey keys
     * reseal`), so that older keys can be dropped from the list. Each kind of sealed secret adds
     * its own pass here.
     */
    async resealSecrets(): Promise<{ kind: string; total: number; resealed: number }[]> {
      return [{ kind: 'totp', ...(await secondFactors.resealSeeds()) }, { kind: 'identity_provider_secret', ...(await identityProviders.resealSecrets()) }];
    },

    /** Creates the bootstrap superuser when the default tenant has none (never touches an existing user). */
    async bootstrapAdmin(admin: BootstrapAdmin): Promise<'created' | 'skipped'> {
      const tenant = await tenants.ensureDefault();
      if ((await store.read.users.countSuperusers(tenant.pk)) > 0) return 'skipped';
      if (await store.read.users.findByUsername(tenant.pk, admin.username)) return 'skipped';
      try {
        await users.create(OPERATOR, {
          username: admin.username, password: admin.password, email: admin.email, isStaff: true, isSuperuser: true,
        });
      } catch (err) {
        if (err instanceof DomainError && err.fields?.username) return 'skipped'; // created concurrently
        throw err;
      }
      return 'created';
    },
  };
}

export type Core = ReturnType<typeof createCore>;
