// buildServer: the one Fastify factory used by the CLI, the tests and `npm start`.
import crypto from 'node:crypto';
import Fastify, { type FastifyInstance, type FastifyServerOptions } from 'fastify';
import cookie from '@fastify/cookie';
import formbody from '@fastify/formbody';
import swagger from '@fastify/swagger';
import { lazyCompilers } from './lazy-compilers.ts';
import swaggerUi from '@fastify/swagger-ui';
import type { Core } from '../core/index.ts';
import { v1Dialect } from './dialects/v1/index.ts';
import { trackRequestOrigin } from './request-origin.ts';
import { oidcRoutes } from './oidc-routes.ts';
import { oidcOpenapiPaths } from './oidc-openapi.ts';
import { registerMetrics } from './metrics.ts';
import { refuseNulCharacters } from './nul-guard.ts';
import { neverCacheCredentialAnswers } from './plugins/credential-answers.ts';
import { safeLogger, warnOfUntrustedProxy } from './request-log.ts';
import { hostedPages } from './pages/index.ts';
import { parseTrustedOrigins, registerTrustedOrigins } from './plugins/trusted-origins.ts';
import { authnDialect } from './dialects/authn/index.ts';
import { oauth2V2Dialect } from './dialects/oauth2-v2/index.ts';
import { restAuthDialect } from './dialects/rest-auth-api/index.ts';
import { allauthHeadlessDialect } from './dialects/allauth-headless/index.ts';

export interface ServerOptions {
  core: Core;
  publicUrl: string;
  logger?: FastifyServerOptions['logger'];
  trustProxy?: boolean;
  /** CSRF_TRUSTED_ORIGINS: origins besides PUBLIC_URL's whose pages may send cookie writes. */
  csrfTrustedOrigins?: string[];
}

export const BODY_LIMIT = 1024 * 1024;

export async function buildServer(opts: ServerOptions): Promise<FastifyInstance> {
  const app = Fastify({
    logger: safeLogger(opts.logger ?? false),
    trustProxy: opts.trustProxy ?? false,
    bodyLimit: BODY_LIMIT,
    // While draining after SIGTERM, a request arriving on a keep-alive connection that was already
    // open (a load balancer's pooled connection) is served, with `Connection: close`, rather than
    // refused with Fastify's 503: the balancer learns of the shutdown without a failed request.
    return503OnClosing: false,
    routerOptions: { ignoreTrailingSlash: true, maxParamLength: 200 },
    genReqId: (req) => {
      const given = req.headers['x-request-id'];
      return typeof given === 'string' && /^[\w.-]{1,100}$/.test(given) ? given : crypto.randomUUID();
    },
    // Validators and serializers compiled on each route's first use (lazy-compilers.ts): idle memory.
    schemaController: { compilersFactory: lazyCompilers() as never },
    ajv: {
      // Types are checked, not coerced: `{"username": 5}` is an error, not "5".
      customOptions: { coerceTypes: false, removeAdditional: false, allErrors: true, useDefaults: true },
    },
  });

  trackRequestOrigin(app);
  const metrics = registerMetrics(app, opts.core);
  refuseNulCharacters(app);
  neverCacheCredentialAnswers(app);
  warnOfUntrustedProxy(app, opts.trustProxy ?? false);
  registerTrustedOrigins(app, parseTrustedOrigins(opts.publicUrl, opts.csrfTrustedOrigins));
  await app.register(cookie);
  await app.register(formbody, { bodyLimit: BODY_LIMIT });
  await app.register(swagger, {
    openapi: {
      openapi: '3.0.3',
      info: {
        title: 'Latchkey',
        version: '0.1.0',
        description: 'An authentication service: users in tenants, groups, settings, JWT pairs and cookie sessions. Every documented path answers with and without its trailing slash.',
      },
      servers: [{ url: opts.publicUrl }],
      // The OpenID provider's endpoints, served behind wildcard routes (oidc-routes.ts): described by hand.
      paths: oidcOpenapiPaths(),
      components: {
        securitySchemes: {
          cookieAuth: { type: 'apiKey', in: 'cookie', name: 'sessionid', description: 'Session cookie; unsafe methods also need the `X-CSRFToken` header.' },
          jwtAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' },
          basicAuth: { type: 'http', scheme: 'basic' },
          tokenAuth: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Token-based authentication with required prefix "Token"' },
          OAuth2PasswordBearer: { type: 'oauth2', flows: { password: { tokenUrl: '/token', scopes: {} } } },
          apiKey: { type: 'apiKey', in: 'header', name: 'Authorization', description: 'Any credential the server accepts: `Bearer <JWT>`, `Token <key>`, `Basic ...`, or the `sessionid` cookie.' },
        },
      },
    },
  });
  // The viewer's files ship inside the package: /api/docs works with no internet. The plugin's
  // CSP ends with `upgrade-insecure-requests`, which makes browsers fetch those files over https:
  // on a plain-http server reached by any name but localhost the page stayed blank. Drop it.
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    staticCSP: true,
    transformStaticCSP: (csp) => csp.replace(/\s*upgrade-insecure-requests;?/, ''),
  });

  app.get('/api/schema', { schema: { hide: true } }, async () => app.swagger());
  metrics.addRoute();

  app.get('/healthz', {
    schema: {
      tags: ['operations'], summary: 'Readiness: 200 once the server accepts requests and its database answers',
      response: { 200: { type: 'object', properties: { status: { type: 'string' } } }, 503: { type: 'object', properties: { status: { type: 'string' } } } },
    },
  }, async (_request, reply) => {
    try {
      await opts.core.store.ping();
      return { status: 'ok' };
    } catch {
      return reply.code(503).send({ status: 'unavailable' });
    }
  });

  app.get('/.well-known/jwks.json', {
    schema: { tags: ['operations'], summary: 'Public keys that sign access tokens (current, next, and recently retired)' },
  }, async (_request, reply) => {
    reply.header('cache-control', 'public, max-age=60');
    return opts.core.keys.jwks();
  });

  await app.register(v1Dialect, { core: opts.core, publicUrl: opts.publicUrl });
  await app.register(authnDialect, { core: opts.core, publicUrl: opts.publicUrl });
  await app.register(oauth2V2Dialect, { core: opts.core, publicUrl: opts.publicUrl });
  await app.register(restAuthDialect, { core: opts.core, publicUrl: opts.publicUrl });
  await app.register(allauthHeadlessDialect, { core: opts.core, publicUrl: opts.publicUrl });
  await app.register(oidcRoutes, { core: opts.core, publicUrl: opts.publicUrl });
  await app.register(hostedPages, { core: opts.core, publicUrl: opts.publicUrl });

  app.setNotFoundHandler((_request, reply) => reply.code(404).send({ detail: 'Not found.' }));
  return app;
}
