// What every page route reads from a request: a form field (text only, bounded), a query
// parameter, the tenant of the path, a return path that stays on this server, and the signed-in
// session of the `sessionid` cookie.
import type { FastifyRequest } from 'fastify';
import type { Core } from '../../core/index.ts';
import type { PageContext } from './context.ts';

export const FIELD_MAX = 8192;

export const str = (body: unknown, name: string): string => {
  const v = body && typeof body === 'object' ? (body as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? v.slice(0, FIELD_MAX) : '';
};
export const queryParam = (request: FastifyRequest, name: string): string | undefined => {
  const v = (request.query as Record<string, unknown> | undefined)?.[name];
  return typeof v === 'string' ? v : undefined;
};
export const tenantParam = (request: FastifyRequest): string | undefined => (request.params as { tenant?: string }).tenant;

/** A return path the standalone sign-in may go on to: a path of this server only. */
export const safeNext = (next: string): string | undefined => (/^\/(?![/\\])[\x21-\x7e]*$/.test(next) && next.length <= 1000 ? next : undefined);

/** The Latchkey session of the `sessionid` cookie, when it belongs to the page's tenant. */
export async function sessionOf(core: Core, request: FastifyRequest, ctx: PageContext) {
  const cookie = request.cookies?.sessionid;
  if (!cookie) return undefined;
  const found = await core.credentials.session(cookie);
  return found && found.principal.tenant.pk === ctx.tenant.pk ? found.principal : undefined;
}
