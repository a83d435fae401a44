// The tenant's upstream identity providers, managed by its staff (or a superuser): validated,
// discovery checked at save (an unreachable issuer is a field error, not a provider that fails
// at the first sign-in), the client secret sealed under `idp:<tenantPk>:<id>` and never shown.
import type { Store } from '../store.ts';
import type { Clock } from '../clock.ts';
import type { Events } from '../events.ts';
import type { SecretBox } from '../secret-box.ts';
import { DomainError, FieldErrorBag, fieldError, notFound } from '../errors.ts';
import { isSuperuser, requireTenantManager } from '../permissions.ts';
import { actorUserPk, type Actor } from '../actor.ts';
import type { Page, PageRequest, Tenant } from '../types.ts';
import type { IdentityProviderRecord } from './identity-providers-repo.ts';
import { PRESETS, PROVIDER_KINDS, isProviderKind, type ProviderKind } from './presets.ts';
import { effective, isLoopbackHttp, type EffectiveProvider, type UpstreamClient } from './upstream-client.ts';
import { internalHostOf } from './public-network.ts';

export const PROVIDER_ID_RE = /^[a-z0-9][a-z0-9_-]{0,49}$/;
const SCOPE_RE = /^[\x21\x23-\x5B\x5D-\x7E]{1,100}$/;
const DOMAIN_RE = /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$/;
const URL_FIELDS = ['issuer', 'authorization_endpoint', 'token_endpoint', 'userinfo_endpoint', 'emails_endpoint'] as const;

export interface ProviderInput {
  id?: string;
  name?: string;
  kind?: string;
  issuer?: string | null;
  authorizationEndpoint?: string | null;
  tokenEndpoint?: string | null;
  userinfoEndpoint?: string | null;
  emailsEndpoint?: string | null;
  clientId?: string;
  /** Write-only; null or '' removes it (a public client). */
  clientSecret?: string | null;
  scopes?: string[];
  enabled?: boolean;
  jit?: boolean;
  allowedDomains?: string[];
  trustedForMfa?: boolean;
}

/** A provider as its managers see it: never its secret, only whether it has one. */
export type IdentityProvider = Omit<IdentityProviderRecord, 'clientSecretSealed' | 'tenantPk' | 'pk' | 'internalNetwork'> & { hasClientSecret: boolean; callbackUrl: string };

/** `loopbackHttp`: plain http to the loopback interface is accepted only where PUBLIC_URL is itself such (development, tests). */
const urlProblem = (v: string, loopbackHttp: boolean): string | undefined => {
  let u: URL;
  try {
    u = new URL(v);
  } catch {
    return 'Enter a valid URL.';
  }
  if (v.length > 2000) return 'Ensure this field has no more than 2000 characters.';
  if (u.username || u.password || u.hash) return 'A URL without credentials or fragment is required.';
  if (u.protocol !== 'https:' && !(loopbackHttp && isLoopbackHttp(u))) return 'An https URL is required.';
  return undefined;
};

export class IdentityProviders {
  private readonly d: { store: Store; clock: Clock; events: Events; box: SecretBox; client: UpstreamClient; publicUrl: string };

  constructor(deps: IdentityProviders['d']) {
    this.d = deps;
  }

  /** The address the upstream sends the browser back to: registered there as the redirect URI. */
  callbackUrl(slug: string): string {
    return `${this.d.publicUrl}/api/auth/social/${slug}/callback/`;
  }

  private context = (tenantPk: number, slug: string) => `idp:${tenantPk}:${slug}`;

  private present(r: IdentityProviderRecord): IdentityProvider {
    const { clientSecretSealed, tenantPk: _t, pk: _p, internalNetwork: _n, ...rest } = r;
    return { ...rest, hasClientSecret: clientSecretSealed !== null, callbackUrl: this.callbackUrl(r.slug) };
  }

  /** The provider ready to talk to: preset applied, secret opened. */
  open(r: IdentityProviderRecord): EffectiveProvider {
    return effective(r, r.clientSecretSealed === null ? null : this.d.box.open(r.clientSecretSealed, this.context(r.tenantPk, r.slug)));
  }

  async list(a: Actor, tenant: Tenant, page: PageRequest): Promise<Page<IdentityProvider>> {
    requireTenantManager(a, tenant.pk);
    const r = await this.d.store.read.identityProviders.list(tenant.pk, page);
    return { count: r.count, items: r.items.map((x) => this.present(x)) };
  }

  /** The enabled providers of a tenant (sign-in pages, the providers list). */
  async enabled(tenantPk: number): Promise<IdentityProviderRecord[]> {
    return (await this.d.store.read.identityProviders.list(tenantPk, { offset: 0, limit: 100 })).items.filter((p) => p.enabled);
  }

  /** An enabled provider of the tenant by its id, or NOT_FOUND. */
  async usable(tenantPk: number, slug: string): Promise<IdentityProviderRecord> {
    const p = PROVIDER_ID_RE.test(slug) ? await this.d.store.read.identityProviders.find(tenantPk, slug) : undefined;
    if (!p || !p.enabled) throw notFound('No such identity provider.');
    return p;
  }

  private async record(a: Actor, tenant: Tenant, slug: string): Promise<IdentityProviderRecord> {
    requireTenantManager(a, tenant.pk);
    const p = PROVIDER_ID_RE.test(slug) ? await this.d.store.read.identityProviders.find(tenant.pk, slug) : undefined;
    if (!p) throw notFound();
    return p;
  }

  async get(a: Actor, tenant: Tenant, slug: string): Promise<IdentityProvider> {
    return this.present(await this.record(a, tenant, slug));
  }

  async create(a: Actor, tenant: Tenant, input: ProviderInput): Promise<IdentityProvider> {
    requireTenantManager(a, tenant.pk);
    const errors = new FieldErrorBag();
    if (input.id === undefined) errors.add('id', 'This field is required.');
    else if (!PROVIDER_ID_RE.test(input.id)) errors.add('id', 'Use 1 to 50 lower-case letters, digits, "_" or "-", starting with a letter or digit.');
    if (input.kind === undefined) errors.add('kind', 'This field is required.');
    if (input.clientId === undefined) errors.add('client_id', 'This field is required.');
    errors.throwIfAny();
    const kind = this.checkKind(input.kind!);
    const now = this.d.clock.now();
    const draft: Omit<IdentityProviderRecord, 'pk'> = {
      tenantPk: tenant.pk, slug: input.id!, name: input.name ?? PRESETS[kind].name, kind,
      issuer: null, authorizationEndpoint: null, tokenEndpoint: null, userinfoEndpoint: null, emailsEndpoint: null,
      clientId: '', clientSecretSealed: null, scopes: [], enabled: true, jit: false, allowedDomains: [], trustedForMfa: false, internalNetwork: false, createdAt: now, updatedAt: now,
    };
    const { record, secret } = this.apply(draft, input);
    this.placeOnNetwork(a, draft, record, input);
    if (await this.d.store.read.identityProviders.find(tenant.pk, record.slug)) throw fieldError('id', 'An identity provider with this id already exists.');
    await this.checkReachable({ ...record, pk: 0 }, secret);
    try {
      return this.present(await this.d.store.transaction(async (r) => {
        const made = await r.identityProviders.insert(record);
        await this.changed(a, tenant, 'created', made.slug);
        return made;
      }));
    } catch (err) {
      if (this.d.store.isConflict(err)) throw fieldError('id', 'An identity provider with this id already exists.');
      throw err;
    }
  }

  async update(a: Actor, tenant: Tenant, slug: string, input: ProviderInput): Promise<IdentityProvider> {
    const current = await this.record(a, tenant, slug);
    if (input.id !== undefined && input.id !== current.slug) throw fieldError('id', 'The id cannot be changed.');
    if (input.kind !== undefined && input.kind !== current.kind) this.checkKind(input.kind);
    const { record, secret } = this.apply({ ...current, updatedAt: this.d.clock.now() }, input);
    this.placeOnNetwork(a, current, record, input);
    const talksDifferently = (['kind', 'issuer', 'authorizationEndpoint', 'tokenEndpoint', 'clientId'] as const).some((k) => record[k] !== current[k]);
    if (talksDifferently) await this.checkReachable({ ...record, pk: current.pk }, secret);
    const { pk: _pk, tenantPk: _t, slug: _s, createdAt: _c, ...changes } = record as IdentityProviderRecord;
    await this.d.store.transaction(async (r) => {
      await r.identityProviders.update(current.pk, changes);
      await this.changed(a, tenant, 'updated', current.slug);
    });
    return this.present((await this.d.store.read.identityProviders.findByPk(current.pk))!);
  }

  async delete(a: Actor, tenant: Tenant, slug: string): Promise<void> {
    const current = await this.record(a, tenant, slug);
    await this.d.store.transaction(async (r) => {
      await r.identityProviders.delete(current.pk);
      await this.changed(a, tenant, 'deleted', current.slug);
    });
  }

  /** Rewrites every sealed client secret under the first key (`latchkey keys reseal`). */
  async resealSecrets(): Promise<{ total: number; resealed: number }> {
    const all = await this.d.store.read.identityProviders.allWithSecrets();
    let resealed = 0;
    for (const p of all) {
      if (this.d.box.isCurrent(p.clientSecretSealed!)) continue;
      const sealed = this.d.box.reseal(p.clientSecretSealed!, this.context(p.tenantPk, p.slug));
      await this.d.store.transaction((r) => r.identityProviders.update(p.pk, { clientSecretSealed: sealed }));
      resealed++;
    }
    return { total: all.length, resealed };
  }

  private checkKind(kind: string): ProviderKind {
    if (!isProviderKind(kind)) throw fieldError('kind', `"${kind.slice(0, 50)}" is not a valid choice (${PROVIDER_KINDS.join(', ')}).`);
    return kind;
  }

  private changed(a: Actor, tenant: Tenant, action: string, slug: string) {
    return this.d.events.emit({ type: 'settings.changed', tenantPk: tenant.pk, userPk: null, actorPk: actorUserPk(a), detail: { key: 'identity_provider', action, id: slug } });
  }

  /** The input over a record, validated; the secret sealed. Field names are the API's. */
  private apply<R extends Omit<IdentityProviderRecord, 'pk'>>(base: R, input: ProviderInput): { record: R; secret: string | null } {
    const errors = new FieldErrorBag();
    const r = { ...base };
    if (input.kind !== undefined && isProviderKind(input.kind)) r.kind = input.kind;
    if (input.name !== undefined) {
      if (input.name.trim() === '') errors.add('name', 'This field may not be blank.');
      else if ([...input.name].length > 200) errors.add('name', 'Ensure this field has no more than 200 characters.');
      else r.name = input.name.trim();
    }
    const urls: Record<(typeof URL_FIELDS)[number], string | null | undefined> = {
      issuer: input.issuer, authorization_endpoint: input.authorizationEndpoint, token_endpoint: input.tokenEndpoint,
      userinfo_endpoint: input.userinfoEndpoint, emails_endpoint: input.emailsEndpoint,
    };
    const key = { issuer: 'issuer', authorization_endpoint: 'authorizationEndpoint', token_endpoint: 'tokenEndpoint', userinfo_endpoint: 'userinfoEndpoint', emails_endpoint: 'emailsEndpoint' } as const;
    for (const f of URL_FIELDS) {
      const v = urls[f];
      if (v === undefined) continue;
      if (v === null || v === '') {
        r[key[f]] = null;
        continue;
      }
      const problem = urlProblem(v, isLoopbackHttp(new URL(this.d.publicUrl)));
      if (problem) errors.add(f, problem);
      else r[key[f]] = v;
    }
    if (input.clientId !== undefined) {
      if (input.clientId.trim() === '' || input.clientId.length > 500 || /[\x00-\x1f]/.test(input.clientId)) errors.add('client_id', 'Enter the client id the provider gave (1 to 500 characters).');
      else r.clientId = input.clientId;
    }
    if (input.scopes !== undefined) {
      for (const s of input.scopes) if (!SCOPE_RE.test(s)) errors.add('scopes', `"${s.slice(0, 100)}" is not a valid scope.`);
      if (input.scopes.length > 50) errors.add('scopes', 'At most 50 scopes.');
      r.scopes = [...new Set(input.scopes)];
    }
    if (input.allowedDomains !== undefined) {
      const domains = input.allowedDomains.map((d) => d.trim().toLowerCase());
      for (const d of domains) if (!DOMAIN_RE.test(d)) errors.add('allowed_domains', `"${d.slice(0, 100)}" is not a domain name.`);
      if (domains.length > 100) errors.add('allowed_domains', 'At most 100 domains.');
      r.allowedDomains = [...new Set(domains)];
    }
    if (input.enabled !== undefined) r.enabled = input.enabled;
    if (input.jit !== undefined) r.jit = input.jit;
    if (input.trustedForMfa !== undefined) r.trustedForMfa = input.trustedForMfa;
    // The stored secret is opened only when it is kept (a new one replaces it even if no configured key opens the old).
    let secret: string | null = input.clientSecret !== undefined || base.clientSecretSealed === null ? null : this.d.box.open(base.clientSecretSealed, this.context(base.tenantPk, base.slug));
    if (input.clientSecret !== undefined) {
      if (input.clientSecret !== null && input.clientSecret.length > 4000) errors.add('client_secret', 'Ensure this field has no more than 4000 characters.');
      else secret = input.clientSecret === null || input.clientSecret === '' ? null : input.clientSecret;
    }
    // What the kind needs: an issuer for OpenID Connect, endpoints for OAuth 2.0.
    const eff = effective({ ...r, pk: 0 } as IdentityProviderRecord, secret);
    if (eff.preset.protocol === 'oidc' && !eff.issuer) errors.add('issuer', 'This field is required for this kind of provider.');
    if (eff.preset.protocol === 'oauth2') {
      if (!eff.authorizationEndpoint) errors.add('authorization_endpoint', 'This field is required for this kind of provider.');
      if (!eff.tokenEndpoint) errors.add('token_endpoint', 'This field is required for this kind of provider.');
      if (!eff.userinfoEndpoint) errors.add('userinfo_endpoint', 'This field is required for this kind of provider.');
    }
    errors.throwIfAny();
    r.clientSecretSealed = secret === null ? null : this.d.box.seal(secret, this.context(r.tenantPk, r.slug));
    return { record: r, secret };
  }

  /**
   * Whether the provider may be reached on the internal network (public-network.ts): when a
   * superuser or the operator saves it; a tenant's staff who change an address put it back on the
   * public internet, and an address that names the internal network outright is refused here
   * (one that resolves there is refused when connecting). A development server allows anything.
   */
  private placeOnNetwork(a: Actor, base: Pick<IdentityProviderRecord, 'internalNetwork'>, record: IdentityProviderRecord | Omit<IdentityProviderRecord, 'pk'>, input: ProviderInput): void {
    const addressed = [input.issuer, input.authorizationEndpoint, input.tokenEndpoint, input.userinfoEndpoint, input.emailsEndpoint].some((v) => v !== undefined) || input.kind !== undefined;
    record.internalNetwork = isSuperuser(a) ? true : addressed ? false : base.internalNetwork;
    if (record.internalNetwork || isLoopbackHttp(new URL(this.d.publicUrl))) return;
    const eff = effective({ ...record, pk: 0 } as IdentityProviderRecord, null);
    const errors = new FieldErrorBag();
    const urls = { issuer: eff.issuer, authorization_endpoint: eff.authorizationEndpoint, token_endpoint: eff.tokenEndpoint, userinfo_endpoint: eff.userinfoEndpoint, emails_endpoint: eff.emailsEndpoint };
    for (const [field, v] of Object.entries(urls)) {
      if (v && internalHostOf(new URL(v))) errors.add(field, 'This address is on the internal network: only a superuser may set up such a provider.');
    }
    errors.throwIfAny();
  }

  /** OpenID Connect: the issuer's discovery document must be there and name the same issuer. */
  private async checkReachable(record: IdentityProviderRecord, secret: string | null): Promise<void> {
    const eff = effective(record, secret);
    if (eff.preset.protocol !== 'oidc') return;
    try {
      await this.d.client.configuration(eff, true);
    } catch (err) {
      const why = err instanceof DomainError && err.code === 'VALIDATION_FAILED' ? (err.fields?.non_field_errors?.[0] ?? err.message) : 'it cannot be reached';
      throw fieldError('issuer', `The OpenID Connect discovery document at ${eff.issuer}/.well-known/openid-configuration could not be used: ${why}`);
    }
  }
}
