// Signing in through an upstream identity provider: the first factor `upstream` of the sign-in
// flow, and connecting an upstream identity to a signed-in account.
//
//   begin (login | connect) -> the provider's authorization URL; a request kept server-side:
//        state (its SHA-256), PKCE verifier, nonce, `next`, and the SHA-256 of a value the
//        front-end puts in a cookie of the browser (the binding)
//   callback -> the request found by state, in the tenant, for this provider, unexpired, from the
//        same browser, then spent (single use) -> openid-client exchanges the code and checks
//        the answer -> the account: linked already; or linked now when both sides verified the
//        same address; or made now (just in time) when the provider allows; else refused
//
// Linking rules (one place): an upstream identity belongs to one account; it joins an existing
// account by e-mail only when the provider asserts the address verified and the account's own
// address is verified too; otherwise the person signs in to that account (password, second
// factor) and connects the provider from there.
import crypto from 'node:crypto';
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { UsersService } from '../users/users-service.ts';
import { selfService } from '../actor.ts';
import { DomainError, fieldError, invalidCredentials } from '../errors.ts';
import { randomToken, safeEqual, sha256 } from '../secrets.ts';
import type { Principal, Tenant, User } from '../types.ts';
import { USERNAME_MAX } from '../users/user-fields.ts';
import type { FirstFactor, FirstFactorProof } from '../sign-in/first-factors.ts';
import type { FirstFactorInput } from '../sign-in/sign-in-request.ts';
import type { SignInStarts } from '../sign-in/sign-in-starts.ts';
import type { IdentityProviderRecord, UpstreamRequestRecord } from './identity-providers-repo.ts';
import type { IdentityProviders } from './identity-providers.ts';
import { refusedUpstream, type UpstreamClient, type UpstreamIdentity } from './upstream-client.ts';

const REQUEST_LIFETIME_MS = 10 * 60_000;
/** amr values that say the upstream checked more than one factor. */
const MULTI_FACTOR_AMR = ['mfa', 'otp', 'hwk', 'swk', 'sc', 'fpt', 'face', 'iris', 'sms'];

export type UpstreamInput = Extract<FirstFactorInput, { method: 'upstream' }>;

export interface Begun {
  /** Where to send the browser. */
  url: string;
  /** The value of the cookie that binds the request to this browser (HttpOnly, a short life). */
  binding: string;
  expiresAt: number;
}

const startAgain = () => refusedUpstream('This sign-in is unknown, used, expired or was started in another browser: start it again.');

export class UpstreamSignIn {
  private readonly d: {
    store: Store; clock: Clock; events: Events; settings: SettingsService; tenants: TenantsService; users: UsersService;
    providers: IdentityProviders; client: UpstreamClient; starts: SignInStarts; publicUrl: string;
  };

  constructor(deps: UpstreamSignIn['d']) {
    this.d = deps;
  }

  /**
   * Where a sign-in may send the browser afterwards: PUBLIC_URL's origin, or one of the tenant's
   * `allowed_redirect_urls`; a relative path is on PUBLIC_URL. Anything else is refused (no open redirect).
   */
  async allowedNext(tenant: Tenant, next: string | undefined): Promise<string> {
    const base = new URL(this.d.publicUrl);
    if (next === undefined || next === '') return `${base.origin}/`;
    let url: URL;
    try {
      url = new URL(next, base);
    } catch {
      throw fieldError('next', 'Enter a valid URL.');
    }
    const allowed = new Set([base.origin]);
    for (const entry of (await this.d.settings.forTenant(tenant.pk)).allowed_redirect_urls.split(/\s+/).filter(Boolean)) {
      try {
        allowed.add(new URL(entry).origin);
      } catch {
        // A bad entry allows nothing.
      }
    }
    if (next.length > 2000 || !['http:', 'https:'].includes(url.protocol) || url.username || url.password || !allowed.has(url.origin)) {
      throw fieldError('next', 'This address is not among the tenant\'s allowed redirect URLs.');
    }
    return url.href;
  }

  /**
   * Starts a sign-in (`login`; `interaction`: for the OpenID provider's interaction, which finishes
   * it itself at `next`) or a link for the signed-in `principal` (`connect`) at a provider.
   */
  async begin(a: { tenant: string | undefined; provider: string; purpose: 'login' | 'connect' | 'interaction'; principal?: Principal; next?: string; loginHint?: string }): Promise<Begun> {
    const tenant = a.principal?.tenant ?? (await this.d.tenants.resolve(a.tenant));
    if (a.purpose === 'connect' && !a.principal) throw new DomainError('NOT_AUTHENTICATED', 'Authentication credentials were not provided.');
    const record = await this.d.providers.usable(tenant.pk, a.provider);
    const next = await this.allowedNext(tenant, a.next);
    // Connecting is a signed-in person's; a sign-in begun by anyone is counted per address.
    if (!a.principal) await this.d.starts.count(tenant);
    const provider = this.d.providers.open(record);
    const state = randomToken(32);
    const binding = randomToken(32);
    const nonce = randomToken(32);
    const codeVerifier = randomToken(48);
    const url = await this.d.client.authorizationUrl(provider, { redirectUri: this.d.providers.callbackUrl(record.slug), state, nonce, codeVerifier, loginHint: a.loginHint });
    const now = this.d.clock.now();
    await this.d.store.transaction(async (r) => {
      await r.identityProviders.deleteExpiredRequests(now);
      await r.identityProviders.insertRequest({
        stateHash: sha256(state), tenantPk: tenant.pk, providerPk: record.pk, bindingHash: sha256(binding), purpose: a.purpose,
        userPk: a.principal?.user.pk ?? null, codeVerifier, nonce, next, createdAt: now, expiresAt: now + REQUEST_LIFETIME_MS,
      });
    });
    return { url, binding, expiresAt: now + REQUEST_LIFETIME_MS };
  }

  /** What a callback's state started, without spending it (the front-end picks login or connect, and where to go). */
  async peek(callback: string): Promise<{ purpose: 'login' | 'connect' | 'interaction'; next: string; tenant: Tenant } | undefined> {
    const state = stateOf(callback);
    const req = state ? await this.d.store.read.identityProviders.findRequest(sha256(state)) : undefined;
    if (!req || req.expiresAt <= this.d.clock.now()) return undefined;
    const tenant = await this.d.tenants.byPk(req.tenantPk);
    return tenant ? { purpose: req.purpose, next: req.next, tenant } : undefined;
  }

  /** The request a callback answers, checked and spent; the provider it was sent to. */
  private async spend(tenantPk: number, slug: string, callback: string, binding: string | undefined, purpose: 'login' | 'connect'): Promise<{ req: UpstreamRequestRecord; record: IdentityProviderRecord; state: string }> {
    const state = stateOf(callback);
    if (!state) throw refusedUpstream('The callback has no state: start the sign-in again.');
    const req = await this.d.store.read.identityProviders.findRequest(sha256(state));
    const record = req ? await this.d.store.read.identityProviders.findByPk(req.providerPk) : undefined;
    if (!req || !record || req.expiresAt <= this.d.clock.now() || req.tenantPk !== tenantPk || record.slug !== slug || (purpose === 'connect') !== (req.purpose === 'connect')
      || !binding || !safeEqual(req.bindingHash, sha256(binding))) throw startAgain();
    if (!record.enabled) throw refusedUpstream(`The identity provider "${record.name}" is not enabled.`);
    if (!(await this.d.store.transaction((r) => r.identityProviders.consumeRequest(req.stateHash, this.d.clock.now())))) throw startAgain();
    return { req, record, state };
  }

  private async identify(record: IdentityProviderRecord, req: UpstreamRequestRecord, state: string, callback: string): Promise<UpstreamIdentity> {
    return this.admit(record, await this.d.client.identify(this.d.providers.open(record), new URL(callback), {
      state, nonce: req.nonce, codeVerifier: req.codeVerifier, redirectUri: this.d.providers.callbackUrl(record.slug),
    }));
  }

  /** An app's tokens from the provider: the client id they were issued to must be this provider's. */
  private async identifyToken(record: IdentityProviderRecord, token: { clientId: string; idToken?: string; accessToken?: string }): Promise<UpstreamIdentity> {
    if (token.clientId !== record.clientId) throw fieldError('token', 'This client_id is not the provider\'s.');
    return this.admit(record, await this.d.client.identifyToken(this.d.providers.open(record), token));
  }

  /** The provider's policy on who may come in (allowed domains). */
  private admit(record: IdentityProviderRecord, who: UpstreamIdentity): UpstreamIdentity {
    if (record.allowedDomains.length > 0) {
      const domain = who.email?.split('@').pop()?.toLowerCase();
      if (!who.email || !who.emailVerified || !domain || !record.allowedDomains.includes(domain)) {
        throw refusedUpstream(`This tenant accepts sign-ins through "${record.name}" only for verified addresses of ${record.allowedDomains.join(', ')}.`);
      }
    }
    return who;
  }

  /** The first factor: the person signed in at the provider; the account it stands for. */
  factor(): FirstFactor<UpstreamInput> {
    return {
      method: 'upstream',
      prove: async (tenant, input) => {
        let record: IdentityProviderRecord;
        let who: UpstreamIdentity;
        if ('token' in input) {
          record = await this.d.providers.usable(tenant.pk, input.provider);
          who = await this.identifyToken(record, input.token);
        } else {
          const spent = await this.spend(tenant.pk, input.provider, input.callback, input.binding, 'login');
          record = spent.record;
          who = await this.identify(record, spent.req, spent.state, input.callback);
        }
        const { user, linkPk } = await this.accountFor(tenant, record, who);
        const amr = ['fed', ...(record.trustedForMfa && who.amr.some((m) => MULTI_FACTOR_AMR.includes(m)) ? ['mfa'] : [])];
        const proof: FirstFactorProof = {
          user, amr,
          accepted: async () => {},
          settle: () => this.d.store.read.socialAccounts.touch(linkPk, this.d.clock.now()),
          refuse: async (reason) => {
            await this.d.store.transaction(() => this.d.events.emit({ type: 'sign_in.failed', tenantPk: tenant.pk, userPk: user.pk, detail: { reason, provider: record.slug } }));
            throw invalidCredentials();
          },
        };
        return proof;
      },
    };
  }

  /** The account an upstream identity signs in to, linked or made now by the rules above. */
  private async accountFor(tenant: Tenant, record: IdentityProviderRecord, who: UpstreamIdentity): Promise<{ user: User; linkPk: number }> {
    const linked = await this.d.store.read.socialAccounts.findByUid(tenant.pk, record.slug, who.subject);
    if (linked) {
      const user = await this.d.store.read.users.findByPk(linked.user_pk);
      if (!user) throw invalidCredentials();
      return { user, linkPk: linked.pk };
    }
    const existing = who.email ? await this.d.store.read.users.findOneByEmail(tenant.pk, who.email.trim().toLowerCase()) : undefined;
    if (existing) {
      if (!who.emailVerified || !existing.emailVerified) {
        throw refusedUpstream(`An account with this e-mail address exists already. Sign in to it, then connect "${record.name}" from there.`);
      }
      return { user: existing, linkPk: (await this.link(existing, record, who.subject)).pk };
    }
    if (!record.jit) throw refusedUpstream(`No account is connected to this "${record.name}" identity. Sign in, then connect "${record.name}" from there.`);
    return this.createAccount(tenant, record, who);
  }

  /** Just in time: the account and its link in one transaction, so a failure leaves neither. */
  private async createAccount(tenant: Tenant, record: IdentityProviderRecord, who: UpstreamIdentity): Promise<{ user: User; linkPk: number }> {
    const base = usernameFrom(who);
    return this.d.store.transaction(async (r) => {
      let username = base;
      for (let i = 0; i < 5 && (await r.users.findByUsername(tenant.pk, username)); i++) username = `${base.slice(0, USERNAME_MAX - 7)}-${crypto.randomBytes(3).toString('hex')}`;
      const made = await this.d.users.create(selfService(tenant), {
        username, password: null, email: who.email ?? undefined, firstName: (who.givenName || who.name).slice(0, 150), lastName: who.familyName.slice(0, 150), tenant: tenant.name,
      });
      if (who.email && who.emailVerified) await r.users.update(made.pk, { emailVerified: true });
      const link = await r.socialAccounts.insert({ tenant_pk: tenant.pk, user_pk: made.pk, provider: record.slug, uid: who.subject, date_joined: this.d.clock.now(), last_login: null });
      return { user: (await r.users.findByPk(made.pk))!, linkPk: link.pk };
    });
  }

  private async link(user: User, record: IdentityProviderRecord, uid: string) {
    try {
      return await this.d.store.transaction(async (r) => {
        const row = await r.socialAccounts.insert({ tenant_pk: user.tenantPk, user_pk: user.pk, provider: record.slug, uid, date_joined: this.d.clock.now(), last_login: null });
        await this.d.events.emit({ type: 'user.updated', tenantPk: user.tenantPk, userPk: user.pk, detail: { fields: `social:${record.slug}:connected` } });
        return row;
      });
    } catch (err) {
      if (this.d.store.isConflict(err)) throw refusedUpstream(`This "${record.name}" account is already connected to another user.`);
      throw err;
    }
  }

  /** Connects the identity an app's provider tokens stand for to the signed-in account. */
  async connectToken(principal: Principal, provider: string, token: { clientId: string; idToken?: string; accessToken?: string }): Promise<void> {
    const record = await this.d.providers.usable(principal.tenant.pk, provider);
    const who = await this.identifyToken(record, token);
    await this.linkTo(principal.user, record, who);
  }

  private async linkTo(user: User, record: IdentityProviderRecord, who: UpstreamIdentity): Promise<void> {
    const linked = await this.d.store.read.socialAccounts.findByUid(user.tenantPk, record.slug, who.subject);
    if (linked && linked.user_pk !== user.pk) throw refusedUpstream(`This "${record.name}" account is already connected to another user.`);
    if (!linked) await this.link(user, record, who.subject);
  }

  /** Finishes a connect: the upstream identity joins the account that started it (itself signed in). */
  async connect(a: { tenant: Tenant; provider: string; callback: string; binding: string | undefined; principal?: Principal }): Promise<{ next: string }> {
    const { req, record, state } = await this.spend(a.tenant.pk, a.provider, a.callback, a.binding, 'connect');
    // Started by one account, finished by the same one (when the browser still carries a session).
    if (a.principal && a.principal.user.pk !== req.userPk) throw startAgain();
    const user = req.userPk === null ? undefined : await this.d.store.read.users.findByPk(req.userPk);
    if (!user || !user.isActive) throw startAgain();
    await this.linkTo(user, record, await this.identify(record, req, state, a.callback));
    return { next: req.next };
  }
}

function stateOf(callback: string): string | undefined {
  try {
    const s = new URL(callback, 'http://x').searchParams.get('state');
    return s && s.length <= 200 ? s : undefined;
  } catch {
    return undefined;
  }
}

/** A username from what the provider said: its preferred name, the address's local part, or a generated one. */
function usernameFrom(who: UpstreamIdentity): string {
  const raw = who.preferredUsername ?? who.email?.split('@')[0] ?? '';
  const cleaned = raw.normalize('NFKC').replace(/[^\w.@+-]/g, '').slice(0, USERNAME_MAX - 7);
  return cleaned.length >= 1 ? cleaned : `user-${crypto.randomBytes(4).toString('hex')}`;
}
