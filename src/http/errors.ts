// Sorts whatever a handler threw into the kinds every dialect answers in its own shape.
import type { FastifyError } from 'fastify';
import { DomainError, type FieldErrors } from '../core/index.ts';
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
