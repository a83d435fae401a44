// What every API does before a route's handler, once for all of them: the caller (a route's
// `config.auth`), the tenant and the registered client. Each dialect installs it inside its own
// encapsulated plugin, so the refusals reach that dialect's error handler and come out in its shape.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { Core } from '../../core/index.ts';
import { DomainError } from '../../core/index.ts';
import { authenticate } from './authentication.ts';
import { checkClient } from './tenant-and-client.ts';

/** `true`: the route needs a caller; `'optional'`: it uses a good credential when one is given. */
export type AuthRequirement = boolean | 'optional';

declare module 'fastify' {
  interface FastifyContextConfig {
    auth?: AuthRequirement;
    /** The route sets up a second factor (or shows or ends the session): open to a user who must enrol one first. */
    enrolment?: boolean;
    /** Field renames from core names to this route's names, for 400 bodies. */
    fieldNames?: Record<string, string>;
  }
}

export interface RequestContextOptions {
  /** For routes whose config says nothing (an API all of whose routes need a caller says `true`). */
  defaultAuth?: AuthRequirement;
  /** An absent body is an empty object, so that missing fields are named one by one (DRF, AuthN). */
  emptyBodyIsObject?: boolean;
}

const presentsCredential = (request: FastifyRequest) => Boolean(request.headers.authorization || request.cookies?.sessionid);

export function installRequestContext(app: FastifyInstance, core: Core, opts: RequestContextOptions = {}): void {
  app.addHook('preValidation', async (request) => {
    const auth = request.routeOptions.config?.auth ?? opts.defaultAuth ?? false;
    if (auth === true) await authenticate(core, request);
    else if (auth === 'optional' && presentsCredential(request)) {
      // A credential that does not stand is ignored, but a cookie write that fails the CSRF checks
      // (token or origin) is 403, as DRF's SessionAuthentication answers it: a forged request
      // neither acts as the user nor ends its session.
      await authenticate(core, request).catch((err) => {
        if (err instanceof DomainError && err.code === 'CSRF_FAILED') throw err;
      });
    }
    await checkClient(core, request);
    if (opts.emptyBodyIsObject && request.body === undefined && request.routeOptions.schema?.body) request.body = {};
  });
}
