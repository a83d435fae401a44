// The AuthN user API (an enterprise user-management API): /user_info/ and /user/ with integer ids, `profile` and `emm`
// JSON objects, X-Tenant and X-Client-Id headers, and {errors, message, status} error bodies.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DomainError, EMAIL_MAX, NAME_MAX, USERNAME_MAX, type Core, type User } from '../../../core/index.ts';
import { installRequestContext } from '../../plugins/request-context.ts';
import { fetchPage, pageLinks, pageRequest } from '../../pagination.ts';
import { authnErrorHandler, send } from './error-map.ts';

interface Options {
  core: Core;
  publicUrl: string;
}

const ErrorBody = Type.Object({
  errors: Type.Array(Type.Object({ field: Type.String(), message: Type.String() })),
  message: Type.String(),
  status: Type.Integer(),
});

const Json = Type.Object({}, { additionalProperties: true, description: 'A JSON object (at most 16 KiB, 5 levels deep)' });

const UserOut = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  email: Type.String(),
  first_name: Type.String(),
  last_name: Type.String(),
  full_name: Type.String(),
  is_staff: Type.Boolean(),
  is_superuser: Type.Boolean(),
  is_active: Type.Boolean(),
  profile: Json,
  emm: Json,
  last_login: Type.Union([Type.String({ format: 'date-time' }), Type.Null()]),
  token: Type.String({ description: 'The credential the caller presented, when this user is the caller; otherwise empty' }),
  has_emm: Type.Boolean(),
  is_email_verified: Type.Boolean(),
});

const fields = {
  username: Type.String({ maxLength: USERNAME_MAX }),
  password: Type.String({ maxLength: 8192 }),
  first_name: Type.String({ maxLength: NAME_MAX }),
  last_name: Type.String({ maxLength: NAME_MAX }),
  is_active: Type.Boolean(),
  email: Type.String({ maxLength: EMAIL_MAX }),
  profile: Type.Object({}, { additionalProperties: true }),
  emm: Type.Object({}, { additionalProperties: true }),
};
const UserCreate = Type.Object(
  {
    username: fields.username, profile: fields.profile, password: Type.Optional(fields.password), first_name: Type.Optional(fields.first_name),
    last_name: Type.Optional(fields.last_name), is_active: Type.Optional(fields.is_active), email: Type.Optional(fields.email),
    emm: Type.Optional(fields.emm),
  },
  { additionalProperties: false },
);
const UserPatch = Type.Object(
  {
    username: Type.Optional(fields.username), profile: Type.Optional(fields.profile), password: Type.Optional(fields.password),
    first_name: Type.Optional(fields.first_name), last_name: Type.Optional(fields.last_name), is_active: Type.Optional(fields.is_active),
    email: Type.Optional(fields.email), emm: Type.Optional(fields.emm),
  },
  { additionalProperties: false },
);
const UserPut = Type.Object({ ...UserPatch.properties, username: fields.username, profile: fields.profile }, { additionalProperties: false });

// Path ids are positive integers that fit the database's integer column.
const UserIdParam = Type.Object({ user_id: Type.String({ pattern: '^[1-9][0-9]{0,9}$', description: 'User ID (the integer `id`)' }) });
const PageQuery = Type.Object({ page: Type.Optional(Type.String({ description: 'A page number (100 users a page) or `last`' })) });
const headers = Type.Object({
  'x-tenant': Type.Optional(Type.String({ description: 'Tenant name' })),
  'x-client-id': Type.Optional(Type.String({ description: 'client id registered with AuthN' })),
});
const security = [{ apiKey: [] }];
const tags = ['AuthN user API'];
const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody };

const MAX_INT = 2_147_483_647;

export async function authnDialect(app: FastifyInstance, { core, publicUrl }: Options) {
  app.setErrorHandler(authnErrorHandler);
  installRequestContext(app, core, { emptyBodyIsObject: true });
  app.addHook('preValidation', async (request, reply) => {
    const type = request.headers['content-type'];
    if (request.routeOptions.schema?.body && type !== undefined && !/^application\/([\w.+-]*\+)?json\b/i.test(type)) {
      return send(reply, 415, `Unsupported media type "${type.slice(0, 100)}" in request: send application/json.`);
    }
  });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();

  const present = (request: FastifyRequest, u: User) => ({
    id: u.pk, username: u.username, email: u.email, first_name: u.firstName, last_name: u.lastName,
    full_name: `${u.firstName} ${u.lastName}`.trim(), is_staff: u.isStaff, is_superuser: u.isSuperuser, is_active: u.isActive,
    profile: u.profile, emm: u.emm, last_login: u.lastLogin === null ? null : new Date(u.lastLogin).toISOString(),
    token: request.principal?.user.pk === u.pk ? request.presentedCredential ?? '' : '',
    has_emm: Object.keys(u.emm).length > 0, is_email_verified: u.emailVerified,
  });
  const pkOf = (raw: string) => {
    const n = Number(raw);
    if (!Number.isSafeInteger(n) || n > MAX_INT) throw new DomainError('NOT_FOUND', 'Not found.');
    return n;
  };

  typed.get('/user_info/', {
    config: { auth: true, credentialAnswer: true },
    schema: { operationId: 'authn_user_info', tags, security, headers, summary: 'User information', description: 'The caller, with the credential it presented in `token`.', response: { 200: UserOut, ...errors } },
  }, async (request) => present(request, request.principal!.user));

  typed.get('/user/', {
    config: { auth: true, credentialAnswer: true },
    schema: { operationId: 'authn_user_list', tags, security, headers, summary: 'List users in Enterprise (staff: the tenant; others: themselves)', querystring: PageQuery, response: { 200: Type.Object({ count: Type.Integer(), previous: Type.Union([Type.String(), Type.Null()]), next: Type.Union([Type.String(), Type.Null()]), results: Type.Array(UserOut) }), ...errors } },
  }, async (request) => {
    const { req, result } = await fetchPage(pageRequest(request.query.page), (r) => core.users.list(request.principal!, r));
    const links = pageLinks(publicUrl, request, req, result);
    return { count: links.count, previous: links.previous, next: links.next, results: result.items.map((u) => present(request, u)) };
  });

  typed.post('/user/', {
    config: { auth: true, credentialAnswer: true },
    schema: { operationId: 'authn_user_create', tags, security, headers, summary: 'Create a new User (staff)', description: 'Without `password` the account cannot sign in with a password.', body: UserCreate, response: { 201: UserOut, ...errors } },
  }, async (request, reply) => {
    const b = request.body;
    const user = await core.users.create(request.principal!, {
      username: b.username, password: b.password ?? null, firstName: b.first_name, lastName: b.last_name, isActive: b.is_active,
      email: b.email, profile: b.profile, emm: b.emm,
    });
    return reply.code(201).send(present(request, user));
  });

  typed.get('/user/:user_id/', {
    config: { auth: true, credentialAnswer: true },
    schema: { operationId: 'authn_user_retrieve', tags, security, headers, summary: 'Get User Information', params: UserIdParam, response: { 200: UserOut, ...errors } },
  }, async (request) => present(request, await core.users.getByPk(request.principal!, pkOf(request.params.user_id))));

  for (const [method, body, summary] of [['PUT', UserPut, 'Update a User'], ['PATCH', UserPatch, 'Partial update a User']] as const) {
    typed.route({
      method, url: '/user/:user_id/', config: { auth: true, credentialAnswer: true },
      schema: { operationId: method === 'PUT' ? 'authn_user_update' : 'authn_user_partial_update', tags, security, headers, summary, description: 'A `password` here sets the password (oneself, or staff for its tenant) and ends the user\'s other sign-ins.', params: UserIdParam, body, response: { 200: UserOut, ...errors } },
      handler: async (request) => {
        const b = request.body as Record<string, any>;
        const target = await core.users.getByPk(request.principal!, pkOf(request.params.user_id));
        const user = await core.users.update(request.principal!, target.id, {
          username: b.username, password: b.password, firstName: b.first_name, lastName: b.last_name, isActive: b.is_active,
          email: b.email, profile: b.profile, emm: b.emm,
        });
        return present(request, user);
      },
    });
  }

  typed.delete('/user/:user_id/', {
    config: { auth: true, credentialAnswer: true },
    schema: { operationId: 'authn_user_destroy', tags, security, headers, summary: 'Delete a user (staff)', params: UserIdParam, response: { 204: Type.Null({ description: 'Deleted User' }), ...errors } },
  }, async (request, reply) => {
    const target = await core.users.getByPk(request.principal!, pkOf(request.params.user_id));
    await core.users.delete(request.principal!, target.id);
    return reply.code(204).send(null);
  });
}
