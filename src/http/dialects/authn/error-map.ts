// Every core error code -> status and body in the AuthN API's shape {errors, message, status}.
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { DomainError, FieldErrors } from '../../../core/index.ts';
import { classify, domainErrorStatus, unavailable } from '../../errors.ts';


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
  const status = domainErrorStatus(reply, err, { challenge: 'Bearer realm="api", Token' });
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
      return send(reply, 503, unavailable(request, reply, err));
    default:
      request.log.error({ err }, 'unhandled error');
      return send(reply, 500, 'Internal server error.');
  }
}
