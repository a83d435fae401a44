// What the request log may say. A query string carries secrets (the reset link's `token`, the
// verification link's `key`, an OAuth `code`), so a request line names the route and the path
// without it; no header is logged (pino's redact in the CLI is the second line of defence), nor
// the raw bytes of an unparsable request.
// And a hint for operators: X-Forwarded-For while TRUST_PROXY is off usually means a proxy in
// front whose address every client now shares.
import type { FastifyInstance, FastifyRequest, FastifyServerOptions } from 'fastify';

/** The path of a request URL without its query string or fragment. */
export function pathOnly(url: string): string {
  const cut = url.search(/[?#]/);
  return cut < 0 ? url : url.slice(0, cut);
}

function requestLine(request: FastifyRequest) {
  return {
    method: request.method,
    url: pathOnly(request.url),
    route: request.routeOptions?.url,
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/**
 * The server's logger options with the request serializer above (it overrides any other), and
 * the raw bytes of a request Node could not parse (`err.rawPacket`, logged by Fastify at trace as
 * "client error", request line and all) redacted.
 */
export function safeLogger(logger: FastifyServerOptions['logger']): FastifyServerOptions['logger'] {
  if (!logger) return false;
  const base = (logger === true ? {} : logger) as Exclude<FastifyServerOptions['logger'], boolean | undefined> & { redact?: string[] | { paths: string[]; censor?: unknown } };
  const given = base.redact;
  const redact = Array.isArray(given) || given === undefined ? { paths: [...(given ?? []), 'err.rawPacket'] } : { ...given, paths: [...given.paths, 'err.rawPacket'] };
  return { ...base, redact, serializers: { ...(base.serializers ?? {}), req: requestLine as never } } as FastifyServerOptions['logger'];
}

/** Logs one warning per server (one process in production) on the first X-Forwarded-For while the proxy is not trusted. */
export function warnOfUntrustedProxy(app: FastifyInstance, trustProxy: boolean): void {
  if (trustProxy) return;
  let warned = false;
  app.addHook('onRequest', (request, _reply, done) => {
    if (warned || request.headers['x-forwarded-for'] === undefined) return done();
    warned = true;
    request.log.warn('requests arrive with X-Forwarded-For but TRUST_PROXY is off: every client behind that proxy counts as the proxy\'s one address for the per-address sign-in limits, so they trip them together. Set TRUST_PROXY=1 when a proxy you control sets the header (and strips what clients send).');
    done();
  });
}
