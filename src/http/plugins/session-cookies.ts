// The cookie session as Django sets it: `sessionid` (HttpOnly) and `csrftoken` (readable by the
// page's script, echoed in `X-CSRFToken`), Secure when PUBLIC_URL is https, SameSite=Lax.
import type { FastifyReply } from 'fastify';
import type { NewSessionCookies } from '../../core/index.ts';

export function setSessionCookies(reply: FastifyReply, s: NewSessionCookies, publicUrl: string): void {
  const secure = publicUrl.startsWith('https:');
  const expires = new Date(s.expiresAt);
  reply.setCookie('sessionid', s.cookie, { path: '/', httpOnly: true, sameSite: 'lax', secure, expires });
  reply.setCookie('csrftoken', s.csrfToken, { path: '/', httpOnly: false, sameSite: 'lax', secure, expires });
}

export function clearSessionCookie(reply: FastifyReply): void {
  reply.clearCookie('sessionid', { path: '/' });
}
