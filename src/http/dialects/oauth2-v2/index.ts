// The OAuth2 password-grant API, as FastAPI's OAuth2 password flow shapes it:
// POST /token (form-encoded, RFC 6749 answers and errors) and /api/v2/users/....
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DomainError, USERNAME_MAX, type Client, type Core, type User } from '../../../core/index.ts';
import { checkClient, requestedTenant } from '../../plugins/tenant-and-client.ts';
import { installRequestContext } from '../../plugins/request-context.ts';
import { fastapiErrorHandler, oauthErrorHandler, sendOAuthError } from './errors.ts';

interface Options {
  core: Core;
  publicUrl: string;
}

const UserOut = Type.Object({
  id: Type.Integer(),
  username: Type.String(),
  enabled: Type.Boolean(),
  is_admin: Type.Boolean(),
  avatar: Type.Union([Type.String(), Type.Null()]),
  created_at: Type.String({ format: 'date-time' }),
  updated_at: Type.String({ format: 'date-time' }),
});
// `code`: only with a due second factor (`mfa_required`), which a password cannot pass alone.
const Detail = Type.Object({ detail: Type.Unknown(), code: Type.Optional(Type.String()) });
const errors = { 400: Detail, 401: Detail, 403: Detail, 404: Detail, 422: Detail };
const security = [{ OAuth2PasswordBearer: [] }];
const tags = ['v2 users'];
const UidParam = Type.Object({ uid: Type.String({ pattern: '^-?[0-9]+$', description: 'User ID (the integer `id`)' }) });

const TokenForm = Type.Object(
  {
    grant_type: Type.Optional(Type.String({ maxLength: 100 })),
    username: Type.Optional(Type.String({ maxLength: 4096 })),
    password: Type.Optional(Type.String({ maxLength: 8192 })),
    scope: Type.Optional(Type.String({ maxLength: 2000 })),
    client_id: Type.Optional(Type.String({ maxLength: 200 })),
    client_secret: Type.Optional(Type.String({ maxLength: 200 })),
    refresh_token: Type.Optional(Type.String({ maxLength: 4096 })),
  },
  { additionalProperties: true },
);
const TokenOut = Type.Object({
  access_token: Type.String(),
  token_type: Type.String(),
  expires_in: Type.Integer(),
  refresh_token: Type.String(),
  scope: Type.Optional(Type.String()),
});
const OAuthError = Type.Object({ error: Type.String(), error_description: Type.String(), detail: Type.Unknown() });

const iso = (ms: number) => new Date(ms).toISOString();
const present = (u: User) => ({
  id: u.pk, username: u.username, enabled: u.isActive, is_admin: u.isStaff, avatar: u.avatar, created_at: iso(u.createdAt), updated_at: iso(u.updatedAt),
});
const isForm = (request: FastifyRequest) => (request.headers['content-type'] ?? '').toLowerCase().startsWith('application/x-www-form-urlencoded');
const isJson = (request: FastifyRequest) => /^application\/([\w.+-]*\+)?json\b/i.test(request.headers['content-type'] ?? '');

/** Decodes one half of a Basic client credential (form-encoded first, RFC 6749 §2.3.1). */
function formDecode(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

/** The client credentials of a token request: HTTP Basic or form fields, never both. */
function clientCredentials(request: FastifyRequest, form: { client_id?: string; client_secret?: string }) {
  const h = request.headers.authorization;
  if (h && /^basic /i.test(h)) {
    if (form.client_secret) throw new DomainError('VALIDATION_FAILED', 'Client credentials were sent both by HTTP Basic and in the body.');
    const decoded = Buffer.from(h.slice(6).trim(), 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    const id = formDecode(colon < 0 ? decoded : decoded.slice(0, colon));
    const secret = colon < 0 ? '' : formDecode(decoded.slice(colon + 1));
    if (id === undefined || secret === undefined) throw new DomainError('INVALID_CLIENT', 'Malformed client credentials.');
    return { clientId: id, secret, viaBasic: true };
  }
  return { clientId: form.client_id ?? '', secret: form.client_secret, viaBasic: false };
}

async function tokenEndpoint(app: FastifyInstance, { core }: Options) {
  app.setErrorHandler(oauthErrorHandler);
  // Before the body schema: a text body is a string, which would fail it with a 422 instead.
  app.addHook('preValidation', async (request, reply) => {
    if (!isForm(request)) {
      return sendOAuthError(reply, 'invalid_request', 400, 'The token endpoint takes application/x-www-form-urlencoded bodies (RFC 6749 §3.2).');
    }
  });
  app.withTypeProvider<TypeBoxTypeProvider>().post('/token', {
    config: { credentialAnswer: true },
    schema: {
      operationId: 'oauth2_token', tags: ['v2 token'],
      summary: 'OAuth2 token endpoint: password and refresh_token grants',
      description: 'Form-encoded (RFC 6749 §4.3, §6). Client credentials by HTTP Basic or `client_id`/`client_secret`; an empty client id means no client. `grant_type` defaults to `password`, as FastAPI\'s OAuth2PasswordRequestForm. The answer echoes `scope` as asked when it is granted in full.',
      consumes: ['application/x-www-form-urlencoded'],
      body: TokenForm,
      response: { 200: TokenOut, 400: OAuthError, 401: OAuthError, 403: OAuthError, 422: Detail },
    },
  }, async (request, reply) => {
    if (!isForm(request)) {
      return sendOAuthError(reply, 'invalid_request', 400, 'The token endpoint takes application/x-www-form-urlencoded bodies (RFC 6749 §3.2).');
    }
    const form = request.body ?? {};
    const tenant = await core.tenants.resolve(requestedTenant(request));
    const { clientId, secret, viaBasic } = clientCredentials(request, form);
    let client: Client | undefined;
    if (clientId !== '') {
      try {
        client = await core.clients.authenticate(tenant, clientId, secret);
      } catch (err) {
        if (err instanceof DomainError) return sendOAuthError(reply, 'invalid_client', 401, 'Client authentication failed.', viaBasic);
        throw err;
      }
    } else {
      client = await checkClient(core, request);
    }
    const grantType = form.grant_type ?? 'password';
    const scopes = (form.scope ?? '').split(' ').filter(Boolean);
    let pair;
    if (grantType === 'password') {
      const missing = (['username', 'password'] as const).filter((f) => form[f] === undefined);
      if (missing.length) return reply.code(422).send({ detail: missing.map((f) => ({ loc: ['body', f], msg: 'Field required', type: 'missing' })) });
      ({ issued: pair } = await core.signIn.now({
        tenant: tenant.name, client, grantType: 'password', scopes,
        factor: { method: 'password', by: 'username', identifier: form.username!, password: form.password! },
        issue: { kind: 'token_pair' },
      }));
    } else if (grantType === 'refresh_token') {
      if (!form.refresh_token) return sendOAuthError(reply, 'invalid_request', 400, 'The refresh_token parameter is required.');
      // Without X-Tenant the refresh token names its tenant; with it, the two must agree.
      pair = await core.tokenPairs.refresh(form.refresh_token, { client, scopes, enforceClient: true, tenant: requestedTenant(request) === undefined ? undefined : tenant });
    } else {
      return sendOAuthError(reply, 'unsupported_grant_type', 400, `The grant type "${grantType.slice(0, 100)}" is not supported here.`);
    }
    return {
      access_token: pair.access, token_type: 'bearer', expires_in: pair.expiresIn, refresh_token: pair.refresh,
      ...(form.scope && scopes.length ? { scope: form.scope } : {}),
    };
  });
}

async function usersApi(app: FastifyInstance, { core }: Options) {
  app.setErrorHandler(fastapiErrorHandler);
  // Every route of this API needs a caller (FastAPI's Depends(oauth2_scheme)).
  installRequestContext(app, core, { defaultAuth: true });
  app.addHook('preValidation', async (request, reply) => {
    if (request.routeOptions.schema?.body && !isJson(request)) {
      return reply.code(422).send({ detail: [{ loc: ['body'], msg: 'Input should be a JSON object (Content-Type: application/json)', type: 'model_attributes_type' }] });
    }
  });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const target = (request: FastifyRequest) => {
    const pk = Number((request.params as { uid: string }).uid);
    // A well-formed integer that names no row is "not found", whatever its size.
    if (!Number.isSafeInteger(pk) || pk <= 0 || pk > 2_147_483_647) throw new DomainError('NOT_FOUND', 'User not found');
    return core.users.getByPk(request.principal!, pk).catch((err) => {
      if (err instanceof DomainError && err.code === 'NOT_FOUND') throw new DomainError('NOT_FOUND', 'User not found');
      throw err;
    });
  };

  typed.get('/api/v2/users/me', {
    schema: { operationId: 'v2_users_me', tags, security, summary: 'The caller', response: { 200: UserOut, ...errors } },
  }, async (request) => present(request.principal!.user));

  typed.get('/api/v2/users/:uid', {
    schema: { operationId: 'v2_users_get', tags, security, summary: 'A user (admins: anyone in the tenant; others: themselves)', params: UidParam, response: { 200: UserOut, ...errors } },
  }, async (request) => present(await target(request)));

  typed.put('/api/v2/users/:uid', {
    schema: {
      operationId: 'v2_users_update', tags, security,
      summary: 'Update a user (admins: anyone in the tenant; others: themselves, without changing enabled or is_admin)',
      params: UidParam,
      body: Type.Object({
        username: Type.String({ maxLength: USERNAME_MAX }),
        enabled: Type.Boolean(),
        is_admin: Type.Boolean(),
        avatar: Type.Optional(Type.Union([Type.String({ maxLength: 2048 }), Type.Null()])),
      }, { additionalProperties: false }),
      response: { 200: UserOut, ...errors },
    },
  }, async (request) => {
    const user = await target(request);
    const b = request.body;
    return present(await core.users.update(request.principal!, user.id, { username: b.username, isActive: b.enabled, isStaff: b.is_admin, avatar: b.avatar }));
  });

  typed.put('/api/v2/users/:uid/password', {
    schema: {
      operationId: 'v2_users_password', tags, security,
      summary: 'Set a user\'s password (oneself, or an admin); the user\'s other sign-ins end',
      params: UidParam,
      body: Type.Object({ password: Type.String({ maxLength: 8192 }) }, { additionalProperties: false }),
      response: { 200: UserOut, ...errors },
    },
  }, async (request) => {
    const user = await target(request);
    return present(await core.users.setPassword(request.principal!, user.id, request.body.password));
  });
}

export async function oauth2V2Dialect(app: FastifyInstance, opts: Options) {
  await app.register(tokenEndpoint, opts);
  await app.register(usersApi, opts);
}
