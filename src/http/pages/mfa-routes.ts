// The second factor on the hosted pages: the sign-in's code step (after a right password the
// sign-in waits at `mfa_authenticate`; its token is kept in the `latchkey_signin` cookie,
// mfa-cookies.ts says why), and the Security page where a signed-in user sets up TOTP, turns it
// off and makes new recovery codes, each change behind a reauthentication (the password or a
// code, when the session proved itself longer ago than the tenant's `reauthentication_timeout`).
// A user whom the tenant's `mfa_required` holds to enrolment is sent here and may use nothing
// else of the pages but signing out.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type Core, type Principal, type SignInOutcome } from '../../core/index.ts';
import { classify } from '../errors.ts';
import { setSessionCookies } from '../plugins/session-cookies.ts';
import type { PageContext } from './context.ts';
import { verifyFormCsrf } from './context.ts';
import { drawSecuritySections, drawSignInExtras } from './extensions.ts';
import { safeNext, sessionOf, str, queryParam } from './forms.ts';
import { sendPage } from './layout.ts';
import { clearFlowCookie, flowCookie, setTrustCookie } from './mfa-cookies.ts';
import { renderMfaCode, renderReauthenticate, renderRecoveryCodes, renderRecoveryUsed, renderSecurity, renderTotpSetup } from './mfa-views.ts';
import { renderSignIn } from './views.ts';
import type { MessageKey } from './locales/index.ts';

export interface MfaPageDeps {
  core: Core;
  publicUrl: string;
  /** The route path of a page under this prefix's /account/. */
  p: (page: string) => string;
  contextOf: (request: FastifyRequest, reply: FastifyReply) => Promise<PageContext>;
  csrfRefused: (reply: FastifyReply, ctx: PageContext) => FastifyReply;
}

const at = (ctx: PageContext, page: string) => `${ctx.prefix}/account/${page}`;
const see = (reply: FastifyReply, to: string) => reply.code(303).header('cache-control', 'no-store').redirect(to, 303);

/** The page a completed standalone sign-in lands on: enrolment first when the tenant requires it, then `next`. */
export async function finishPagesSignIn(core: Core, reply: FastifyReply, ctx: PageContext, publicUrl: string, outcome: Extract<SignInOutcome, { status: 'completed' }>, next: string | undefined): Promise<FastifyReply> {
  // A session (the pages' own sign-ins), or a session and a token key (REST-auth's upstream login, continued here).
  if (outcome.issued.kind !== 'session' && outcome.issued.kind !== 'session_and_key') throw new Error('sign-in issued another kind');
  setSessionCookies(reply, outcome.issued.session, publicUrl);
  if (outcome.mustEnrol) return see(reply, at(ctx, 'security/'));
  const to = next ?? at(ctx, '');
  if (outcome.recoveryCodesLeft !== undefined) return sendPage(reply, renderRecoveryUsed(ctx, { left: outcome.recoveryCodesLeft, next: to }));
  return see(reply, to);
}

/** The signed-in user of a Security page, or undefined after a redirect to the sign-in that comes back to the Security page. */
export async function signedInOrLogin(core: Core, request: FastifyRequest, reply: FastifyReply, ctx: PageContext): Promise<Principal | undefined> {
  const principal = await sessionOf(core, request, ctx);
  if (!principal) {
    await see(reply, `${at(ctx, 'login/')}?next=${encodeURIComponent(at(ctx, 'security/'))}`);
    return undefined;
  }
  return principal;
}

/** Whether the session proved itself recently; otherwise the browser is sent to reauthenticate (and back to `back`). */
export async function recentOrReauthenticate(core: Core, reply: FastifyReply, ctx: PageContext, principal: Principal, back: string): Promise<boolean> {
  if (await core.reauthentication.isRecent(principal)) return true;
  await see(reply, `${at(ctx, 'security/reauthenticate/')}?next=${encodeURIComponent(back)}`);
  return false;
}

/** The second factor's types of the user a flow waits on (what the code step may offer besides a code). */
export async function methodsOfFlow(core: Core, flow: string | undefined): Promise<string[]> {
  const pending = flow ? await core.signIn.pending(flow) : undefined;
  if (!pending || pending.step !== 'mfa_authenticate') return [];
  return [...new Set((await core.secondFactors.list(pending.user)).map((a) => a.type))];
}

/**
 * After the sign-in's second step was proved (a code or a passkey): the flow's cookie goes, the
 * browser is trusted when asked, and the sign-in lands where finishPagesSignIn says.
 */
export async function afterSecondStep(
  core: Core, request: FastifyRequest, reply: FastifyReply, ctx: PageContext, publicUrl: string,
  outcome: SignInOutcome, trust: boolean, next: string | undefined, expired: () => FastifyReply,
): Promise<FastifyReply> {
  clearFlowCookie(reply, at(ctx, 'login/'));
  // Another step after this one (none the pages show but enrolment, which completes): start again.
  if (outcome.status !== 'completed') return expired();
  if (trust) {
    const settings = await core.settings.forTenant(ctx.tenant.pk);
    if (settings.trust_browser_days > 0) {
      const made = await core.secondFactors.trustBrowser(outcome.tenant, outcome.user, settings.trust_browser_days);
      setTrustCookie(request, reply, made.token, made.expiresAt);
    }
  }
  return finishPagesSignIn(core, reply, ctx, publicUrl, outcome, next);
}

/** The sign-in's code step (its form posts to login/code/), for a flow whose second factor may be one of `methods`. */
export async function renderCodeStep(core: Core, ctx: PageContext, next: string | undefined, methods: readonly string[], error?: string): Promise<string> {
  const settings = await core.settings.forTenant(ctx.tenant.pk);
  return renderMfaCode(ctx, {
    action: at(ctx, 'login/code/'), error, trustDays: settings.trust_browser_days, hidden: { next },
    cancelHref: at(ctx, 'login/') + (next ? `?next=${encodeURIComponent(next)}` : ''),
    extras: drawSignInExtras(ctx, { context: 'pages', step: 'mfa', action: at(ctx, 'login/code/'), next, methods }),
  });
}

export function mfaPageRoutes(app: FastifyInstance, d: MfaPageDeps): void {
  const { core, p, contextOf, csrfRefused } = d;

  // ---- The sign-in's code step ------------------------------------------------------------
  const codeForm = (ctx: PageContext, next: string | undefined, methods: readonly string[], error?: string) => renderCodeStep(core, ctx, next, methods, error);

  app.get(p('login/code/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const next = safeNext(queryParam(request, 'next') ?? '');
    if (!flowCookie(request)) return see(reply, at(ctx, 'login/') + (next ? `?next=${encodeURIComponent(next)}` : ''));
    return sendPage(reply, await codeForm(ctx, next, await methodsOfFlow(core, flowCookie(request))));
  });

  app.post(p('login/code/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const body = request.body;
    if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const next = safeNext(str(body, 'next'));
    const flow = flowCookie(request);
    const expired = () => {
      clearFlowCookie(reply, at(ctx, 'login/'));
      return sendPage(reply, renderSignIn(ctx, { action: at(ctx, 'login/'), error: ctx.t('signInExpired'), next }), 400);
    };
    if (!flow) return expired();
    const code = str(body, 'code').trim();
    if (!code) return sendPage(reply, await codeForm(ctx, next, await methodsOfFlow(core, flow), ctx.t('missingFields')), 400);
    let outcome: SignInOutcome;
    try {
      outcome = await core.signIn.continue(flow, { step: 'mfa_authenticate', code });
    } catch (err) {
      const c = classify(err);
      if (c.kind !== 'domain') throw err;
      if (c.error.code === 'VALIDATION_FAILED') return sendPage(reply, await codeForm(ctx, next, await methodsOfFlow(core, flow), ctx.t('mfaWrong')), 400);
      if (c.error.code === 'RATE_LIMITED') {
        if (c.error.retryAfter) reply.header('retry-after', String(c.error.retryAfter));
        return sendPage(reply, await codeForm(ctx, next, await methodsOfFlow(core, flow), ctx.t('rateLimited', { seconds: c.error.retryAfter ?? 1 })), 429);
      }
      if (c.error.code === 'ACCOUNT_LOCKED') return sendPage(reply, await codeForm(ctx, next, await methodsOfFlow(core, flow), ctx.t('accountLocked')), 401);
      if (c.error.code === 'TOKEN_INVALID' || c.error.code === 'TENANT_UNAVAILABLE') return expired();
      throw err;
    }
    return afterSecondStep(core, request, reply, ctx, d.publicUrl, outcome, str(body, 'trust') === 'yes', next, expired);
  });

  // ---- The Security page ------------------------------------------------------------------
  const signedIn = (request: FastifyRequest, reply: FastifyReply, ctx: PageContext) => signedInOrLogin(core, request, reply, ctx);
  const recent = (reply: FastifyReply, ctx: PageContext, principal: Principal, back: string) => recentOrReauthenticate(core, reply, ctx, principal, back);

  const DONE: Record<string, MessageKey> = {
    'totp-on': 'totpEnabled', 'totp-off': 'totpDisabled', 'passkey-added': 'passkeyAdded', 'passkey-renamed': 'passkeyRenamed', 'passkey-removed': 'passkeyRemoved',
  };
  const REFUSED: Record<string, MessageKey> = { 'passkey-name': 'passkeyNameRule' };

  app.get(p('security/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const principal = await signedIn(request, reply, ctx);
    if (!principal) return reply;
    const authenticators = await core.secondFactors.list(principal.user);
    const done = Object.hasOwn(DONE, queryParam(request, 'done') ?? '') ? DONE[queryParam(request, 'done')!] : undefined;
    const refused = Object.hasOwn(REFUSED, queryParam(request, 'refused') ?? '') ? REFUSED[queryParam(request, 'refused')!] : undefined;
    return sendPage(reply, renderSecurity(ctx, {
      username: principal.user.username,
      totp: authenticators.some((a) => a.type === 'totp'),
      recovery: await core.secondFactors.recoveryCodes(principal.user),
      authenticators, mustEnrol: principal.mustEnrol === true,
      done: done ? ctx.t(done) : undefined, error: refused ? ctx.t(refused) : undefined,
      sections: await drawSecuritySections(ctx, { core, principal }),
    }));
  });

  app.get(p('security/totp/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const principal = await signedIn(request, reply, ctx);
    if (!principal) return reply;
    if (!(await recent(reply, ctx, principal, at(ctx, 'security/totp/')))) return reply;
    return totpSetupPage(ctx, principal, reply);
  });

  async function totpSetupPage(ctx: PageContext, principal: Principal, reply: FastifyReply, error?: string) {
    let setup;
    try {
      setup = await core.secondFactors.totpSetup(principal.tenant, principal.user);
    } catch (err) {
      // Already on: nothing to set up.
      if (err instanceof DomainError && err.code === 'VALIDATION_FAILED') return see(reply, at(ctx, 'security/'));
      throw err;
    }
    return sendPage(reply, renderTotpSetup(ctx, { action: at(ctx, 'security/totp/'), secret: setup.secret, svg: setup.svg, error }), error ? 400 : 200);
  }

  app.post(p('security/totp/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    if (!verifyFormCsrf(request, str(request.body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const principal = await signedIn(request, reply, ctx);
    if (!principal) return reply;
    if (!(await recent(reply, ctx, principal, at(ctx, 'security/totp/')))) return reply;
    const code = str(request.body, 'code').trim();
    let made;
    try {
      made = await core.secondFactors.totpActivate(principal.tenant, principal.user, code);
    } catch (err) {
      const c = classify(err);
      if (c.kind !== 'domain') throw err;
      if (c.error.code === 'VALIDATION_FAILED') return totpSetupPage(ctx, principal, reply, code ? ctx.t('mfaWrong') : ctx.t('missingFields'));
      if (c.error.code === 'RATE_LIMITED') return totpSetupPage(ctx, principal, reply, ctx.t('rateLimited', { seconds: c.error.retryAfter ?? 1 }));
      throw err;
    }
    if (made.recoveryCodes) return sendPage(reply, renderRecoveryCodes(ctx, { codes: made.recoveryCodes, done: ctx.t('totpEnabled') }));
    return see(reply, `${at(ctx, 'security/')}?done=totp-on`);
  });

  app.post(p('security/totp/off/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    if (!verifyFormCsrf(request, str(request.body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const principal = await signedIn(request, reply, ctx);
    if (!principal) return reply;
    if (!(await recent(reply, ctx, principal, at(ctx, 'security/')))) return reply;
    try {
      await core.secondFactors.totpDeactivate(principal.tenant, principal.user);
    } catch (err) {
      if (!(err instanceof DomainError && err.code === 'NOT_FOUND')) throw err;
    }
    return see(reply, `${at(ctx, 'security/')}?done=totp-off`);
  });

  app.post(p('security/recovery-codes/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    if (!verifyFormCsrf(request, str(request.body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const principal = await signedIn(request, reply, ctx);
    if (!principal) return reply;
    if (!(await recent(reply, ctx, principal, at(ctx, 'security/')))) return reply;
    let codes;
    try {
      codes = await core.secondFactors.regenerateRecoveryCodes(principal.tenant, principal.user);
    } catch (err) {
      // No second factor: no recovery codes to make.
      if (err instanceof DomainError && err.code === 'VALIDATION_FAILED') return see(reply, at(ctx, 'security/'));
      throw err;
    }
    return sendPage(reply, renderRecoveryCodes(ctx, { codes }));
  });

  // ---- Reauthentication ---------------------------------------------------------------------
  /** Where a reauthentication may go on to: a page of the Security section of this tenant. */
  const backTo = (ctx: PageContext, next: string) => {
    const ok = safeNext(next);
    return ok && ok.startsWith(at(ctx, 'security/')) ? ok : at(ctx, 'security/');
  };
  const reauthPage = async (ctx: PageContext, principal: Principal, next: string, extra: { fields?: Record<string, string[]>; error?: string } = {}) => {
    const mine = await core.secondFactors.list(principal.user);
    return renderReauthenticate(ctx, {
      action: at(ctx, 'security/reauthenticate/'), next, secondFactor: mine.length > 0,
      passkeyHref: mine.some((a) => a.type === 'webauthn') ? `${at(ctx, 'security/reauthenticate/passkey/')}?next=${encodeURIComponent(next)}` : undefined, ...extra,
    });
  };

  app.get(p('security/reauthenticate/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const principal = await signedIn(request, reply, ctx);
    if (!principal) return reply;
    return sendPage(reply, await reauthPage(ctx, principal, backTo(ctx, queryParam(request, 'next') ?? '')));
  });

  app.post(p('security/reauthenticate/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const body = request.body;
    if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const principal = await signedIn(request, reply, ctx);
    if (!principal) return reply;
    const next = backTo(ctx, str(body, 'next'));
    const byCode = str(body, 'method') === 'code';
    try {
      if (byCode) {
        const code = str(body, 'code').trim();
        if (!code) return sendPage(reply, await reauthPage(ctx, principal, next, { fields: { code: [ctx.t('missingFields')] } }), 400);
        await core.reauthentication.withSecondFactor(principal, { code });
      } else {
        const password = str(body, 'password');
        if (!password) return sendPage(reply, await reauthPage(ctx, principal, next, { fields: { password: [ctx.t('missingFields')] } }), 400);
        await core.reauthentication.withPassword(principal, password);
      }
    } catch (err) {
      const c = classify(err);
      if (c.kind !== 'domain') throw err;
      if (c.error.code === 'VALIDATION_FAILED') {
        return sendPage(reply, await reauthPage(ctx, principal, next, { fields: byCode ? { code: [ctx.t('mfaWrong')] } : { password: [ctx.t('reauthWrongPassword')] } }), 400);
      }
      if (c.error.code === 'RATE_LIMITED') {
        if (c.error.retryAfter) reply.header('retry-after', String(c.error.retryAfter));
        return sendPage(reply, await reauthPage(ctx, principal, next, { error: ctx.t('rateLimited', { seconds: c.error.retryAfter ?? 1 }) }), 429);
      }
      if (c.error.code === 'ACCOUNT_LOCKED') return sendPage(reply, await reauthPage(ctx, principal, next, { error: ctx.t('accountLocked') }), 401);
      throw err;
    }
    return see(reply, next);
  });
}
