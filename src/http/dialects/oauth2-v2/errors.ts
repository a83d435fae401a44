// Error shapes of the v2 API: FastAPI's (`{"detail": ...}`, 422 `{"detail": [{loc, msg, type}]}`)
// and, at the token endpoint, RFC 6749's (`{"error", "error_description"}`, plus `detail`).
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DomainError, ErrorCode, FieldErrors } from '../../../core/index.ts';
import { classify, domainErrorStatus, unavailable } from '../../errors.ts';
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
const FASTAPI_STATUS = { VALIDATION_FAILED: 422, INVALID_SCOPE: 403 } as const;

function sendDomain(reply: FastifyReply, err: DomainError) {
  const status = domainErrorStatus(reply, err, { challenge: 'Bearer', status: FASTAPI_STATUS });
  if (err.code === 'VALIDATION_FAILED') return reply.code(422).send({ detail: fieldsToPydantic(err.fields ?? {}) });
  const detail = err.code === 'TOKEN_INVALID' ? 'Could not validate credentials'
    : err.code === 'NOT_AUTHENTICATED' ? 'Not authenticated'
    : err.code === 'PERMISSION_DENIED' ? 'Not enough permissions'
    : err.message;
  return reply.code(status).send({ detail });
}

export function fastapiErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const c = classify(err, request.headers['content-type']);
  switch (c.kind) {
    case 'domain': return sendDomain(reply, c.error);
    case 'validation': return reply.code(422).send({ detail: ajvToPydantic(c.part, c.errors) });
    case 'http': return reply.code(c.status).send({ detail: c.message });
    case 'unavailable':
      return reply.code(503).send({ detail: unavailable(request, reply, err) });
    default:
      request.log.error({ err }, 'unhandled error');
      return reply.code(500).send({ detail: 'Internal Server Error' });
  }
}

/** RFC 6749 §5.2 error codes for each core error at the token endpoint. */
const OAUTH = {
  VALIDATION_FAILED: ['invalid_request', 400],
  NOT_AUTHENTICATED: ['invalid_client', 401],
  INVALID_CREDENTIALS: ['invalid_grant', 400],
  TOKEN_INVALID: ['invalid_grant', 400],
  PERMISSION_DENIED: ['unauthorized_client', 400],
  CSRF_FAILED: ['invalid_request', 400],
  NOT_FOUND: ['invalid_request', 400],
  TENANT_UNAVAILABLE: ['invalid_request', 400],
  INVALID_CLIENT: ['invalid_client', 401],
  UNAUTHORIZED_CLIENT: ['unauthorized_client', 400],
  INVALID_SCOPE: ['invalid_scope', 400],
  RATE_LIMITED: ['slow_down', 429],
  ACCOUNT_LOCKED: ['invalid_grant', 400],
  UNAVAILABLE: ['temporarily_unavailable', 503],
} as const satisfies Record<ErrorCode, readonly [string, number]>;

export function sendOAuthError(reply: FastifyReply, error: string, status: number, description: string, viaBasic = false) {
  if (status === 401) reply.header('www-authenticate', viaBasic ? 'Basic realm="token"' : 'Bearer');
  return reply.code(status).send({ error, error_description: description, detail: description });
}

export function oauthErrorHandler(err: unknown, request: FastifyRequest, reply: FastifyReply) {
  const c = classify(err, request.headers['content-type']);
  const viaBasic = request.headers.authorization?.toLowerCase().startsWith('basic ') ?? false;
  switch (c.kind) {
    case 'domain': {
      const [error, status] = OAUTH[c.error.code];
      if (c.error.code === 'RATE_LIMITED' && c.error.retryAfter) reply.header('retry-after', String(c.error.retryAfter));
      const description = c.error.code === 'INVALID_CREDENTIALS' ? 'Incorrect username or password' : c.error.message;
      return sendOAuthError(reply, error, status, description, viaBasic);
    }
    case 'validation': return reply.code(422).send({ detail: ajvToPydantic(c.part, c.errors) });
    case 'http': return sendOAuthError(reply, 'invalid_request', c.status, c.message);
    case 'unavailable':
      return sendOAuthError(reply, 'temporarily_unavailable', 503, unavailable(request, reply, err));
    default:
      request.log.error({ err }, 'unhandled error');
      return sendOAuthError(reply, 'server_error', 500, 'Internal Server Error');
  }
}
