// Error shapes of the v2 API: FastAPI's (`{"detail": ...}`, 422 `{"detail": [{loc, msg, type}]}`)
// and, at the token endpoint, RFC 6749's (`{"error", "error_description"}`, plus `detail`).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DomainError, FieldErrors } from '../../../core/index.ts';
import { dialectErrorHandler, type Answer, type DomainAnswers, isMfaStep } from '../../errors.ts';
import type { AjvError } from '../../validation.ts';

export interface ValidationItem {
  loc: Array<string | number>;
  msg: string;
  type: string;
}

/** AJV errors -> pydantic-style items, as FastAPI answers 422. */
export function ajvToPydantic(part: string, errors: AjvError[]): ValidationItem[] {
  const where = part === 'querystring' ? 'query' : part === 'params' ? 'path' : part === 'headers' ? 'header' : 'body';
  return errors.map((e) => {
    const path = e.instancePath.split('/').filter(Boolean);
    const field = e.keyword === 'required' ? [String(e.params.missingProperty)] : e.keyword === 'additionalProperties' ? [String(e.params.additionalProperty)] : path;
    const loc = [where, ...field];
    switch (e.keyword) {
      case 'required': return { loc, msg: 'Field required', type: 'missing' };
      case 'additionalProperties': return { loc, msg: 'Extra inputs are not permitted', type: 'extra_forbidden' };
      case 'maxLength': return { loc, msg: `String should have at most ${e.params.limit} characters`, type: 'string_too_long' };
      case 'minLength': return { loc, msg: `String should have at least ${e.params.limit} characters`, type: 'string_too_short' };
      case 'pattern': return where === 'path'
        ? { loc, msg: 'Input should be a valid integer, unable to parse string as an integer', type: 'int_parsing' }
        : { loc, msg: `String should match pattern '${e.params.pattern}'`, type: 'string_pattern_mismatch' };
      case 'type': {
        const t = e.params.type as string;
        if (t === 'object') return { loc, msg: 'Input should be a valid dictionary or object to extract fields from', type: 'model_attributes_type' };
        if (t === 'boolean') return { loc, msg: 'Input should be a valid boolean', type: 'bool_type' };
        if (t === 'integer') return { loc, msg: 'Input should be a valid integer', type: 'int_type' };
        if (t.includes('string')) return { loc, msg: 'Input should be a valid string', type: 'string_type' };
        return { loc, msg: `Input should be of type ${t}`, type: `${t}_type` };
      }
      default: return { loc, msg: e.message ?? 'Invalid value', type: 'value_error' };
    }
  });
}

export const fieldsToPydantic = (fields: FieldErrors): ValidationItem[] =>
  Object.entries(fields).flatMap(([f, msgs]) => msgs.map((msg) => ({ loc: f === 'non_field_errors' ? ['body'] : ['body', f], msg, type: 'value_error' })));

// FastAPI answers validation errors with 422, and scopes a token lacks with 403 (its security docs).
const fastapi = (status: number, detail: (err: DomainError) => string = (err) => err.message) => (err: DomainError): Answer => ({ status, body: { detail: detail(err) } });

/** The /api/v2/users answers: FastAPI's `{"detail": ...}`, with the words of its security helpers. */
export const FASTAPI_ERRORS = {
  VALIDATION_FAILED: (err) => ({ status: 422, body: { detail: fieldsToPydantic(err.fields ?? {}) } }),
  NOT_AUTHENTICATED: fastapi(401, () => 'Not authenticated'),
  INVALID_CREDENTIALS: fastapi(401),
  TOKEN_INVALID: fastapi(401, () => 'Could not validate credentials'),
  PERMISSION_DENIED: fastapi(403, () => 'Not enough permissions'),
  CSRF_FAILED: fastapi(403),
  NOT_FOUND: fastapi(404),
  TENANT_UNAVAILABLE: fastapi(400),
  INVALID_CLIENT: fastapi(401),
  UNAUTHORIZED_CLIENT: fastapi(403),
  INVALID_SCOPE: fastapi(403),
  RATE_LIMITED: fastapi(429),
  ACCOUNT_LOCKED: fastapi(403),
  SIGN_IN_PENDING: (err) => (isMfaStep(err) ? { status: 403, body: { detail: err.message, code: 'mfa_required' } } : fastapi(403)(err)),
  REAUTHENTICATION_REQUIRED: fastapi(401),
  UNAVAILABLE: fastapi(503),
} as const satisfies DomainAnswers;

export const fastapiErrorHandler = dialectErrorHandler({
  challenge: () => 'Bearer',
  domain: FASTAPI_ERRORS,
  validation: (c) => ({ status: 422, body: { detail: ajvToPydantic(c.part, c.errors) } }),
  plain: (status, message) => ({ status, body: { detail: message } }),
  internalMessage: 'Internal Server Error',
});

/** RFC 6749 §5.2's body, with FastAPI's `detail` beside it. */
const oauth = (error: string, status: number, description: string): Answer => ({ status, body: { error, error_description: description, detail: description } });
const rfc6749 = (error: string, status: number, description?: string) => (err: DomainError): Answer => oauth(error, status, description ?? err.message);

/** RFC 6749 §5.2 error codes for each core error at the token endpoint. */
export const OAUTH_ERRORS = {
  VALIDATION_FAILED: rfc6749('invalid_request', 400),
  NOT_AUTHENTICATED: rfc6749('invalid_client', 401),
  INVALID_CREDENTIALS: rfc6749('invalid_grant', 400, 'Incorrect username or password'),
  TOKEN_INVALID: rfc6749('invalid_grant', 400),
  PERMISSION_DENIED: rfc6749('unauthorized_client', 400),
  CSRF_FAILED: rfc6749('invalid_request', 400),
  NOT_FOUND: rfc6749('invalid_request', 400),
  TENANT_UNAVAILABLE: rfc6749('invalid_request', 400),
  INVALID_CLIENT: rfc6749('invalid_client', 401),
  UNAUTHORIZED_CLIENT: rfc6749('unauthorized_client', 400),
  INVALID_SCOPE: rfc6749('invalid_scope', 400),
  RATE_LIMITED: rfc6749('slow_down', 429),
  ACCOUNT_LOCKED: rfc6749('invalid_grant', 400),
  // A second factor is due: `mfa_required` (403), the code OAuth2 clients know from Auth0's token endpoint.
  SIGN_IN_PENDING: (err) => (isMfaStep(err) ? oauth('mfa_required', 403, err.message) : oauth('invalid_grant', 400, err.message)),
  REAUTHENTICATION_REQUIRED: rfc6749('invalid_grant', 400),
  UNAVAILABLE: rfc6749('temporarily_unavailable', 503),
} as const satisfies DomainAnswers;

const viaBasic = (request: FastifyRequest) => request.headers.authorization?.toLowerCase().startsWith('basic ') ?? false;
const challenge = (basic: boolean) => (basic ? 'Basic realm="token"' : 'Bearer');

export function sendOAuthError(reply: FastifyReply, error: string, status: number, description: string, basic = false) {
  if (status === 401) reply.header('www-authenticate', challenge(basic));
  return reply.code(status).send(oauth(error, status, description).body);
}

export const oauthErrorHandler = dialectErrorHandler({
  challenge: (request) => challenge(viaBasic(request)),
  domain: OAUTH_ERRORS,
  validation: (c) => ({ status: 422, body: { detail: ajvToPydantic(c.part, c.errors) } }),
  plain: (status, message) => oauth(status === 503 ? 'temporarily_unavailable' : status >= 500 ? 'server_error' : 'invalid_request', status, message),
  internalMessage: 'Internal Server Error',
});
