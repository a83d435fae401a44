// The django-allauth headless API (/_allauth/browser/v1/... and /_allauth/app/v1/...): single-page
// and mobile front-ends written for allauth work against Latchkey unchanged. The same core sign-in
// flow as every other front-end; this dialect only presents it (kit.ts: the client's state, the
// presenters and the error shape `{status, errors: [{message, code, param}]}`).
//
// Route modules: one entry each in HEADLESS_ROUTES. A module of another feature (passkeys:
// webauthn.ts; upstream providers: providers.ts) adds itself here, one import and one entry; it
// may also push onto `extensions` (kit.ts) to list its providers in `config` and the flows, or its
// second-factor type in `mfa.supported_types`.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { checkClient } from '../../plugins/tenant-and-client.ts';
import { accountRoutes } from './account-routes.ts';
import { authRoutes } from './auth-routes.ts';
import { providerRoutes } from './providers.ts';
import { webauthnRoutes } from './webauthn.ts';
import { headlessErrorHandler, readHeld } from './kit.ts';
import type { Options, TypedApp } from './schemas.ts';

export type HeadlessRoutes = (app: TypedApp, opts: Options) => Promise<void>;

export const HEADLESS_ROUTES: HeadlessRoutes[] = [authRoutes, accountRoutes, providerRoutes, webauthnRoutes];

export { extensions } from './kit.ts';

export async function allauthHeadlessDialect(app: FastifyInstance, opts: Options) {
  app.setErrorHandler(headlessErrorHandler(opts.core));
  // Answers are written by JSON.stringify, not serializers compiled from the response schemas:
  // compiling those (the specification's large unions, for every route and status) cost an idle
  // server about 30 MB. The schemas still document the answers, and the presenters (kit.ts) build
  // each answer field by field, so nothing unlisted goes out; the tests check every answer
  // against the schemas.
  app.setSerializerCompiler(() => (data) => JSON.stringify(data));
  app.removeContentTypeParser('text/plain');
  app.addHook('onClose', async () => opts.core.outbox.idle());
  app.addHook('preValidation', async (request) => {
    request.headless = await readHeld(opts.core, request);
    await checkClient(opts.core, request);
  });
  // Operation ids for the OpenAPI document (the specification has none): headless_<method>_<path>.
  app.addHook('onRoute', (route) => {
    if (!route.schema || (route.schema as { operationId?: string }).operationId) return;
    const method = String(Array.isArray(route.method) ? route.method[0] : route.method).toLowerCase();
    const path = route.url.replace('/_allauth/', '').replace(':client/', '').replace(/[^a-z0-9]+/gi, '_').replace(/^_|_$/g, '');
    (route.schema as { operationId?: string }).operationId = `headless_${path}_${method}`;
  });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  for (const routes of HEADLESS_ROUTES) await routes(typed, opts);
  // Any other path under /_allauth/: the specification's 404, not the other APIs' `{detail}`.
  await app.register(async (inner) => {
    inner.setNotFoundHandler((_request, reply) => reply.code(404).send({ status: 404, errors: [{ message: 'Not found.', code: 'not_found' }] }));
  }, { prefix: '/_allauth' });
}
