// Signing up with a passkey alone on the hosted pages (core: accounts/passkey-signup.ts), offered
// under the sign-up form as "Sign up with a passkey instead" (shown only where the passkey script
// runs). Two pages: `signup/passkey/` takes the username and the address and starts the sign-up
// (the rules are the password sign-up's: registration open, the same field checks); its token
// goes into the `latchkey_signup` cookie (HttpOnly, SameSite=Strict, this path only: mfa-cookies.ts
// says why a cookie), and `signup/passkey/create/` is the creation ceremony. Its answer makes the
// account, with the passkey and no password, and opens the cookie session as a passkey sign-in
// does; an address the tenant wants verified first ends on the "confirm your address" page, as
// the password sign-up does. Nothing is made before the passkey holds.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SignInOutcome } from '../../core/index.ts';
import { classify } from '../errors.ts';
import { verifyFormCsrf, type PageContext } from './context.ts';
import { str } from './forms.ts';
import { sendPage } from './layout.ts';
import { fieldMessages } from './messages.ts';
import { clearFlowCookie, flowCookie, setFlowCookie, SIGNUP_COOKIE } from './mfa-cookies.ts';
import { finishPagesSignIn, type MfaPageDeps } from './mfa-routes.ts';
import { credentialOf } from './passkey-routes.ts';
import { renderPasskeyCeremony, renderPasskeySignUp, type PasskeySignUpView } from './passkey-views.ts';
import { renderMessage } from './views.ts';

const at = (ctx: PageContext, page: string) => `${ctx.prefix}/account/${page}`;
const see = (reply: FastifyReply, to: string) => reply.code(303).header('cache-control', 'no-store').redirect(to, 303);
const START = 'signup/passkey/';
const CREATE = 'signup/passkey/create/';

/** What the ceremony page shows of the sign-up it completes. */
interface Pending { flow: string; username: string; email: string }

export function passkeySignupPageRoutes(app: FastifyInstance, d: MfaPageDeps): void {
  const { core, p, contextOf, csrfRefused } = d;

  const isOpen = async (ctx: PageContext) => (await core.settings.forTenant(ctx.tenant.pk)).registration_enabled;
  const closed = (reply: FastifyReply, ctx: PageContext) => {
    clearFlowCookie(reply, at(ctx, START), SIGNUP_COOKIE);
    return sendPage(reply, renderMessage(ctx, { title: ctx.t('signUpTitle'), message: ctx.t('signUpClosed') }), 403);
  };
  const startForm = (reply: FastifyReply, ctx: PageContext, status: number, v: Omit<PasskeySignUpView, 'action'> = {}) =>
    sendPage(reply, renderPasskeySignUp(ctx, { action: at(ctx, START), ...v }), status);
  /** The sign-up is gone (used, expired, of another tenant, or no cookie): its cookie goes, the first page again. */
  const expired = (reply: FastifyReply, ctx: PageContext) => {
    clearFlowCookie(reply, at(ctx, START), SIGNUP_COOKIE);
    return startForm(reply, ctx, 400, { error: ctx.t('passkeySignUpExpired') });
  };
  /** The sign-up this browser started here, still waiting on its passkey; undefined otherwise. */
  const pendingOf = async (request: FastifyRequest, ctx: PageContext): Promise<Pending | undefined> => {
    const flow = flowCookie(request, SIGNUP_COOKIE);
    const pending = flow ? await core.passkeySignup.pending(flow) : undefined;
    // The cookie's path names the tenant, but a token is checked against the page's tenant all the same.
    return flow && pending && pending.tenantPk === ctx.tenant.pk ? { flow, username: pending.username, email: pending.email } : undefined;
  };
  /** The creation ceremony with fresh options (only the latest options' challenge completes the sign-up); undefined when the sign-up went meanwhile. */
  const ceremony = async (ctx: PageContext, s: Pending, extra: { name: string; error?: string; nameErrors?: string[] }): Promise<string | undefined> => {
    let options: unknown;
    try {
      options = await core.passkeySignup.creationOptions(s.flow);
    } catch (err) {
      const c = classify(err);
      if (c.kind === 'domain' && c.error.code === 'TOKEN_INVALID') return undefined;
      throw err;
    }
    return renderPasskeyCeremony(ctx, {
      title: ctx.t('passkeySignUpCreateTitle'), intro: ctx.t('passkeySignUpCreateIntro', { username: s.username, email: s.email }),
      action: at(ctx, CREATE), mode: 'create', options, button: ctx.t('passkeyCreateButton'),
      name: { value: extra.name, errors: extra.nameErrors ? { name: extra.nameErrors } : undefined }, error: extra.error,
      back: { href: at(ctx, 'signup/'), label: ctx.t('passkeySignUpBack') },
      noScript: ctx.t('passkeySignUpNoScript'), unsupported: ctx.t('passkeySignUpUnsupported'),
    });
  };

  app.get(p(START), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    if (!(await isOpen(ctx))) return closed(reply, ctx);
    return startForm(reply, ctx, 200);
  });

  app.post(p(START), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const body = request.body;
    if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const values = { username: str(body, 'username').trim(), email: str(body, 'email').trim() };
    let started;
    try {
      started = await core.passkeySignup.start(ctx.tenant.name, values);
    } catch (err) {
      const c = classify(err);
      if (c.kind !== 'domain') throw err;
      if (c.error.code === 'PERMISSION_DENIED') return closed(reply, ctx);
      if (c.error.code === 'RATE_LIMITED') {
        const seconds = c.error.retryAfter ?? 1;
        reply.header('retry-after', String(seconds));
        return startForm(reply, ctx, 429, { error: ctx.t('rateLimited', { seconds }), values });
      }
      if (c.error.code !== 'VALIDATION_FAILED') throw err;
      const { fields, general } = fieldMessages(c.error, ['username', 'email']);
      return startForm(reply, ctx, 400, { error: general ?? ctx.t('fixErrors'), fields, values });
    }
    setFlowCookie(request, reply, started.flowToken, at(ctx, START), started.expiresAt, SIGNUP_COOKIE);
    return see(reply, at(ctx, CREATE));
  });

  app.get(p(CREATE), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    if (!(await isOpen(ctx))) return closed(reply, ctx);
    const s = await pendingOf(request, ctx);
    const page = s ? await ceremony(ctx, s, { name: ctx.t('typeWebauthn') }) : undefined;
    if (!page) return see(reply, at(ctx, START));
    return sendPage(reply, page);
  });

  app.post(p(CREATE), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const body = request.body;
    if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const s = await pendingOf(request, ctx);
    if (!s) return expired(reply, ctx);
    const name = str(body, 'name').trim();
    const again = async (status: number, extra: { error?: string; nameErrors?: string[] }) => {
      const page = await ceremony(ctx, s, { name, ...extra });
      return page ? sendPage(reply, page, status) : expired(reply, ctx);
    };
    const credential = credentialOf(body);
    if (!credential) return again(400, { error: str(body, 'credential') ? ctx.t('passkeySignUpFailed') : ctx.t('passkeySignUpNoScript') });
    let outcome: SignInOutcome;
    try {
      outcome = await core.passkeySignup.complete(s.flow, { name, credential }, { kind: 'session' });
    } catch (err) {
      const c = classify(err);
      if (c.kind !== 'domain') throw err;
      switch (c.error.code) {
        case 'VALIDATION_FAILED': {
          const f = c.error.fields ?? {};
          if (f.name) return again(400, { nameErrors: [ctx.t('passkeyNameRule')] });
          if (f.username || f.email) {
            // Someone took the name, or verified the address, meanwhile: this sign-up cannot finish.
            clearFlowCookie(reply, at(ctx, START), SIGNUP_COOKIE);
            const { fields, general } = fieldMessages(c.error, ['username', 'email']);
            return startForm(reply, ctx, 400, { error: general ?? ctx.t('fixErrors'), fields, values: { username: s.username, email: s.email } });
          }
          return again(400, { error: ctx.t('passkeySignUpFailed') });
        }
        case 'PERMISSION_DENIED': return closed(reply, ctx);
        case 'TOKEN_INVALID': return expired(reply, ctx);
        case 'RATE_LIMITED': {
          const seconds = c.error.retryAfter ?? 1;
          reply.header('retry-after', String(seconds));
          return again(429, { error: ctx.t('rateLimited', { seconds }) });
        }
        default: throw err;
      }
    }
    clearFlowCookie(reply, at(ctx, START), SIGNUP_COOKIE);
    // The account is made; the tenant wants its address verified before it signs in.
    if (outcome.status === 'pending') {
      return sendPage(reply, renderMessage(ctx, { title: ctx.t('signUpDoneTitle'), message: ctx.t('signUpVerify'), ok: true }), 201);
    }
    return finishPagesSignIn(core, reply, ctx, d.publicUrl, outcome, undefined);
  });
}
