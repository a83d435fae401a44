// The hosted pages as routes: for the `default` tenant under /account/, for tenant NAME under
// /tenants/NAME/account/ (the tenants' issuer paths). Every form is a plain POST that works
// without JavaScript, checked by the form token first; every answer is a page, never JSON.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type Core } from '../../core/index.ts';
import { classify } from '../errors.ts';
import { clearSessionCookie, setSessionCookies } from '../plugins/session-cookies.ts';
import { configurePages, pageContext, tenantPrefix, verifyFormCsrf, type PageContext } from './context.ts';
import { sendPage, sendRateLimited, stylesheet } from './layout.ts';
import { fieldMessages, signInErrorMessage } from './messages.ts';
import { queryParam, safeNext, sessionOf, str, tenantParam } from './forms.ts';
import { setFlowCookie, trustCookie } from './mfa-cookies.ts';
import { finishPagesSignIn, mfaPageRoutes } from './mfa-routes.ts';
import { passkeyPageRoutes } from './passkey-routes.ts';
import { passkeySignupPageRoutes } from './passkey-signup-routes.ts';
import { passkeyScriptRoute } from './passkey-script.ts';
import { drawSignInExtras } from './extensions.ts';
import { upstreamButtons, upstreamPageRoutes } from './upstream.ts';
import {
  renderError, renderRateLimited, renderForgot, renderMessage, renderReset, renderSignedIn, renderSignedOut, renderSignIn, renderSignOut, renderSignUp,
} from './views.ts';

interface Options { core: Core; publicUrl: string }

/** The reset link's uid and token, once moved out of the URL: an HttpOnly cookie for the reset page alone. */
const RESET_COOKIE = 'latchkey_reset';

/** The whole plugin, at the root (it records the cookie policy for pageContext); the routes are encapsulated. */
export async function hostedPages(app: FastifyInstance, opts: Options) {
  configurePages(app, opts.publicUrl);
  await app.register(pageRoutes, opts);
}
(hostedPages as unknown as Record<symbol, boolean>)[Symbol.for('skip-override')] = true;

async function pageRoutes(app: FastifyInstance, { core, publicUrl }: Options) {
  const secure = publicUrl.startsWith('https:');

  /** A context for the page's tenant; on an unknown tenant, one for `default` to draw the error with. */
  const contextOf = (request: FastifyRequest, reply: FastifyReply) => pageContext(core, request, { tenant: tenantParam(request), reply });

  app.setErrorHandler(async (err, request, reply) => {
    const c = classify(err);
    let ctx: PageContext;
    try {
      ctx = await contextOf(request, reply);
    } catch {
      // No tenant to draw for: a neutral frame, not the default tenant's name and logo.
      ctx = { ...(await pageContext(core, request, { tenant: undefined, reply })), theme: { displayName: 'Latchkey', logoUrl: '', accent: '' } };
      if (c.kind === 'domain' && c.error.code === 'TENANT_UNAVAILABLE') {
        return sendPage(reply, renderError(ctx, { status: 404, title: ctx.t('tenantUnavailableTitle'), message: ctx.t('tenantUnavailable'), link: false }), 404);
      }
    }
    if (c.kind === 'validation' || c.kind === 'http') {
      const status = c.kind === 'http' ? c.status : 400;
      return sendPage(reply, renderError(ctx, { status, title: ctx.t('linkIncompleteTitle'), message: ctx.t('linkIncomplete') }), status);
    }
    if (c.kind === 'unavailable') {
      request.log.error({ err }, 'database unavailable');
      reply.header('retry-after', '1');
      return sendPage(reply, renderError(ctx, { status: 503, title: ctx.t('unavailableTitle'), message: ctx.t('unavailable') }), 503);
    }
    if (c.kind === 'domain' && c.error.code === 'TENANT_UNAVAILABLE') {
      return sendPage(reply, renderError(ctx, { status: 404, title: ctx.t('tenantUnavailableTitle'), message: ctx.t('tenantUnavailable'), link: false }), 404);
    }
    if (c.kind === 'domain' && c.error.code === 'RATE_LIMITED') {
      // A page that begins a sign-in (a passkey's, an upstream provider's) counts it per address.
      const seconds = c.error.retryAfter ?? 1;
      return sendRateLimited(reply, renderRateLimited(ctx, seconds), seconds);
    }
    request.log.error({ err }, 'unhandled error');
    return sendPage(reply, renderError(ctx, { status: 500, title: ctx.t('errorTitle'), message: ctx.t('errorMessage') }), 500);
  });

  /** The 403 page of a form without its token (or with another one). Nothing else is done. */
  const csrfRefused = (reply: FastifyReply, ctx: PageContext) =>
    sendPage(reply, renderError(ctx, { status: 403, title: ctx.t('csrfTitle'), message: ctx.t('csrfMessage') }), 403);

  const at = (ctx: PageContext, page: string) => `${ctx.prefix}/account/${page}`;
  /** Under the sign-up form (drawn only while registration is open): "sign up with a passkey instead". */
  const signUpExtras = (ctx: PageContext) => drawSignInExtras(ctx, { context: 'pages', step: 'signup', action: at(ctx, 'signup/') });

  passkeyScriptRoute(app);
  for (const prefix of ['', '/tenants/:tenant']) {
    const p = (page: string) => `${prefix}/account/${page}`;

    app.get(p('style.css'), { schema: { hide: true } }, async (request, reply) => {
      const tenant = await core.tenants.resolve(tenantParam(request));
      const settings = await core.settings.forTenant(tenant.pk);
      return reply.header('content-type', 'text/css; charset=utf-8').header('cache-control', 'public, max-age=300')
        .header('x-content-type-options', 'nosniff').send(stylesheet(settings.accent_color));
    });

    // Any other address under the pages is a page too, not the APIs' JSON 404.
    app.get(p('*'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      return sendPage(reply, renderError(ctx, { status: 404, title: ctx.t('notFoundTitle'), message: ctx.t('notFound') }), 404);
    });

    // The standalone sign-in: a Latchkey cookie session (sessionid + csrftoken, as REST-auth's login sets them).
    app.get(p('login/'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      const settings = await core.settings.forTenant(ctx.tenant.pk);
      const next = safeNext(queryParam(request, 'next') ?? '');
      return sendPage(reply, renderSignIn(ctx, { action: at(ctx, 'login/'), signUp: settings.registration_enabled, next, extras: drawSignInExtras(ctx, { context: 'pages', step: 'password', action: at(ctx, 'login/'), next }), providers: await upstreamButtons(core, ctx, next) }));
    });
    app.post(p('login/'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      const body = request.body;
      if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
      const settings = await core.settings.forTenant(ctx.tenant.pk);
      const login = str(body, 'login').trim();
      const password = str(body, 'password');
      const next = safeNext(str(body, 'next'));
      const again = async (error: string, status: number) => sendPage(reply, renderSignIn(ctx, {
        action: at(ctx, 'login/'), error, loginHint: login, signUp: settings.registration_enabled, next,
        extras: drawSignInExtras(ctx, { context: 'pages', step: 'password', action: at(ctx, 'login/'), next }), providers: await upstreamButtons(core, ctx, next),
      }), status);
      if (!login || !password) return again(ctx.t('missingFields'), 400);
      try {
        const outcome = await core.signIn.start({
          tenant: ctx.tenant.name, issue: { kind: 'session' }, continuable: true, trustToken: trustCookie(request),
          factor: { method: 'password', by: login.includes('@') ? 'email' : 'username', identifier: login, password },
        });
        if (outcome.status === 'pending') {
          if (outcome.step !== 'mfa_authenticate') return again(ctx.t('verifyFirst'), 403);
          // The password was right: the code step, with the flow's token in its cookie (mfa-cookies.ts).
          setFlowCookie(request, reply, outcome.flowToken, at(ctx, 'login/'), outcome.expiresAt);
          return reply.code(303).header('cache-control', 'no-store').redirect(at(ctx, 'login/code/') + (next ? `?next=${encodeURIComponent(next)}` : ''), 303);
        }
        return await finishPagesSignIn(core, reply, ctx, publicUrl, outcome, next);
      } catch (err) {
        const message = signInErrorMessage(ctx, err);
        if (message === undefined) throw err;
        const e = err as DomainError;
        if (e.code === 'RATE_LIMITED' && e.retryAfter) reply.header('retry-after', String(e.retryAfter));
        return again(message, e.code === 'RATE_LIMITED' ? 429 : e.code === 'VALIDATION_FAILED' ? 400 : 401);
      }
    });

    // Who is signed in here (where the standalone sign-in lands).
    app.get(p(''), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      const principal = await sessionOf(core, request, ctx);
      if (!principal) return reply.code(303).header('cache-control', 'no-store').redirect(at(ctx, 'login/'), 303);
      // A user the tenant holds to enrolment sees the Security page first (core requireFullSignIn's rule).
      if (principal.mustEnrol) return reply.code(303).header('cache-control', 'no-store').redirect(at(ctx, 'security/'), 303);
      return sendPage(reply, renderSignedIn(ctx, { username: principal.user.username }));
    });

    app.get(p('logout/'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      return sendPage(reply, renderSignOut(ctx, { action: at(ctx, 'logout/') }));
    });
    app.post(p('logout/'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      if (!verifyFormCsrf(request, str(request.body, 'csrf_token'))) return csrfRefused(reply, ctx);
      const principal = await sessionOf(core, request, ctx);
      if (principal) await core.signOut.signOutWhole(principal);
      clearSessionCookie(reply);
      reply.clearCookie('csrftoken', { path: '/' });
      return sendPage(reply, renderSignedOut(ctx));
    });

    mfaPageRoutes(app, { core, publicUrl, p, contextOf, csrfRefused });
    passkeyPageRoutes(app, { core, publicUrl, p, contextOf, csrfRefused });
    passkeySignupPageRoutes(app, { core, publicUrl, p, contextOf, csrfRefused });
    upstreamPageRoutes(app, { core, publicUrl, p, contextOf, csrfRefused });

    app.get(p('signup/'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      if (!(await core.settings.forTenant(ctx.tenant.pk)).registration_enabled) {
        return sendPage(reply, renderMessage(ctx, { title: ctx.t('signUpTitle'), message: ctx.t('signUpClosed') }), 403);
      }
      return sendPage(reply, renderSignUp(ctx, { action: at(ctx, 'signup/'), extras: signUpExtras(ctx) }));
    });
    app.post(p('signup/'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      const body = request.body;
      if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
      const input = { username: str(body, 'username').trim(), email: str(body, 'email').trim(), password1: str(body, 'password1'), password2: str(body, 'password2') };
      try {
        const r = await core.registration.register(ctx.tenant.name, { ...input, email: input.email || undefined });
        if (r.session) setSessionCookies(reply, r.session, publicUrl);
        return sendPage(reply, renderMessage(ctx, {
          title: ctx.t('signUpDoneTitle'), message: ctx.t(r.session ? 'signUpDone' : 'signUpVerify'), ok: true,
          ...(r.session ? { link: { href: at(ctx, ''), label: ctx.t('signedInTitle') } } : {}),
        }), 201);
      } catch (err) {
        const c = classify(err);
        if (c.kind !== 'domain') throw err;
        if (c.error.code === 'PERMISSION_DENIED') return sendPage(reply, renderMessage(ctx, { title: ctx.t('signUpTitle'), message: ctx.t('signUpClosed') }), 403);
        if (c.error.code === 'RATE_LIMITED') {
          return sendPage(reply, renderSignUp(ctx, { action: at(ctx, 'signup/'), error: ctx.t('rateLimited', { seconds: c.error.retryAfter ?? 1 }), values: input, extras: signUpExtras(ctx) }), 429);
        }
        if (c.error.code !== 'VALIDATION_FAILED') throw err;
        const { fields, general } = fieldMessages(c.error, ['username', 'email', 'password1', 'password2'], { password: 'password1' });
        return sendPage(reply, renderSignUp(ctx, { action: at(ctx, 'signup/'), error: general ?? ctx.t('fixErrors'), fields, values: input, extras: signUpExtras(ctx) }), 400);
      }
    });

    // The verification e-mail's link. Verifies on GET, as django-allauth's ACCOUNT_CONFIRM_EMAIL_ON_GET.
    // The pages are for browsers and described in docs/pages.md, not operations of the API document.
    app.route({
      method: 'GET', url: p('verify-email/'),
      schema: {
        hide: true,
        tags: ['e-mail links'], summary: 'The verification link of an e-mail: verifies the address and answers an HTML page',
        description: 'Opened from the message (`?key=...`), for the default tenant at `/account/verify-email/`, for tenant NAME at `/tenants/NAME/account/verify-email/`. 200 when the address is now verified; 400 with a page saying so when the key is missing, invalid, expired or used. The same check as `POST /api/auth/registration/verify-email/`. HEAD verifies nothing.',
        querystring: { type: 'object', additionalProperties: true, properties: { key: { type: 'string', description: 'The key from the message' } } },
      },
      handler: async (request, reply) => {
        const ctx = await contextOf(request, reply);
        // HEAD (a link checker, a mail scanner asking about the page) verifies nothing.
        if (request.method === 'HEAD') return sendPage(reply, renderMessage(ctx, { title: ctx.t('verifyTitle'), message: ctx.t('verifyHead') }));
        const key = queryParam(request, 'key') ?? '';
        try {
          await core.emailVerification.verify(key);
        } catch (err) {
          const c = classify(err);
          if (c.kind !== 'domain') throw err;
          const why = c.error.fields?.key?.[0] ?? c.error.message;
          return sendPage(reply, renderMessage(ctx, { title: ctx.t('linkFailedTitle'), message: `${why} ${ctx.t('linkFailed')}` }), 400);
        }
        return sendPage(reply, renderMessage(ctx, { title: ctx.t('verifiedTitle'), message: ctx.t('verified'), ok: true }));
      },
    });

    app.get(p('password/forgot/'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      if (!(await core.settings.forTenant(ctx.tenant.pk)).password_forgotten_enabled) {
        return sendPage(reply, renderMessage(ctx, { title: ctx.t('forgotTitle'), message: ctx.t('forgotDisabled') }), 403);
      }
      return sendPage(reply, renderForgot(ctx, { action: at(ctx, 'password/forgot/') }));
    });
    app.post(p('password/forgot/'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      const body = request.body;
      if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
      const email = str(body, 'email').trim();
      if (!email) return sendPage(reply, renderForgot(ctx, { action: at(ctx, 'password/forgot/'), fields: { email: [ctx.t('missingFields')] } }), 400);
      try {
        await core.passwordReset.request(ctx.tenant.name, email);
      } catch (err) {
        const c = classify(err);
        if (c.kind !== 'domain') throw err;
        if (c.error.code === 'PERMISSION_DENIED') return sendPage(reply, renderMessage(ctx, { title: ctx.t('forgotTitle'), message: ctx.t('forgotDisabled') }), 403);
        if (c.error.code === 'RATE_LIMITED') {
          if (c.error.retryAfter) reply.header('retry-after', String(c.error.retryAfter));
          return sendPage(reply, renderForgot(ctx, { action: at(ctx, 'password/forgot/'), error: ctx.t('rateLimited', { seconds: c.error.retryAfter ?? 1 }), email }), 429);
        }
        if (c.error.code !== 'VALIDATION_FAILED') throw err;
        const { fields, general } = fieldMessages(c.error, ['email']);
        return sendPage(reply, renderForgot(ctx, { action: at(ctx, 'password/forgot/'), error: general, fields, email }), 400);
      }
      // The same page whether or not an account has the address.
      return sendPage(reply, renderMessage(ctx, { title: ctx.t('forgotSentTitle'), message: ctx.t('forgotSent'), ok: true }));
    });

    // The reset e-mail's link: the uid and token move into an HttpOnly cookie for this page's
    // path, and the browser is sent on to the same page without them, so the form's URL (in the
    // history, in a log, in a Referer) holds no secret.
    app.route({
      method: 'GET', url: p('reset-password/'),
      schema: {
        hide: true,
        tags: ['e-mail links'], summary: 'The password-reset link of an e-mail: a page with a form that sets the new password',
        description: 'Opened from the message (`?uid=...&token=...`): the uid and token move into an HttpOnly cookie and the browser is redirected (303) to the same path without them, which shows the form. The form posts to the same path. For tenant NAME under `/tenants/NAME/account/reset-password/`. The API call that does the same is `POST /api/auth/password/reset/confirm/`.',
        querystring: { type: 'object', additionalProperties: true, properties: { uid: { type: 'string' }, token: { type: 'string' } } },
      },
      handler: async (request, reply) => {
        const ctx = await contextOf(request, reply);
        const path = at(ctx, 'reset-password/');
        const uid = queryParam(request, 'uid');
        const token = queryParam(request, 'token');
        if (uid !== undefined || token !== undefined) {
          if (!uid || !token || uid.length > 200 || token.length > 500) {
            return sendPage(reply, renderMessage(ctx, { title: ctx.t('linkIncompleteTitle'), message: ctx.t('linkIncomplete'), link: { href: at(ctx, 'password/forgot/'), label: ctx.t('forgotTitle') } }), 400);
          }
          reply.setCookie(RESET_COOKIE, Buffer.from(JSON.stringify([uid, token])).toString('base64url'), { path, httpOnly: true, sameSite: 'lax', secure, maxAge: 3600 });
          return reply.code(303).header('cache-control', 'no-store').header('referrer-policy', 'no-referrer').redirect(path, 303);
        }
        if (!resetOf(request)) {
          return sendPage(reply, renderMessage(ctx, { title: ctx.t('linkIncompleteTitle'), message: ctx.t('linkIncomplete'), link: { href: at(ctx, 'password/forgot/'), label: ctx.t('forgotTitle') } }), 400);
        }
        return sendPage(reply, renderReset(ctx, { action: path }));
      },
    });
    app.post(p('reset-password/'), { schema: { hide: true } }, async (request, reply) => {
      const ctx = await contextOf(request, reply);
      const path = at(ctx, 'reset-password/');
      const body = request.body;
      if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
      const link = resetOf(request);
      const failed = () => {
        reply.clearCookie(RESET_COOKIE, { path });
        return sendPage(reply, renderMessage(ctx, { title: ctx.t('linkFailedTitle'), message: ctx.t('linkFailed'), link: { href: at(ctx, 'password/forgot/'), label: ctx.t('forgotTitle') } }), 400);
      };
      if (!link) return failed();
      try {
        await core.passwordReset.confirm({ uid: link.uid, token: link.token, new1: str(body, 'new_password1'), new2: str(body, 'new_password2') });
      } catch (err) {
        const c = classify(err);
        if (c.kind !== 'domain' || c.error.code !== 'VALIDATION_FAILED') throw err;
        const f = c.error.fields ?? {};
        if (f.uid || f.token) return failed();
        const { fields, general } = fieldMessages(c.error, ['new_password1', 'new_password2'], { password: 'new_password1' });
        return sendPage(reply, renderReset(ctx, { action: path, error: general ?? ctx.t('fixErrors'), fields }), 400);
      }
      reply.clearCookie(RESET_COOKIE, { path });
      return sendPage(reply, renderMessage(ctx, { title: ctx.t('resetDoneTitle'), message: ctx.t('resetDone'), ok: true }));
    });
  }
}

function resetOf(request: FastifyRequest): { uid: string; token: string } | undefined {
  const raw = request.cookies?.[RESET_COOKIE];
  if (typeof raw !== 'string' || raw.length > 1500) return undefined;
  try {
    const v: unknown = JSON.parse(Buffer.from(raw, 'base64url').toString('utf8'));
    if (Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'string' && v[0] && v[1]) return { uid: v[0], token: v[1] };
  } catch { /* not ours */ }
  return undefined;
}

export { tenantPrefix };
