// What every page is drawn with: the tenant and its theme, the language, and the form token
// that protects every POST of the pages, including the sign-in form before any session exists
// (login CSRF). The token is a double-submit cookie: a random value in an HttpOnly cookie that
// the form repeats in a hidden field; another site can make the browser send the cookie but can
// neither read it nor set it for this host, so it cannot fill in the field. Compared in
// constant time.
import crypto from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { Core, Tenant } from '../../core/index.ts';
import { chooseLocale, translate, type Locale, type MessageKey } from './locales/index.ts';

export interface Theme {
  displayName: string;
  /** An http(s) URL, or '' for none (the setting's parser checked it). */
  logoUrl: string;
  /** '#rrggbb', or '' for Latchkey's own. */
  accent: string;
}

export interface PageContext {
  tenant: Tenant;
  locale: Locale;
  /** The value every form of the page sends back as `csrf_token`. */
  csrfToken: string;
  /** The tenant's path prefix: '' for `default`, `/tenants/NAME` for the others. */
  prefix: string;
  theme: Theme;
  t: (key: MessageKey, values?: Record<string, string | number>) => string;
}

const CSRF_PLAIN = 'latchkey_form';
/** `__Host-`: the browser refuses it unless Secure, for path `/`, from this very host (no subdomain can plant it). */
const CSRF_HOST = '__Host-latchkey_form';
const TOKEN_RE = /^[A-Za-z0-9_-]{43}$/;

declare module 'fastify' {
  interface FastifyInstance {
    /** Whether the form cookie must be Secure (PUBLIC_URL is https): set once at the root. */
    pageCookiesSecure?: boolean;
  }
}

/**
 * Records, at the root, whether the form cookie must be Secure. (Each caller hands pageContext
 * its reply: a hook on every request to remember replies cost every request of every API.)
 */
export function configurePages(app: FastifyInstance, publicUrl: string): void {
  app.decorate('pageCookiesSecure', publicUrl.startsWith('https:'));
}

export const tenantPrefix = (tenant: Tenant): string => (tenant.name === 'default' ? '' : `/tenants/${encodeURIComponent(tenant.name)}`);

function presentedToken(request: FastifyRequest): string | undefined {
  const c = request.cookies ?? {};
  const v = c[CSRF_HOST] ?? c[CSRF_PLAIN];
  return typeof v === 'string' && TOKEN_RE.test(v) ? v : undefined;
}

/** The page's context; sets the form cookie on the reply when the browser has none yet. */
export async function pageContext(
  core: Core,
  request: FastifyRequest,
  opts: { tenant: Tenant | string | undefined; uiLocales?: string; reply: FastifyReply },
): Promise<PageContext> {
  const tenant = typeof opts.tenant === 'object' ? opts.tenant : await core.tenants.resolve(opts.tenant);
  const settings = await core.settings.forTenant(tenant.pk);
  const accept = request.headers['accept-language'];
  const locale = chooseLocale(opts.uiLocales, typeof accept === 'string' ? accept : undefined);
  let csrfToken = presentedToken(request);
  if (!csrfToken) {
    csrfToken = crypto.randomBytes(32).toString('base64url');
    const secure = request.server?.pageCookiesSecure ?? request.protocol === 'https';
    opts.reply.setCookie(secure ? CSRF_HOST : CSRF_PLAIN, csrfToken, { path: '/', httpOnly: true, sameSite: 'lax', secure });
  }
  return {
    tenant, locale, csrfToken, prefix: tenantPrefix(tenant),
    theme: { displayName: tenant.displayName || tenant.name, logoUrl: settings.logo_url, accent: settings.accent_color },
    t: (key, values) => translate(locale, key, values),
  };
}

/** Whether a form's `csrf_token` matches the browser's form cookie (constant time). */
export function verifyFormCsrf(request: FastifyRequest, token: unknown): boolean {
  const expected = presentedToken(request);
  if (expected === undefined || typeof token !== 'string') return false;
  const a = Buffer.from(expected);
  const b = Buffer.from(token);
  return a.length === b.length && crypto.timingSafeEqual(a, b);
}
