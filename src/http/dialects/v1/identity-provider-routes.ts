// The tenant's upstream identity providers (/api/identity-providers/): a fixed endpoint of the
// design, in the v1 API's style, for the tenant's staff and superusers. `client_secret` is
// write-only: answers say `has_client_secret`.
import { Type } from '@sinclair/typebox';
import { PROVIDER_KINDS, type IdentityProvider, type ProviderInput } from '../../../core/index.ts';
import type { DialectOptions, TypedApp } from './index.ts';
import { fetchPage, pageLinks, pageRequest } from '../../pagination.ts';
import { Detail, FieldErrors, PageQuery, paginated, secured as security } from './schemas.ts';

const errors = { 400: FieldErrors, 401: Detail, 403: Detail, 404: Detail, 503: Detail };
const noBody = Type.Null({ description: 'No response body' });
const IdParam = Type.Object({ id: Type.String({ maxLength: 50 }) });
const iso = (ms: number) => new Date(ms).toISOString();
const Url = (description: string) => Type.Union([Type.String({ maxLength: 2000 }), Type.Null()], { description });
const tags = ['identity providers'];

const ProviderOut = Type.Object({
  id: Type.String({ description: 'The provider\'s id in URLs and in social accounts (`provider`)' }),
  name: Type.String(),
  kind: Type.String({ enum: [...PROVIDER_KINDS] }),
  issuer: Url('OpenID Connect issuer (discovery at <issuer>/.well-known/openid-configuration); null: the preset\'s'),
  authorization_endpoint: Url('Overrides discovery\'s or the preset\'s'),
  token_endpoint: Url('Overrides discovery\'s or the preset\'s'),
  userinfo_endpoint: Url('Overrides discovery\'s or the preset\'s'),
  emails_endpoint: Url('GitHub: the list of the account\'s addresses'),
  client_id: Type.String(),
  has_client_secret: Type.Boolean({ description: 'A secret is set (it is never shown)' }),
  scopes: Type.Array(Type.String(), { description: 'Empty: the preset\'s' }),
  enabled: Type.Boolean(),
  jit: Type.Boolean({ description: 'Create an account at the first sign-in of an unknown person (false: link existing accounts only)' }),
  allowed_domains: Type.Array(Type.String(), { description: 'E-mail domains a sign-in must have (verified); empty: any' }),
  trusted_for_mfa: Type.Boolean({ description: 'The provider\'s `amr` saying several factors satisfies the tenant\'s second-factor requirement' }),
  callback_url: Type.String({ description: 'Register this redirect URI at the provider' }),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});

// An enum in the document: clients (and the fuzzer) see the kinds there are.
const Kind = Type.Union(PROVIDER_KINDS.map((k) => Type.Literal(k)), { description: 'The preset, or `oidc` for any OpenID provider by its issuer' });

const fields = {
  name: Type.Optional(Type.String({ maxLength: 200 })),
  kind: Type.Optional(Kind),
  issuer: Type.Optional(Url('Required for kind oidc and microsoft (your directory\'s issuer)')),
  authorization_endpoint: Type.Optional(Url('Override')),
  token_endpoint: Type.Optional(Url('Override')),
  userinfo_endpoint: Type.Optional(Url('Override')),
  emails_endpoint: Type.Optional(Url('Override (GitHub)')),
  client_id: Type.Optional(Type.String({ maxLength: 500 })),
  client_secret: Type.Optional(Type.Union([Type.String({ maxLength: 4000 }), Type.Null()], { writeOnly: true, description: 'Write-only; sealed at rest with LATCHKEY_SECRET_KEYS; null or empty removes it' })),
  scopes: Type.Optional(Type.Array(Type.String({ maxLength: 100 }), { maxItems: 50 })),
  enabled: Type.Optional(Type.Boolean({ description: 'Default true' })),
  jit: Type.Optional(Type.Boolean({ description: 'Default false' })),
  allowed_domains: Type.Optional(Type.Array(Type.String({ maxLength: 253 }), { maxItems: 100 })),
  trusted_for_mfa: Type.Optional(Type.Boolean({ description: 'Default false' })),
};
const ProviderCreate = Type.Object({ id: Type.String({ maxLength: 50 }), ...fields, kind: Kind, client_id: Type.String({ maxLength: 500 }) }, { additionalProperties: false });
const ProviderUpdate = Type.Object({ id: Type.Optional(Type.String({ maxLength: 50, readOnly: true })), ...fields }, { additionalProperties: false });

const present = (p: IdentityProvider) => ({
  id: p.slug, name: p.name, kind: p.kind, issuer: p.issuer, authorization_endpoint: p.authorizationEndpoint, token_endpoint: p.tokenEndpoint,
  userinfo_endpoint: p.userinfoEndpoint, emails_endpoint: p.emailsEndpoint, client_id: p.clientId, has_client_secret: p.hasClientSecret,
  scopes: p.scopes, enabled: p.enabled, jit: p.jit, allowed_domains: p.allowedDomains, trusted_for_mfa: p.trustedForMfa, callback_url: p.callbackUrl,
  created_at: iso(p.createdAt), updated_at: iso(p.updatedAt),
});

type Body = { id?: string } & { [K in keyof typeof fields]?: any };
const input = (b: Body): ProviderInput => ({
  id: b.id, name: b.name, kind: b.kind, issuer: b.issuer, authorizationEndpoint: b.authorization_endpoint, tokenEndpoint: b.token_endpoint,
  userinfoEndpoint: b.userinfo_endpoint, emailsEndpoint: b.emails_endpoint, clientId: b.client_id, clientSecret: b.client_secret, scopes: b.scopes,
  enabled: b.enabled, jit: b.jit, allowedDomains: b.allowed_domains, trustedForMfa: b.trusted_for_mfa,
});

export async function identityProviderRoutes(app: TypedApp, { core, publicUrl }: DialectOptions) {
  app.get('/api/identity-providers/', {
    config: { auth: true },
    schema: { operationId: 'api_identity_providers_list', tags, security, summary: 'List the tenant\'s upstream identity providers; staff only', querystring: PageQuery, response: { 200: paginated(ProviderOut), ...errors } },
  }, async (request) => {
    const { req, result } = await fetchPage(pageRequest(request.query.page), (r) => core.identityProviders.list(request.principal!, request.principal!.tenant, r));
    return { ...pageLinks(publicUrl, request, req, result), resources: result.items.map(present) };
  });
  app.post('/api/identity-providers/', {
    config: { auth: true },
    schema: {
      operationId: 'api_identity_providers_create', tags, security, summary: 'Add an upstream identity provider; staff only',
      description: 'An OpenID Connect provider (kind `oidc`, `google`, `microsoft`, `gitlab`, `apple`) is checked by discovery at its issuer now: an issuer that cannot be reached or answers no usable document is a 400 on `issuer`.',
      body: ProviderCreate, response: { 201: ProviderOut, ...errors },
    },
  }, async (request, reply) => reply.code(201).send(present(await core.identityProviders.create(request.principal!, request.principal!.tenant, input(request.body)))));
  app.get('/api/identity-providers/:id/', {
    config: { auth: true },
    schema: { operationId: 'api_identity_providers_retrieve', tags, security, summary: 'Retrieve an identity provider (never its secret); staff only', params: IdParam, response: { 200: ProviderOut, ...errors } },
  }, async (request) => present(await core.identityProviders.get(request.principal!, request.principal!.tenant, request.params.id)));
  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method, url: '/api/identity-providers/:id/', config: { auth: true },
      schema: {
        operationId: method === 'PUT' ? 'api_identity_providers_update' : 'api_identity_providers_partial_update', tags, security,
        summary: 'Change an identity provider; staff only', description: '`id` is read-only. A change of kind, issuer, endpoints or client id is checked by discovery again.',
        params: IdParam, body: ProviderUpdate, response: { 200: ProviderOut, ...errors },
      },
      handler: async (request) => present(await core.identityProviders.update(request.principal!, request.principal!.tenant, request.params.id, input(request.body))),
    });
  }
  app.delete('/api/identity-providers/:id/', {
    config: { auth: true },
    schema: { operationId: 'api_identity_providers_destroy', tags, security, summary: 'Delete an identity provider (accounts linked through it keep their other ways to sign in); staff only', params: IdParam, response: { 204: noBody, ...errors } },
  }, async (request, reply) => {
    await core.identityProviders.delete(request.principal!, request.principal!.tenant, request.params.id);
    return reply.code(204).send(null);
  });
}
