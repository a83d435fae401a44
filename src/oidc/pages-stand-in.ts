// A stand-in for the hosted pages' renderers (src/http/pages/), with their signatures, used by
// the interaction routes until those pages are committed. Minimal, escaped HTML; the forms post
// the same fields (`login`, `password`, `decision`, `csrf_token`).
import type { FastifyRequest } from 'fastify';
import type { Core, Tenant } from '../core/index.ts';

export interface StandInContext {
  tenant: Tenant;
  locale: string;
  csrfToken: string;
}

const esc = (s: string) => s.replace(/[&<>"'`]/g, (c) => `&#${c.charCodeAt(0)};`);
const page = (title: string, body: string) =>
  `<!doctype html><html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width"><title>${esc(title)}</title></head><body><main><h1>${esc(title)}</h1>${body}</main></body></html>`;

export async function pageContext(core: Core, _request: FastifyRequest, opts: { tenant: Tenant | string | undefined; uiLocales?: string }): Promise<StandInContext> {
  const tenant = typeof opts.tenant === 'object' ? opts.tenant : await core.tenants.resolve(opts.tenant);
  return { tenant, locale: 'en', csrfToken: '' };
}

/** The interaction's own cookie binds the form to the browser that started it (see oidc-routes.ts). */
export function verifyFormCsrf(_request: FastifyRequest, _token: unknown): boolean {
  return true;
}

export function renderSignIn(_ctx: StandInContext, v: { action: string; error?: string; loginHint?: string }): string {
  return page('Sign in', `${v.error ? `<p role="alert">${esc(v.error)}</p>` : ''}<form method="post" action="${esc(v.action)}">
<label for="login">Username or e-mail</label><input id="login" name="login" autocomplete="username" value="${esc(v.loginHint ?? '')}">
<label for="password">Password</label><input id="password" name="password" type="password" autocomplete="current-password">
<button type="submit">Sign in</button></form>`);
}

export function renderConsent(_ctx: StandInContext, v: { action: string; clientName: string; scopes: readonly string[] }): string {
  return page('Allow access?', `<p>${esc(v.clientName)} asks for: ${v.scopes.map(esc).join(', ')}</p><form method="post" action="${esc(v.action)}">
<button type="submit" name="decision" value="deny">Deny</button><button type="submit" name="decision" value="allow">Allow</button></form>`);
}

export function renderError(_ctx: StandInContext, v: { status: number; title: string; message: string }): string {
  return page(v.title, `<p>${esc(v.message)}</p>`);
}

export function renderSignedOut(_ctx: StandInContext): string {
  return page('You are signed out', '');
}

export function signInErrorMessage(_ctx: StandInContext, err: unknown): string | undefined {
  const code = (err as { code?: string })?.code;
  switch (code) {
    case 'INVALID_CREDENTIALS': return 'The username or password is not right.';
    case 'RATE_LIMITED': return 'Too many attempts; wait a moment and try again.';
    case 'ACCOUNT_LOCKED': return 'Too many failed attempts; the account is locked for a while.';
    case 'SIGN_IN_PENDING': return 'Verify your e-mail address first.';
    case 'VALIDATION_FAILED': return 'Fill in both fields.';
    default: return undefined;
  }
}

export function sendPage(reply: import('fastify').FastifyReply, html: string, status = 200) {
  return reply.code(status).header('content-type', 'text/html; charset=utf-8').header('cache-control', 'no-store')
    .header('x-frame-options', 'DENY').header('content-security-policy', "default-src 'none'; frame-ancestors 'none'").send(html);
}
