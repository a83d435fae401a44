// The cookie that binds a sign-in begun at an upstream identity provider to the browser that
// began it (core.upstreamSignIn keeps only its hash): HttpOnly, SameSite=Lax (it must come along
// on the provider's top-level redirect back), ten minutes. Read by REST-auth's callback and by
// the OpenID provider's interaction when the sign-in went upstream from there.
import type { FastifyReply, FastifyRequest } from 'fastify';

export const UPSTREAM_COOKIE = 'lk_upstream';

export function setUpstreamBinding(reply: FastifyReply, binding: string, publicUrl: string): void {
  reply.setCookie(UPSTREAM_COOKIE, binding, { path: '/', httpOnly: true, sameSite: 'lax', secure: publicUrl.startsWith('https:'), maxAge: 600 });
}

export function upstreamBinding(request: FastifyRequest): string | undefined {
  return (request.cookies as Record<string, string | undefined>)[UPSTREAM_COOKIE];
}

export function clearUpstreamBinding(reply: FastifyReply): void {
  reply.clearCookie(UPSTREAM_COOKIE, { path: '/' });
}
