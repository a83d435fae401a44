// The v1 API's answers to every core error, in Django REST framework's (and simplejwt's) shape.
import type { FastifyRequest } from 'fastify';
import type { DomainError } from '../../../core/index.ts';
import { dialectErrorHandler, isMfaStep, statusOf, type Answer, type DomainAnswers } from '../../errors.ts';

/** DRF's `{"detail": ...}` with the code's usual status. */
const detail = (err: DomainError): Answer => ({ status: statusOf(err.code), body: { detail: err.message } });

/** DRF's field errors, under the route's own field names (config `fieldNames`). */
export function fieldErrors(err: DomainError, request: FastifyRequest): Answer {
  if (!err.fields) return detail(err);
  const rename = request.routeOptions.config?.fieldNames ?? {};
  // Own keys only, and fromEntries: a field named `constructor` or `__proto__` stays a plain key.
  return { status: 400, body: Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [Object.hasOwn(rename, k) ? rename[k]! : k, v])) };
}

export const V1_ERRORS = {
  VALIDATION_FAILED: fieldErrors,
  NOT_AUTHENTICATED: detail,
  INVALID_CREDENTIALS: detail,
  // simplejwt's InvalidToken: `{"detail": ..., "code": "token_not_valid"}`.
  TOKEN_INVALID: (err) => ({ status: 401, body: { detail: err.message, code: 'token_not_valid' } }),
  PERMISSION_DENIED: detail,
  CSRF_FAILED: detail,
  NOT_FOUND: detail,
  TENANT_UNAVAILABLE: detail,
  INVALID_CLIENT: detail,
  UNAUTHORIZED_CLIENT: detail,
  INVALID_SCOPE: detail,
  RATE_LIMITED: detail,
  ACCOUNT_LOCKED: detail,
  // A second factor is enrolled: `code` says so, as simplejwt's errors carry theirs.
  SIGN_IN_PENDING: (err) => (isMfaStep(err) ? { status: 403, body: { detail: err.message, code: 'mfa_required' } } : detail(err)),
  REAUTHENTICATION_REQUIRED: (err) => ({ status: 403, body: { detail: err.message, code: 'reauthentication_required' } }),
  UNAVAILABLE: detail,
} as const satisfies DomainAnswers;

/** Django REST framework's error handling over a table of domain answers (v1's, or REST-auth's own). */
export const drfErrorHandler = (domain: DomainAnswers) => dialectErrorHandler({
  challenge: () => 'Bearer realm="api"',
  domain,
  validation: (c) => (c.part === 'params' ? { status: 404, body: { detail: 'Not found.' } } : { status: 400, body: c.fields }),
  plain: (status, message) => ({ status, body: { detail: message } }),
  internalMessage: 'A server error occurred.',
});

export const v1ErrorHandler = drfErrorHandler(V1_ERRORS);
