// Carries each request's origin (client IP, request id) through its async work, so the core's
// audit log can record it without knowing anything of HTTP.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { FastifyInstance } from 'fastify';
import type { RequestOrigin } from '../core/index.ts';

const storage = new AsyncLocalStorage<RequestOrigin>();

export const requestOrigin = (): RequestOrigin | undefined => storage.getStore();

export function trackRequestOrigin(app: FastifyInstance): void {
  // run() around the rest of the request's life: the callback form keeps the context for
  // every later hook and the handler.
  app.addHook('onRequest', (request, _reply, done) => {
    storage.run({ ip: request.ip, requestId: String(request.id) }, done);
  });
}
