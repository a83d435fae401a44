// Sorts whatever a handler threw into the kinds every dialect answers in its own shape.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type ErrorCode, type FieldErrors } from '../core/index.ts';
import { isUnavailable } from '../store/index.ts';
import { ajvToFields, type AjvError } from './validation.ts';

export type Classified =
  | { kind: 'domain'; error: DomainError }
  | { kind: 'validation'; part: string; fields: FieldErrors; errors: AjvError[] }
  | { kind: 'http'; status: number; message: string; code: string }
  | { kind: 'unavailable' }
  | { kind: 'internal' };

export function classify(err: unknown, contentType?: string): Classified {
  if (err instanceof DomainError) return { kind: 'domain', error: err };
  const fe = err as FastifyError & { validation?: AjvError[]; validationContext?: string };
  if (fe && Array.isArray(fe.validation)) {
    return { kind: 'validation', part: fe.validationContext ?? 'body', fields: ajvToFields(fe.validation), errors: fe.validation };
  }
  if (isUnavailable(err)) return { kind: 'unavailable' };
  const status = fe?.statusCode;
  if (typeof status === 'number' && status >= 400 && status < 500) {
    let message = fe.message;
    if (fe.code === 'FST_ERR_CTP_INVALID_JSON_BODY' || err instanceof SyntaxError) message = `JSON parse error - ${fe.message}`;
    if (fe.code === 'FST_ERR_CTP_BODY_TOO_LARGE') message = 'Request body is too large (the limit is 1 MiB).';
    if (fe.code === 'FST_ERR_CTP_INVALID_MEDIA_TYPE') message = `Unsupported media type "${String(contentType ?? '').slice(0, 100)}" in request.`;
    return { kind: 'http', status, message, code: fe.code ?? 'bad_request' };
  }
  return { kind: 'internal' };
}

/** The HTTP status of each core error code; a dialect overrides only where its ecosystem differs. */
const ERROR_STATUS = {
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

/**
 * The status of a core error in a dialect, with the headers every dialect sends alongside:
 * `WWW-Authenticate` (the dialect's challenge) on a 401, `Retry-After` when rate limited.
 */
export function domainErrorStatus(
  reply: FastifyReply, err: DomainError,
  dialect: { challenge: string; status?: Partial<Record<ErrorCode, number>> },
): number {
  const status = dialect.status?.[err.code] ?? ERROR_STATUS[err.code];
  if (status === 401) reply.header('www-authenticate', dialect.challenge);
  if (err.code === 'RATE_LIMITED' && err.retryAfter) reply.header('retry-after', String(err.retryAfter));
  return status;
}

/**
 * The database did not answer: logged, `Retry-After: 1`, and the message every dialect sends
 * with its 503 (in its own shape). Failing closed: nothing was decided on a guess.
 */
export function unavailable(request: FastifyRequest, reply: FastifyReply, err: unknown): string {
  request.log.error({ err }, 'database unavailable');
  reply.header('retry-after', '1');
  return 'Service temporarily unavailable, try again shortly.';
}
