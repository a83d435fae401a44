// The audit log (staff) and a user's own sign-ins, in the v1 API's style.
import { Type } from '@sinclair/typebox';
import { EVENT_TYPES, fieldError, type AuditEntry, type SignIn } from '../../../core/index.ts';
import type { DialectOptions, TypedApp } from './index.ts';
import { fetchPage, pageLinks, pageRequest } from '../../pagination.ts';
import { Detail, FieldErrors, PageQuery, paginated, secured as security } from './schemas.ts';

const errors = { 400: FieldErrors, 401: Detail, 403: Detail, 404: Detail };
const iso = (ms: number) => new Date(ms).toISOString();

const AuditOut = Type.Object({
  id: Type.Integer(),
  type: Type.String({ enum: [...EVENT_TYPES] }),
  at: Type.String({ format: 'date-time' }),
  user_id: Type.Union([Type.String(), Type.Null()]),
  username: Type.Union([Type.String(), Type.Null()]),
  actor_id: Type.Union([Type.String(), Type.Null()], { description: 'The administrator who acted, when not the user' }),
  ip: Type.Union([Type.String(), Type.Null()]),
  request_id: Type.Union([Type.String(), Type.Null()]),
  detail: Type.Record(Type.String(), Type.Unknown()),
});
const SignInOut = Type.Object({
  id: Type.String(),
  kind: Type.String({ enum: ['jwt', 'session', 'token'] }),
  created_at: Type.String({ format: 'date-time' }),
  expires_at: Type.Union([Type.String({ format: 'date-time' }), Type.Null()], { description: 'Null for a token key: it lasts until logout or a password change' }),
  client_id: Type.Union([Type.String(), Type.Null()]),
  current: Type.Boolean({ description: 'The sign-in this request was made with' }),
});

const presentAudit = (e: AuditEntry) => ({
  id: e.id, type: e.type, at: iso(e.at), user_id: e.userId, username: e.username, actor_id: e.actorId, ip: e.ip, request_id: e.requestId, detail: e.detail,
});
const presentSignIn = (s: SignIn) => ({
  id: s.id, kind: s.kind, created_at: iso(s.createdAt), expires_at: s.expiresAt === Number.MAX_SAFE_INTEGER ? null : iso(s.expiresAt), client_id: s.clientId, current: s.current,
});

function time(field: string, raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const t = Date.parse(raw);
  if (Number.isNaN(t)) throw fieldError(field, 'Enter a valid date/time (ISO 8601).');
  return t;
}

export async function accountRoutes(app: TypedApp, { core, publicUrl }: DialectOptions) {
  app.get('/api/audit-events/', {
    config: { auth: true },
    schema: {
      operationId: 'api_audit_events_list', tags: ['audit'], security,
      summary: 'The tenant\'s audit log, newest first; staff only',
      description: 'Security events: sign-ins and failures, lockouts, password and e-mail changes, token revocations, administrative changes. Filters combine.',
      querystring: Type.Object({
        ...PageQuery.properties,
        type: Type.Optional(Type.String({ enum: [...EVENT_TYPES] })),
        user_id: Type.Optional(Type.String({ maxLength: 36, description: 'UUID of the user the events are about' })),
        since: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601, inclusive' })),
        until: Type.Optional(Type.String({ maxLength: 40, description: 'ISO 8601, exclusive' })),
      }),
      response: { 200: paginated(AuditOut), ...errors },
    },
  }, async (request) => {
    const q = request.query;
    const filter = { type: q.type, userId: q.user_id?.toLowerCase(), since: time('since', q.since), until: time('until', q.until) };
    const { req, result } = await fetchPage(pageRequest(q.page), (r) => core.audit.list(request.principal!, filter, r));
    return { ...pageLinks(publicUrl, request, req, result), resources: result.items.map(presentAudit) };
  });

  app.get('/api/sign-ins/', {
    config: { auth: true },
    schema: {
      operationId: 'api_sign_ins_list', tags: ['sign-ins'], security,
      summary: 'Where the caller is signed in: live JWT refresh families, cookie sessions and token keys',
      response: { 200: Type.Object({ count: Type.Integer(), resources: Type.Array(SignInOut) }), ...errors },
    },
  }, async (request) => {
    const all = await core.signIns.list(request.principal!);
    return { count: all.length, resources: all.map(presentSignIn) };
  });

  app.post('/api/users/:id/unlock/', {
    config: { auth: true },
    schema: {
      operationId: 'api_users_unlock_create', tags: ['users'], security,
      summary: 'Lift a sign-in lock (after too many failed sign-ins); staff of the user\'s tenant',
      params: Type.Object({ id: Type.String() }),
      response: { 200: Type.Object({ detail: Type.String() }), ...errors },
    },
  }, async (request) => {
    await core.accountUnlock.unlock(request.principal!, request.params.id);
    return { detail: 'Unlocked.' };
  });

  app.delete('/api/sign-ins/:id/', {
    config: { auth: true },
    schema: {
      operationId: 'api_sign_ins_destroy', tags: ['sign-ins'], security,
      summary: 'End one of the caller\'s sign-ins (a refresh family with its access tokens, a session, or a token key)',
      params: Type.Object({ id: Type.String({ maxLength: 80 }) }),
      response: { 204: Type.Null({ description: 'No response body' }), ...errors },
    },
  }, async (request, reply) => {
    await core.signIns.revoke(request.principal!, request.params.id);
    return reply.code(204).send(null);
  });
}
