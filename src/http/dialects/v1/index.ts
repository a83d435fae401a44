// The v1 API ("Authentication v1.0.0"): Django REST framework + simplejwt conventions.
import type { FastifyInstance } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import type { Core } from '../../../core/index.ts';
import { installRequestContext } from '../../plugins/request-context.ts';
import { v1ErrorHandler } from './error-map.ts';
import { tokenRoutes } from './token-routes.ts';
import { userRoutes } from './user-routes.ts';
import { groupRoutes } from './group-routes.ts';
import { configurationRoutes } from './configuration-routes.ts';
import { adminRoutes } from './admin-routes.ts';
import { accountRoutes } from './account-routes.ts';
import { identityProviderRoutes } from './identity-provider-routes.ts';

export interface DialectOptions {
  core: Core;
  publicUrl: string;
}

export async function v1Dialect(app: FastifyInstance, opts: DialectOptions) {
  app.setErrorHandler(v1ErrorHandler);
  // DRF's parsers: JSON and forms. Fastify's built-in text/plain parser would turn a text body
  // into a string (a 400); DRF answers 415 Unsupported Media Type.
  app.removeContentTypeParser('text/plain');
  installRequestContext(app, opts.core, { emptyBodyIsObject: true });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  await tokenRoutes(typed, opts);
  await userRoutes(typed, opts);
  await groupRoutes(typed, opts);
  await configurationRoutes(typed, opts);
  await adminRoutes(typed, opts);
  await accountRoutes(typed, opts);
  await identityProviderRoutes(typed, opts);
}

export type TypedApp = FastifyInstance<any, any, any, any, TypeBoxTypeProvider>;
