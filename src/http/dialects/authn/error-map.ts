// Every core error code -> status and body in the AuthN API's shape {errors, message, status}.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DomainError, ErrorCode, FieldErrors } from '../../../core/index.ts';
import { classify } from '../../errors.ts';

const STATUS = {
  VALIDATION_FAILED: 400,
  NOT_AUTHENTICATED: 401,
  INVALID_CREDENTIALS: 401,
  TOKEN_INVALID: 401,
  PERMISSION_DENIED: 403,
  CSRF_FAILED: 403,
  NOT_FOUND: 404,
  TENANT_UNAVAILABLE: 400,
  INVALID_CLIENT: 401,
  UNAUTHORIZED_CLIENT: 403,
  INVALID_SCOPE: 400,
  RATE_LIMITED: 429,
  ACCOUNT_LOCKED: 403,
  UNAVAILABLE: 503,
} as const satisfies Record<ErrorCode, number>;

export interface AuthnError {
  errors: Array<{ field: string; message: string }>;
  message: string;
  status: number;
}

const fieldList = (fields: FieldErrors) =>
  Object.entries(fields).flatMap(([field, msgs]) => msgs.map((message) => ({ field, message })));

export function send(reply: FastifyReply, status: number, message: string, fields: FieldErrors = {}) {
  const body: AuthnError = { errors: fieldList(fields), message, status };
  return reply.code(status).send(body);
}

export function sendDomainError(reply: FastifyReply, err: DomainError) {
  const status = STATUS[err.code];
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="api", Token');
  if (err.code === 'RATE_LIMITED' && err.retryAfter) reply.header('retry-after', String(err.retryAfter));
  if (err.code === 'VALIDATION_FAILED') return send(reply, status, 'Validation failed.', err.fields);
  return send(reply, status, err.message);
}

export function authnErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const c = classify(err, request.headers['content-type']);
  switch (c.kind) {
    case 'domain':
      return sendDomainError(reply, c.error);
    case 'validation':
      if (c.part === 'params') return send(reply, 404, 'Not found.');
      return send(reply, 400, 'Validation failed.', c.fields);
    case 'http':
      return send(reply, c.status, c.message);
    case 'unavailable':
      request.log.error({ err }, 'database unavailable');
      reply.header('retry-after', '1');
      return send(reply, 503, 'Service temporarily unavailable, try again shortly.');
    default:
      request.log.error({ err }, 'unhandled error');
      return send(reply, 500, 'Internal server error.');
  }
}
