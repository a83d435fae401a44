// The two cookies of the second-factor step.
//
// `latchkey_signin` holds the token of a sign-in waiting on its second factor, between the
// password form and the code form. A cookie rather than a hidden field: the token, with a code,
// completes a sign-in, so it stays out of the page (no saved or cached page, no extension reading
// the DOM, no copy of the form holds it), it is bound to the browser that typed the password
// (HttpOnly, SameSite=Strict, for the step's path only), and it ends with the flow (15 minutes).
//
// `latchkey_signup` holds, the same way, the token of a sign-up by passkey between the form that
// takes the address and the page that creates the passkey (for `…/signup/passkey/` only): with a
// passkey made for its options, it makes an account and signs it in.
//
// `latchkey_trust` is "trust this browser": a token of core.secondFactors.trustBrowser that
// skips the code on this browser for the tenant's `trust_browser_days` (stored as a hash; it
// works only for the user it was made for, and goes when the last second factor is removed).
import type { FastifyReply, FastifyRequest } from 'fastify';

export const FLOW_COOKIE = 'latchkey_signin';
export const SIGNUP_COOKIE = 'latchkey_signup';
export const TRUST_COOKIE = 'latchkey_trust';
const TOKEN_RE = /^[A-Za-z0-9_-]{20,200}$/;

const secureOf = (request: FastifyRequest) => request.server?.pageCookiesSecure ?? request.protocol === 'https';

type FlowCookieName = typeof FLOW_COOKIE | typeof SIGNUP_COOKIE;

/** Keeps the flow's token until the flow expires (`expiresAt`, the sign-in's own). */
export function setFlowCookie(request: FastifyRequest, reply: FastifyReply, token: string, path: string, expiresAt: number, name: FlowCookieName = FLOW_COOKIE): void {
  reply.setCookie(name, token, { path, httpOnly: true, sameSite: 'strict', secure: secureOf(request), expires: new Date(expiresAt) });
}
export function clearFlowCookie(reply: FastifyReply, path: string, name: FlowCookieName = FLOW_COOKIE): void {
  reply.clearCookie(name, { path });
}
export function flowCookie(request: FastifyRequest, name: FlowCookieName = FLOW_COOKIE): string | undefined {
  const v = request.cookies?.[name];
  return typeof v === 'string' && TOKEN_RE.test(v) ? v : undefined;
}

export function setTrustCookie(request: FastifyRequest, reply: FastifyReply, token: string, expiresAt: number): void {
  reply.setCookie(TRUST_COOKIE, token, { path: '/', httpOnly: true, sameSite: 'lax', secure: secureOf(request), expires: new Date(expiresAt) });
}
export function trustCookie(request: FastifyRequest): string | undefined {
  const v = request.cookies?.[TRUST_COOKIE];
  return typeof v === 'string' && TOKEN_RE.test(v) ? v : undefined;
}
