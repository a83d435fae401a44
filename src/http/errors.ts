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

/** The usual HTTP status of each core error code; a dialect's table says where its ecosystem differs. */
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
  // The credentials were right but the account cannot sign in yet (an unverified address): not a failed authentication.
  SIGN_IN_PENDING: 403,
  REAUTHENTICATION_REQUIRED: 401,
  UNAVAILABLE: 503,
} as const satisfies Record<ErrorCode, number>;

/**
 * The database did not answer: logged, `Retry-After: 1`, and the message every dialect sends
 * with its 503 (in its own shape). Failing closed: nothing was decided on a guess.
 */
export function unavailable(request: FastifyRequest, reply: FastifyReply, err: unknown): string {
  request.log.error({ err }, 'database unavailable');
  reply.header('retry-after', '1');
  return 'Service temporarily unavailable, try again shortly.';
}

/** A sign-in that waits on a second factor (or on enrolling one): the password-only APIs say `mfa_required`. */
export const isMfaStep = (err: DomainError): boolean => err.code === 'SIGN_IN_PENDING' && (err.step?.startsWith('mfa_') ?? false);

/** A dialect's answer to a refusal: its status and its body. */
export interface Answer {
  status: number;
  body: unknown;
}

/** Every core error code -> the dialect's answer: a code a dialect forgot fails to compile. */
export type DomainAnswers = { readonly [C in ErrorCode]: (err: DomainError, request: FastifyRequest) => Answer };

export interface DialectErrors {
  /** `WWW-Authenticate` on a 401. */
  challenge(request: FastifyRequest): string;
  domain: DomainAnswers;
  /** A request that failed its JSON schema. */
  validation(c: Extract<Classified, { kind: 'validation' }>, request: FastifyRequest): Answer;
  /** Any other refusal, by status and message: a malformed body, an unavailable database (503), the 500. */
  plain(status: number, message: string, request: FastifyRequest): Answer;
  /** The 500's message, in the words of the dialect's framework. */
  internalMessage: string;
}

/** The error handler of a dialect: sorts what was thrown and answers in the dialect's shape. */
export function dialectErrorHandler(d: DialectErrors) {
  return (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const c = classify(err, request.headers['content-type']);
    let a: Answer;
    switch (c.kind) {
      case 'domain':
        a = d.domain[c.error.code](c.error, request);
        if (c.error.code === 'RATE_LIMITED' && c.error.retryAfter) reply.header('retry-after', String(c.error.retryAfter));
        break;
      case 'validation':
        a = d.validation(c, request);
        break;
      case 'http':
        a = d.plain(c.status, c.message, request);
        break;
      case 'unavailable':
        a = d.plain(503, unavailable(request, reply, err), request);
        break;
      default:
        request.log.error({ err }, 'unhandled error');
        a = d.plain(500, d.internalMessage, request);
    }
    if (a.status === 401) reply.header('www-authenticate', d.challenge(request));
    return reply.code(a.status).send(a.body);
  };
}

/** The usual status of each code, for dialects whose table only words the body. */
export const statusOf = (code: ErrorCode): number => ERROR_STATUS[code];
