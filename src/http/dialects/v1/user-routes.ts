import { Type } from '@sinclair/typebox';
import type { DialectOptions, TypedApp } from './index.ts';
import { DomainError, FieldErrorBag } from '../../../core/index.ts';
import { fetchPage, pageLinks, pageRequest } from '../../pagination.ts';
import { CreateUserBody, Detail, FieldErrors, IdParam, PageQuery, UpdateUserBody, User, paginated, secured } from './schemas.ts';
import { presentUser } from './presenters.ts';

const tags = ['users'];
const security = secured;
const description = 'Lists, creates, updates and retrieves user accounts';
const errors = { 400: FieldErrors, 401: Detail, 403: Detail, 404: Detail };

export async function userRoutes(app: TypedApp, { core, publicUrl }: DialectOptions) {
  app.get('/api/users/', {
    config: { auth: true },
    schema: {
      operationId: 'api_users_list', tags, security, description,
      summary: 'List users (staff: the whole tenant; others: themselves)',
      querystring: Type.Object({
        ...PageQuery.properties,
        tenant_id: Type.Optional(Type.String({ maxLength: 64, description: 'Superusers: list another tenant\'s users' })),
      }),
      response: { 200: paginated(User), ...errors },
    },
  }, async (request) => {
    const named = request.query.tenant_id;
    const { req, result } = await fetchPage(pageRequest(request.query.page), (r) =>
      named === undefined ? core.users.list(request.principal!, r) : core.users.listInTenant(request.principal!, r, named));
    return { ...pageLinks(publicUrl, request, req, result), resources: result.items.map(presentUser) };
  });

  app.post('/api/users/', {
    config: { auth: true, fieldNames: { tenant: 'tenant_id' } },
    schema: {
      operationId: 'api_users_create', tags, security, description,
      summary: 'Create a user (staff of the tenant; a superuser for another tenant)',
      body: CreateUserBody,
      response: { 201: User, ...errors },
    },
  }, async (request, reply) => {
    const b = request.body;
    const user = await core.users.create(request.principal!, {
      username: b.username, password: b.password, email: b.email, firstName: b.first_name, lastName: b.last_name, tenant: b.tenant_id,
    });
    return reply.code(201).send(presentUser(user));
  });

  app.get('/api/users/:id/', {
    config: { auth: true },
    schema: {
      operationId: 'api_users_retrieve', tags, security, description,
      summary: 'Retrieve a user (the user itself, or staff of its tenant)',
      params: IdParam,
      response: { 200: User, ...errors },
    },
  }, async (request) => presentUser(await core.users.get(request.principal!, request.params.id)));

  const update = (operationId: string, summary: string) => ({
    config: { auth: true },
    schema: {
      operationId, tags, security, summary, description: `${description}. \`id\` and \`username\` are read-only: accepted only when equal to the current value. Changing \`tenant_id\` moves the user (superuser only) and ends its sign-ins.`,
      params: IdParam,
      body: UpdateUserBody,
      response: { 200: User, ...errors },
    },
  });
  const handleUpdate = async (request: any) => {
    const current = await core.users.get(request.principal!, request.params.id);
    const b = request.body as Record<string, string | undefined>;
    const readOnly = new FieldErrorBag();
    if (b.id !== undefined && b.id.toLowerCase() !== current.id) readOnly.add('id', 'This field is read-only.');
    if (b.username !== undefined && b.username !== current.username) readOnly.add('username', 'This field is read-only.');
    readOnly.throwIfAny();
    const user = await core.users.update(request.principal!, current.id, {
      email: b.email, firstName: b.first_name, lastName: b.last_name, tenant: b.tenant_id,
    });
    return presentUser(user);
  };
  app.put('/api/users/:id/', update('api_users_update', 'Update a user\'s e-mail and names (the user itself, or staff of its tenant)'), handleUpdate);
  app.patch('/api/users/:id/', update('api_users_partial_update', 'Partially update a user\'s e-mail and names (the user itself, or staff of its tenant)'), handleUpdate);

  app.delete('/api/users/:id/', {
    config: { auth: true },
    schema: {
      operationId: 'api_users_destroy', tags, security, description,
      summary: 'Delete a user; staff of its tenant only',
      params: IdParam,
      response: { 204: Type.Null({ description: 'No response body' }), ...errors },
    },
  }, async (request, reply) => {
    await core.users.delete(request.principal!, request.params.id);
    return reply.code(204).send(null);
  });
}
