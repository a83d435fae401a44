// The REST-auth API (/api/auth/...): dj-rest-auth with django-allauth conventions, over the same
// core. Its routes live by use case in the modules below; error bodies are Django REST
// framework's (error-map.ts).
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { installRequestContext } from '../../plugins/request-context.ts';
import { restAuthErrorHandler } from './error-map.ts';
import { emailRoutes } from './email-routes.ts';
import { loginRoutes } from './login-routes.ts';
import { passwordRoutes } from './password-routes.ts';
import { registrationRoutes } from './registration-routes.ts';
import type { Options } from './schemas.ts';
import { socialRoutes } from './social-routes.ts';
import { userRoutes } from './user-routes.ts';

export async function restAuthDialect(app: FastifyInstance, opts: Options) {
  app.setErrorHandler(restAuthErrorHandler);
  // DRF's parsers: JSON and forms (a text body is 415, not a string).
  app.removeContentTypeParser('text/plain');
  // E-mails sent after their answer (reset, resend) finish before the server closes.
  app.addHook('onClose', async () => opts.core.outbox.idle());
  installRequestContext(app, opts.core, { emptyBodyIsObject: true });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  for (const routes of [loginRoutes, registrationRoutes, passwordRoutes, emailRoutes, socialRoutes, userRoutes]) await routes(typed, opts);
}
