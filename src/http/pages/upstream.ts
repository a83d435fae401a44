// The sign-in page's upstream identity providers: one button each, which starts the sign-in at
// the provider (core.upstreamSignIn, purpose `interaction`: the pages finish it themselves) and
// comes back through Latchkey's callback to `login/upstream/back/`, where the upstream first
// factor runs as a password would: the code step when a second factor is due, else the pages'
// session and `next`.
import type { FastifyInstance } from 'fastify';
import { DomainError, type Core } from '../../core/index.ts';
import { clearUpstreamBinding, setUpstreamBinding, upstreamBinding } from '../plugins/upstream-cookie.ts';
import type { PageContext } from './context.ts';
import { queryParam, safeNext } from './forms.ts';
import { sendPage } from './layout.ts';
import { signInErrorMessage } from './messages.ts';
import { setFlowCookie, trustCookie } from './mfa-cookies.ts';
import { finishPagesSignIn, methodsOfFlow, renderCodeStep, type MfaPageDeps } from './mfa-routes.ts';
import { renderSignIn } from './views.ts';

const at = (ctx: PageContext, page: string) => `${ctx.prefix}/account/${page}`;

export async function upstreamButtons(core: Core, ctx: PageContext, next: string | undefined): Promise<{ name: string; href: string }[]> {
  const providers = await core.identityProviders.enabled(ctx.tenant.pk);
  return providers.map((p) => ({ name: p.name, href: `${at(ctx, `login/upstream/${encodeURIComponent(p.slug)}/`)}${next ? `?${new URLSearchParams({ next })}` : ''}` }));
}

export function upstreamPageRoutes(app: FastifyInstance, d: MfaPageDeps): void {
  const { core, publicUrl, p, contextOf } = d;
  const again = async (reply: Parameters<typeof sendPage>[0], ctx: PageContext, error: string, status: number, next?: string) => {
    const settings = await core.settings.forTenant(ctx.tenant.pk);
    return sendPage(reply, renderSignIn(ctx, { action: at(ctx, 'login/'), error, signUp: settings.registration_enabled, next, providers: await upstreamButtons(core, ctx, next) }), status);
  };

  app.get(p('login/upstream/:provider/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const next = safeNext(queryParam(request, 'next') ?? '');
    const back = `${at(ctx, 'login/upstream/back/')}${next ? `?${new URLSearchParams({ next })}` : ''}`;
    try {
      const begun = await core.upstreamSignIn.begin({ tenant: ctx.tenant.name, provider: (request.params as { provider: string }).provider, purpose: 'interaction', next: back });
      setUpstreamBinding(reply, begun.binding, publicUrl);
      return reply.code(303).header('cache-control', 'no-store').redirect(begun.url, 303);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return again(reply, ctx, err.message, err.code === 'UNAVAILABLE' ? 503 : err.code === 'NOT_FOUND' ? 404 : 400, next);
    }
  });

  // Latchkey's provider callback forwards its query here (with `provider`).
  app.get(p('login/upstream/back/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1 || request.url.length));
    const provider = query.get('provider') ?? '';
    const next = safeNext(query.get('next') ?? '');
    query.delete('provider');
    query.delete('next');
    const binding = upstreamBinding(request);
    clearUpstreamBinding(reply);
    try {
      const outcome = await core.signIn.start({
        tenant: ctx.tenant.name, issue: { kind: 'session' }, continuable: true, trustToken: trustCookie(request),
        factor: { method: 'upstream', provider, callback: `${publicUrl}/api/auth/social/${encodeURIComponent(provider)}/callback/?${query}`, binding },
      });
      if (outcome.status === 'pending') {
        if (outcome.step !== 'mfa_authenticate') return again(reply, ctx, ctx.t('verifyFirst'), 403, next);
        // The code step is drawn here, not redirected to: this request ends a redirect chain that
        // began at the provider's site, so a browser would not send the SameSite=Strict flow
        // cookie to a further redirect; the form's POST comes from this page, and carries it.
        setFlowCookie(request, reply, outcome.flowToken, at(ctx, 'login/'), outcome.expiresAt);
        return sendPage(reply, await renderCodeStep(core, ctx, next, await methodsOfFlow(core, outcome.flowToken)));
      }
      return await finishPagesSignIn(core, reply, ctx, publicUrl, outcome, next);
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      const message = err.fields?.non_field_errors?.[0] ?? signInErrorMessage(ctx, err) ?? err.message;
      return again(reply, ctx, message, err.code === 'UNAVAILABLE' ? 503 : 400, next);
    }
  });
}
