// Upstream sign-in options of a tenant and the social accounts linked to a user.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import { notFound, validationError } from '../errors.ts';
import type { Events } from '../events.ts';
import type { SettingsService } from '../settings/settings-service.ts';
import type { IdentityProviders } from '../identity-providers/identity-providers.ts';
import type { TenantsService } from '../tenants/tenants-service.ts';
import type { Page, PageRequest, Principal, User } from '../types.ts';

export interface ProvidersView {
  registrationEnabled: boolean;
  passwordForgottenEnabled: boolean;
  mfaRequired: boolean;
  ssoEnabled: boolean;
  ssoRegistration: boolean;
  providers: Array<{ id: string; name: string; kind: string; login: string; connect: string }>;
}

export interface SocialAccount {
  id: number;
  provider: string;
  uid: string;
  dateJoined: number;
  lastLogin: number | null;
}

export class SocialAccounts {
  private readonly d: { store: Store; clock: Clock; events: Events; settings: SettingsService; tenants: TenantsService; identityProviders: IdentityProviders; publicUrl: string };

  constructor(deps: SocialAccounts['d']) {
    this.d = deps;
  }

  /**
   * The tenant's sign-in options and its enabled upstream providers, each with the URLs that start
   * a sign-in (`login`) or connect it to the signed-in account (`connect`). `sso_enabled`: at
   * least one provider is enabled; `sso_registration`: one of them makes accounts on first sign-in.
   */
  async providers(tenantName: string | undefined): Promise<ProvidersView> {
    const tenant = await this.d.tenants.resolve(tenantName);
    const s = await this.d.settings.forTenant(tenant.pk);
    const enabled = await this.d.identityProviders.enabled(tenant.pk);
    const query = tenantName ? `?tenant=${encodeURIComponent(tenant.name)}` : '';
    return {
      registrationEnabled: s.registration_enabled, passwordForgottenEnabled: s.password_forgotten_enabled, mfaRequired: s.mfa_required,
      ssoEnabled: enabled.length > 0, ssoRegistration: enabled.some((p) => p.jit),
      providers: enabled.map((p) => ({
        id: p.slug, name: p.name, kind: p.kind,
        login: `${this.d.publicUrl}/api/auth/social/${p.slug}/login/${query}`,
        connect: `${this.d.publicUrl}/api/auth/social/${p.slug}/connect/`,
      })),
    };
  }

  /** Links an upstream account to a user (the operator's tools and tests; sign-ins link through core.upstreamSignIn). */
  async link(user: User, provider: string, uid: string): Promise<SocialAccount> {
    try {
      const r = await this.d.store.transaction((x) => x.socialAccounts.insert({ tenant_pk: user.tenantPk, user_pk: user.pk, provider, uid, date_joined: this.d.clock.now(), last_login: null }));
      return { id: r.pk, provider: r.provider, uid: r.uid, dateJoined: r.date_joined, lastLogin: r.last_login };
    } catch (err) {
      if (this.d.store.isConflict(err)) throw validationError({ non_field_errors: ['This account is already connected to a user.'] });
      throw err;
    }
  }

  async list(p: Principal, page: PageRequest): Promise<Page<SocialAccount>> {
    const r = await this.d.store.read.socialAccounts.forUser(p.user.pk, page);
    return { count: r.count, items: r.items.map((x) => ({ id: x.pk, provider: x.provider, uid: x.uid, dateJoined: x.date_joined, lastLogin: x.last_login })) };
  }

  /** Unlinks one; refused while it is the user's only way to sign in (no password, no other account). */
  async disconnect(p: Principal, id: number): Promise<void> {
    const acc = Number.isSafeInteger(id) && id > 0 ? await this.d.store.read.socialAccounts.find(id) : undefined;
    if (!acc || acc.user_pk !== p.user.pk) throw notFound();
    const user = await this.d.store.read.users.findByPk(p.user.pk);
    const others = (await this.d.store.read.socialAccounts.forUser(p.user.pk, { offset: 0, limit: 2 })).count - 1;
    if (!user?.passwordHash && others === 0) {
      throw validationError({ non_field_errors: ['Your account has no password set up: this is your only way to sign in.'] });
    }
    await this.d.store.transaction(async (r) => {
      await r.socialAccounts.delete(acc.pk);
      await this.d.events.emit({ type: 'user.updated', tenantPk: p.tenant.pk, userPk: p.user.pk, detail: { fields: `social:${acc.provider}:disconnected` } });
    });
  }
}
