// Turns what a request presents (Bearer JWT, `Token` key, HTTP Basic, session cookie) into the
// core's Principal: the checks are the core's (Credentials, and the sign-in flow for Basic); this
// reads the headers, asks for the session's CSRF token and trusted origin on unsafe methods, and
// words a refused scheme as DRF does.
import type { FastifyRequest } from 'fastify';
import type { Client, Core, Principal } from '../../core/index.ts';
import { DomainError, notAuthenticated, requireFullSignIn, tokenInvalid } from '../../core/index.ts';
import { refuseUntrustedOrigin } from './trusted-origins.ts';
import { requestedTenant } from './tenant-and-client.ts';

const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

declare module 'fastify' {
  interface FastifyRequest {
    principal?: Principal;
    /** The credential string the caller presented (JWT, token key or session cookie), for APIs that echo it. */
    presentedCredential?: string;
    /** The registered client named by X-Client-Id, once checked. */
    client?: Client;
  }
}

/** The credential a request carries, read from its headers (no check yet). */
export function presentedBearer(request: FastifyRequest): string | undefined {
  const c = presentedCredential(request);
  return c?.scheme === 'bearer' ? c.value : undefined;
}

/** The Authorization header's scheme (lower-cased) and value. */
export function presentedCredential(request: FastifyRequest): { scheme: string; value: string } | undefined {
  const h = request.headers.authorization;
  if (!h) return undefined;
  // Everything after the first space is the credential: `Bearer <jwt> extra` is not the JWT
  // alone (simplejwt refuses it too).
  const sp = h.indexOf(' ');
  return { scheme: (sp < 0 ? h : h.slice(0, sp)).toLowerCase(), value: sp < 0 ? '' : h.slice(sp + 1) };
}

async function authenticateHeader(core: Core, request: FastifyRequest): Promise<Principal> {
  const c = presentedCredential(request)!;
  if (c.value === '' || c.value.length > 8192) {
    // DRF's TokenAuthentication and BasicAuthentication word it so; simplejwt for Bearer.
    if (c.scheme !== 'bearer') throw new DomainError('NOT_AUTHENTICATED', 'Invalid token header. No credentials provided.');
    throw tokenInvalid('Given token not valid for any token type');
  }
  if (c.scheme === 'bearer') {
    const p = await core.credentials.accessToken(c.value);
    request.presentedCredential = c.value;
    return p;
  }
  if (c.scheme === 'token') {
    const p = await core.credentials.tokenKey(c.value);
    if (!p) throw new DomainError('NOT_AUTHENTICATED', 'Invalid token.');
    request.presentedCredential = c.value;
    return p;
  }
  if (c.scheme === 'basic') {
    const decoded = Buffer.from(c.value, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon < 0) throw new DomainError('NOT_AUTHENTICATED', 'Invalid basic header. Credentials not correctly base64 encoded.');
    try {
      const { issued } = await core.signIn.now({
        tenant: requestedTenant(request), issue: { kind: 'request' },
        factor: { method: 'password', by: 'username', identifier: decoded.slice(0, colon), password: decoded.slice(colon + 1) },
      });
      return issued.principal;
    } catch (err) {
      // Basic is an authentication scheme: what stops it is a 401, as DRF's BasicAuthentication answers.
      if (err instanceof DomainError && err.code === 'INVALID_CREDENTIALS') throw new DomainError('NOT_AUTHENTICATED', 'Invalid username/password.');
      // A second factor is due: said as the password-only APIs say it (mfa_required); any other step is a failed authentication.
      if (err instanceof DomainError && err.code === 'SIGN_IN_PENDING' && !err.step?.startsWith('mfa_')) throw new DomainError('NOT_AUTHENTICATED', err.message);
      throw err;
    }
  }
  throw new DomainError('NOT_AUTHENTICATED', 'Unsupported authorization scheme.');
}

/**
 * Authenticates a request. An Authorization header, when present, decides alone (a bad one is
 * 401 even if a session cookie is there too); otherwise the `sessionid` cookie is tried, and
 * unsafe methods then need the session's CSRF token in `X-CSRFToken`.
 */
export async function authenticate(core: Core, request: FastifyRequest): Promise<Principal> {
  const header = request.headers.authorization;
  let principal: Principal | undefined;
  if (header !== undefined) {
    principal = await authenticateHeader(core, request);
  } else {
    const cookie = request.cookies?.sessionid;
    if (!cookie) throw notAuthenticated();
    const found = await core.credentials.session(cookie);
    if (!found) throw new DomainError('NOT_AUTHENTICATED', 'Session expired or invalid. Sign in again.');
    if (UNSAFE.has(request.method)) {
      refuseUntrustedOrigin(request);
      const csrf = request.headers['x-csrftoken'];
      if (!found.csrfOk(typeof csrf === 'string' ? csrf : undefined)) {
        throw new DomainError('CSRF_FAILED', 'CSRF Failed: CSRF token missing or incorrect.');
      }
    }
    principal = found.principal;
    request.presentedCredential = cookie;
  }
  // A credential names its tenant; asking for another tenant with it is refused.
  const asked = request.headers['x-tenant'];
  if (typeof asked === 'string' && asked !== '' && asked !== principal.tenant.name) {
    throw new DomainError('NOT_AUTHENTICATED', 'This credential does not belong to the requested tenant.');
  }
  // A user who must first set up a second factor may use this credential only where that is done.
  requireFullSignIn(principal, request.routeOptions.config?.enrolment === true);
  request.principal = principal;
  return principal;
}
