// Tenants (superusers) and registered clients (staff of the tenant): the fixed endpoints of
// the design that outside tools use, in the v1 API's style.
import { Type } from '@sinclair/typebox';
import type { Client, Tenant } from '../../../core/index.ts';
import type { DialectOptions, TypedApp } from './index.ts';
import { fetchPage, pageLinks, pageRequest } from '../../pagination.ts';
import { Detail, FieldErrors, PageQuery, paginated, secured as security } from './schemas.ts';
import { ClientCreate, ClientCreated, ClientOut, ClientUpdate, TenantCreate, TenantOut, TenantUpdate } from './admin-schemas.ts';

const errors = { 400: FieldErrors, 401: Detail, 403: Detail, 404: Detail };
const noBody = Type.Null({ description: 'No response body' });
const NameParam = Type.Object({ name: Type.String({ maxLength: 64 }) });
const ClientParam = Type.Object({ client_id: Type.String({ maxLength: 100 }) });
const iso = (ms: number) => new Date(ms).toISOString();

const presentTenant = (t: Tenant) => ({
  id: t.id, name: t.name, display_name: t.displayName, is_active: t.isActive, created_at: iso(t.createdAt), updated_at: iso(t.updatedAt),
});
const presentClient = (c: Client) => ({
  client_id: c.clientId, name: c.name, confidential: c.confidential, grant_types: c.grantTypes, redirect_uris: c.redirectUris,
  scopes: c.scopes, first_party: c.firstParty, created_at: iso(c.createdAt), updated_at: iso(c.updatedAt),
});

export async function adminRoutes(app: TypedApp, { core, publicUrl }: DialectOptions) {
  const tenantTags = ['tenants'];
  app.get('/api/tenants/', {
    config: { auth: true },
    schema: { operationId: 'api_tenants_list', tags: tenantTags, security, summary: 'List tenants; superusers only', querystring: PageQuery, response: { 200: paginated(TenantOut), ...errors } },
  }, async (request) => {
    const all = await core.tenants.adminList(request.principal!);
    const { req, result } = await fetchPage(pageRequest(request.query.page), async (r) => ({ count: all.length, items: all.slice(r.offset, r.offset + r.limit) }));
    return { ...pageLinks(publicUrl, request, req, result), resources: result.items.map(presentTenant) };
  });
  app.post('/api/tenants/', {
    config: { auth: true },
    schema: { operationId: 'api_tenants_create', tags: tenantTags, security, summary: 'Create a tenant; superusers only', body: TenantCreate, response: { 201: TenantOut, ...errors } },
  }, async (request, reply) => {
    const t = await core.tenants.adminCreate(request.principal!, request.body.name, request.body.display_name);
    return reply.code(201).send(presentTenant(t));
  });
  app.get('/api/tenants/:name/', {
    config: { auth: true },
    schema: { operationId: 'api_tenants_retrieve', tags: tenantTags, security, summary: 'Retrieve a tenant by name; superusers only', params: NameParam, response: { 200: TenantOut, ...errors } },
  }, async (request) => presentTenant(await core.tenants.adminGet(request.principal!, request.params.name)));
  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method, url: '/api/tenants/:name/', config: { auth: true },
      schema: {
        operationId: method === 'PUT' ? 'api_tenants_update' : 'api_tenants_partial_update', tags: tenantTags, security,
        summary: 'Rename, retitle, disable (`is_active: false`) or re-enable a tenant; superusers only',
        params: NameParam, body: TenantUpdate, response: { 200: TenantOut, ...errors },
      },
      handler: async (request) => {
        const b = request.body;
        return presentTenant(await core.tenants.adminUpdate(request.principal!, request.params.name, { name: b.name, displayName: b.display_name, isActive: b.is_active }));
      },
    });
  }
  app.delete('/api/tenants/:name/', {
    config: { auth: true },
    schema: { operationId: 'api_tenants_destroy', tags: tenantTags, security, summary: 'Delete a tenant and everything in it; superusers only', params: NameParam, response: { 204: noBody, ...errors } },
  }, async (request, reply) => {
    await core.tenants.adminDelete(request.principal!, request.params.name);
    return reply.code(204).send(null);
  });

  const clientTags = ['clients'];
  app.get('/api/clients/', {
    config: { auth: true },
    schema: { operationId: 'api_clients_list', tags: clientTags, security, summary: 'List the tenant\'s registered clients; staff only', querystring: PageQuery, response: { 200: paginated(ClientOut), ...errors } },
  }, async (request) => {
    const { req, result } = await fetchPage(pageRequest(request.query.page), (r) => core.clients.list(request.principal!, request.principal!.tenant, r));
    return { ...pageLinks(publicUrl, request, req, result), resources: result.items.map(presentClient) };
  });
  app.post('/api/clients/', {
    config: { auth: true, credentialAnswer: true },
    schema: {
      operationId: 'api_clients_create', tags: clientTags, security,
      summary: 'Register a client application; staff only',
      description: 'A confidential client (the default) gets a server-generated secret (256 bits) in this answer only.',
      body: ClientCreate, response: { 201: ClientCreated, ...errors },
    },
  }, async (request, reply) => {
    const b = request.body;
    const { client, secret } = await core.clients.create(request.principal!, request.principal!.tenant, {
      clientId: b.client_id, name: b.name, grantTypes: b.grant_types, redirectUris: b.redirect_uris, scopes: b.scopes, confidential: b.confidential, firstParty: b.first_party,
    });
    return reply.code(201).send({ ...presentClient(client), client_secret: secret });
  });
  app.get('/api/clients/:client_id/', {
    config: { auth: true },
    schema: { operationId: 'api_clients_retrieve', tags: clientTags, security, summary: 'Retrieve a registered client (never its secret); staff only', params: ClientParam, response: { 200: ClientOut, ...errors } },
  }, async (request) => presentClient(await core.clients.get(request.principal!, request.principal!.tenant, request.params.client_id)));
  for (const method of ['PUT', 'PATCH'] as const) {
    app.route({
      method, url: '/api/clients/:client_id/', config: { auth: true },
      schema: {
        operationId: method === 'PUT' ? 'api_clients_update' : 'api_clients_partial_update', tags: clientTags, security,
        summary: 'Change a client\'s name, grant types, redirect URIs, scopes or first_party; staff only',
        description: '`client_id` and `confidential` are read-only: accepted only when equal to the current value.',
        params: ClientParam, body: ClientUpdate, response: { 200: ClientOut, ...errors },
      },
      handler: async (request) => {
        const b = request.body;
        return presentClient(await core.clients.update(request.principal!, request.principal!.tenant, request.params.client_id, {
          clientId: b.client_id, name: b.name, grantTypes: b.grant_types, redirectUris: b.redirect_uris, scopes: b.scopes, confidential: b.confidential, firstParty: b.first_party,
        }));
      },
    });
  }
  app.delete('/api/clients/:client_id/', {
    config: { auth: true },
    schema: { operationId: 'api_clients_destroy', tags: clientTags, security, summary: 'Delete a registered client (tokens issued to it stop working); staff only', params: ClientParam, response: { 204: noBody, ...errors } },
  }, async (request, reply) => {
    await core.clients.delete(request.principal!, request.principal!.tenant, request.params.client_id);
    return reply.code(204).send(null);
  });
}
