// Cookie writes from another origin are refused even with a valid CSRF token, as Django's
// CsrfViewMiddleware does (4.0 and later): the token proves the page once read it, the origin
// proves which page is sending now. The rule is a pure function over the request's headers and
// the configured origins, so any authentication code can call it.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { DomainError } from '../../core/index.ts';

export interface TrustedOrigins {
  /** The origin of PUBLIC_URL (scheme://host[:port]). */
  own: string;
  /** Whether PUBLIC_URL is https: then a request without Origin must carry a Referer (Django). */
  secure: boolean;
  /** Exact origins of CSRF_TRUSTED_ORIGINS. */
  exact: Set<string>;
  /** `https://*.example.com` entries as [scheme, ".example.com" (with any port)]. */
  subdomains: Array<[string, string]>;
}

/**
 * Parses CSRF_TRUSTED_ORIGINS entries (already split): each a full origin with its scheme,
 * optionally `scheme://*.domain[:port]`. Throws an Error naming the first bad entry.
 */
export function parseTrustedOrigins(publicUrl: string, entries: readonly string[] = []): TrustedOrigins {
  const own = new URL(publicUrl);
  const policy: TrustedOrigins = { own: own.origin, secure: own.protocol === 'https:', exact: new Set(), subdomains: [] };
  for (const entry of entries) {
    const m = /^(https?):\/\/(\*\.)?([^/?#*\s]+)$/i.exec(entry);
    let url: URL | undefined;
    try {
      url = m ? new URL(`${m[1]}://${m[3]}`) : undefined;
    } catch {
      url = undefined;
    }
    if (!m || !url || url.pathname !== '/' || url.username || url.password || url.search) {
      throw new Error(`"${entry}" is not an origin: write the scheme and host (and port), as https://app.example.com or https://*.example.com`);
    }
    if (m[2]) policy.subdomains.push([url.protocol, '.' + url.host]);
    else policy.exact.add(url.origin);
  }
  return policy;
}

/** Django's is_same_domain: `.example.com` matches example.com and any subdomain of it. */
const sameDomain = (host: string, pattern: string) => host === pattern.slice(1) || host.endsWith(pattern);

function trusted(policy: TrustedOrigins, url: URL): boolean {
  if (url.origin === policy.own || policy.exact.has(url.origin)) return true;
  return policy.subdomains.some(([scheme, pattern]) => url.protocol === scheme && sameDomain(url.host, pattern));
}

/**
 * Why an unsafe cookie-authenticated request with these headers is refused (Django's words),
 * or undefined when its origin is trusted. Without Origin, the Referer decides when PUBLIC_URL
 * is https; over plain http neither header is required (Django checks the Referer only on
 * secure requests), and the CSRF token alone stands.
 */
export function untrustedOriginReason(headers: FastifyRequest['headers'], policy: TrustedOrigins): string | undefined {
  const origin = headers.origin;
  if (typeof origin === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(origin);
    } catch {
      url = undefined;
    }
    // `null` (a sandboxed frame, a redirect across origins) and anything unparsable are refused.
    if (url && (url.protocol === 'http:' || url.protocol === 'https:') && trusted(policy, url)) return undefined;
    return `CSRF Failed: Origin checking failed - ${origin.slice(0, 200)} does not match any trusted origins.`;
  }
  const referer = headers.referer;
  if (typeof referer === 'string') {
    let url: URL | undefined;
    try {
      url = new URL(referer);
    } catch {
      url = undefined;
    }
    if (!url || (url.protocol !== 'http:' && url.protocol !== 'https:')) return 'CSRF Failed: Referer checking failed - Referer is malformed.';
    if (policy.secure && url.protocol !== 'https:') return 'CSRF Failed: Referer checking failed - Referer is insecure while host is secure.';
    if (trusted(policy, url)) return undefined;
    return `CSRF Failed: Referer checking failed - ${url.origin} does not match any trusted origins.`;
  }
  return policy.secure ? 'CSRF Failed: Referer checking failed - no Referer.' : undefined;
}

declare module 'fastify' {
  interface FastifyInstance {
    trustedOrigins: TrustedOrigins;
  }
}

/** Makes the policy reachable from every request (request.server.trustedOrigins). */
export function registerTrustedOrigins(app: FastifyInstance, policy: TrustedOrigins): void {
  app.decorate('trustedOrigins', policy);
}

/** Throws CSRF_FAILED (403 in every dialect) when the request's origin is not trusted. */
export function refuseUntrustedOrigin(request: FastifyRequest): void {
  const reason = untrustedOriginReason(request.headers, request.server.trustedOrigins);
  if (reason !== undefined) throw new DomainError('CSRF_FAILED', reason);
}
