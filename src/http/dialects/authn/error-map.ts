// The AuthN API's answers to every core error, in its shape {errors, message, status}.
import type { FastifyReply } from 'fastify';
import type { DomainError, ErrorCode, FieldErrors } from '../../../core/index.ts';
import { dialectErrorHandler, isMfaStep, statusOf, type Answer, type DomainAnswers } from '../../errors.ts';

export interface AuthnError {
  errors: Array<{ field: string; message: string }>;
  message: string;
  status: number;
}

const fieldList = (fields: FieldErrors) =>
  Object.entries(fields).flatMap(([field, msgs]) => msgs.map((message) => ({ field, message })));

const answer = (status: number, message: string, fields: FieldErrors = {}): Answer => ({ status, body: { errors: fieldList(fields), message, status } satisfies AuthnError });

export function send(reply: FastifyReply, status: number, message: string, fields: FieldErrors = {}) {
  const a = answer(status, message, fields);
  return reply.code(a.status).send(a.body);
}

const said = (err: DomainError) => answer(statusOf(err.code), err.message);

export const AUTHN_ERRORS = {
  VALIDATION_FAILED: (err) => answer(400, 'Validation failed.', err.fields),
  ...Object.fromEntries((['NOT_AUTHENTICATED', 'INVALID_CREDENTIALS', 'TOKEN_INVALID', 'PERMISSION_DENIED', 'CSRF_FAILED', 'NOT_FOUND', 'TENANT_UNAVAILABLE',
    'INVALID_CLIENT', 'UNAUTHORIZED_CLIENT', 'INVALID_SCOPE', 'RATE_LIMITED', 'ACCOUNT_LOCKED', 'REAUTHENTICATION_REQUIRED', 'UNAVAILABLE'] as const).map((c) => [c, said])) as Record<Exclude<ErrorCode, 'VALIDATION_FAILED' | 'SIGN_IN_PENDING'>, typeof said>,
  // A due second factor is named as AuthN names its refusals: a field and a code.
  SIGN_IN_PENDING: (err) => (isMfaStep(err) ? answer(403, err.message, { credentials: ['MFA_REQUIRED'] }) : said(err)),
} as const satisfies DomainAnswers;

export const authnErrorHandler = dialectErrorHandler({
  challenge: () => 'Bearer realm="api", Token',
  domain: AUTHN_ERRORS,
  validation: (c) => (c.part === 'params' ? answer(404, 'Not found.') : answer(400, 'Validation failed.', c.fields)),
  plain: (status, message) => answer(status, message),
  internalMessage: 'Internal server error.',
});
