// The tenants' identity providers and the authorization requests sent to them
// (core/identity-providers/identity-providers-repo.ts says what they are).
import type { Kysely } from 'kysely';
import type { DB } from '../schema.ts';
import { toFlag } from './rows.ts';
import type { IdentityProviderRecord, IdentityProvidersRepo, UpstreamRequestRecord } from '../../core/identity-providers/identity-providers-repo.ts';
import type { ProviderKind } from '../../core/identity-providers/presets.ts';

const words = (s: string): string[] => (s ? s.split(' ').filter(Boolean) : []);
const flag = (v: boolean | number): boolean => v === true || v === 1;

function toRecord(r: any): IdentityProviderRecord {
  return {
    pk: r.pk, tenantPk: r.tenant_pk, slug: r.slug, name: r.name, kind: r.kind as ProviderKind, issuer: r.issuer,
    authorizationEndpoint: r.authorization_endpoint, tokenEndpoint: r.token_endpoint, userinfoEndpoint: r.userinfo_endpoint, emailsEndpoint: r.emails_endpoint,
    clientId: r.client_id, clientSecretSealed: r.client_secret, scopes: words(r.scopes), enabled: flag(r.enabled), jit: flag(r.jit),
    allowedDomains: words(r.allowed_domains), trustedForMfa: flag(r.trusted_for_mfa), internalNetwork: flag(r.internal_network), createdAt: Number(r.created_at), updatedAt: Number(r.updated_at),
  };
}

function toRow(r: Partial<Omit<IdentityProviderRecord, 'pk'>>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const set = (k: string, v: unknown) => { if (v !== undefined) out[k] = v; };
  set('tenant_pk', r.tenantPk);
  set('slug', r.slug);
  set('name', r.name);
  set('kind', r.kind);
  set('issuer', r.issuer);
  set('authorization_endpoint', r.authorizationEndpoint);
  set('token_endpoint', r.tokenEndpoint);
  set('userinfo_endpoint', r.userinfoEndpoint);
  set('emails_endpoint', r.emailsEndpoint);
  set('client_id', r.clientId);
  set('client_secret', r.clientSecretSealed);
  set('scopes', r.scopes?.join(' '));
  set('enabled', r.enabled === undefined ? undefined : toFlag(r.enabled));
  set('jit', r.jit === undefined ? undefined : toFlag(r.jit));
  set('allowed_domains', r.allowedDomains?.join(' '));
  set('trusted_for_mfa', r.trustedForMfa === undefined ? undefined : toFlag(r.trustedForMfa));
  set('internal_network', r.internalNetwork === undefined ? undefined : toFlag(r.internalNetwork));
  set('created_at', r.createdAt);
  set('updated_at', r.updatedAt);
  return out;
}

export function identityProvidersRepo(db: Kysely<DB>): IdentityProvidersRepo {
  return {
    async list(tenantPk, page) {
      const [{ n }] = await db.selectFrom('identity_providers').where('tenant_pk', '=', tenantPk).select((eb) => eb.fn.countAll<number>().as('n')).execute();
      const rows = await db.selectFrom('identity_providers').selectAll().where('tenant_pk', '=', tenantPk).orderBy('pk').limit(page.limit).offset(page.offset).execute();
      return { count: Number(n), items: rows.map(toRecord) };
    },
    async find(tenantPk, slug) {
      const r = await db.selectFrom('identity_providers').selectAll().where('tenant_pk', '=', tenantPk).where('slug', '=', slug).executeTakeFirst();
      return r && toRecord(r);
    },
    async findByPk(pk) {
      const r = await db.selectFrom('identity_providers').selectAll().where('pk', '=', pk).executeTakeFirst();
      return r && toRecord(r);
    },
    async insert(rec) {
      const r = await db.insertInto('identity_providers').values(toRow(rec) as any).returningAll().executeTakeFirstOrThrow();
      return toRecord(r);
    },
    async update(pk, rec) {
      const values = toRow(rec);
      if (Object.keys(values).length > 0) await db.updateTable('identity_providers').set(values as any).where('pk', '=', pk).execute();
    },
    async delete(pk) {
      await db.deleteFrom('identity_providers').where('pk', '=', pk).execute();
    },
    async allWithSecrets() {
      return (await db.selectFrom('identity_providers').selectAll().where('client_secret', 'is not', null).orderBy('pk').execute()).map(toRecord);
    },
    async insertRequest(r: UpstreamRequestRecord) {
      await db.insertInto('upstream_requests').values({
        state_hash: r.stateHash, tenant_pk: r.tenantPk, provider_pk: r.providerPk, binding_hash: r.bindingHash, purpose: r.purpose, user_pk: r.userPk,
        code_verifier: r.codeVerifier, nonce: r.nonce, next: r.next, created_at: r.createdAt, expires_at: r.expiresAt, used_at: null,
      }).execute();
    },
    async findRequest(stateHash) {
      const r = await db.selectFrom('upstream_requests').selectAll().where('state_hash', '=', stateHash).where('used_at', 'is', null).executeTakeFirst();
      if (!r) return undefined;
      return {
        stateHash: r.state_hash, tenantPk: r.tenant_pk, providerPk: r.provider_pk, bindingHash: r.binding_hash, purpose: r.purpose as UpstreamRequestRecord['purpose'],
        userPk: r.user_pk, codeVerifier: r.code_verifier, nonce: r.nonce, next: r.next, createdAt: Number(r.created_at), expiresAt: Number(r.expires_at),
      };
    },
    async consumeRequest(stateHash, now) {
      const r = await db.updateTable('upstream_requests').set({ used_at: now }).where('state_hash', '=', stateHash).where('used_at', 'is', null).executeTakeFirst();
      return Number(r.numUpdatedRows) === 1;
    },
    async deleteExpiredRequests(now) {
      await db.deleteFrom('upstream_requests').where('expires_at', '<=', now).execute();
    },
  };
}
