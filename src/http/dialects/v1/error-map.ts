// Every core error code -> status and body in Django REST framework's shape.
import type { FastifyReply } from 'fastify';
import type { DomainError, ErrorCode } from '../../../core/index.ts';

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

export function sendDomainError(reply: FastifyReply, err: DomainError, rename: Record<string, string> = {}) {
  const status = STATUS[err.code];
  if (status === 401) reply.header('www-authenticate', 'Bearer realm="api"');
  if (err.code === 'RATE_LIMITED' && err.retryAfter) reply.header('retry-after', String(err.retryAfter));
  if (err.code === 'VALIDATION_FAILED' && err.fields) {
    // Own keys only, and fromEntries: a field named `constructor` or `__proto__` stays a plain key.
    const body = Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [Object.hasOwn(rename, k) ? rename[k]! : k, v]));
    return reply.code(status).send(body);
  }
  if (err.code === 'TOKEN_INVALID') return reply.code(status).send({ detail: err.message, code: 'token_not_valid' });
  return reply.code(status).send({ detail: err.message });
}
