// Every core error code -> status and body in Django REST framework's shape.
import type { FastifyReply } from 'fastify';
import type { DomainError } from '../../../core/index.ts';
import { domainErrorStatus } from '../../errors.ts';


export function sendDomainError(reply: FastifyReply, err: DomainError, rename: Record<string, string> = {}) {
  const status = domainErrorStatus(reply, err, { challenge: 'Bearer realm="api"' });
  if (err.code === 'VALIDATION_FAILED' && err.fields) {
    // Own keys only, and fromEntries: a field named `constructor` or `__proto__` stays a plain key.
    const body = Object.fromEntries(Object.entries(err.fields).map(([k, v]) => [Object.hasOwn(rename, k) ? rename[k]! : k, v]));
    return reply.code(status).send(body);
  }
  if (err.code === 'TOKEN_INVALID') return reply.code(status).send({ detail: err.message, code: 'token_not_valid' });
  return reply.code(status).send({ detail: err.message });
}
