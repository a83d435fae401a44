// Passkeys on the hosted pages (core: mfa/passkeys.ts). A sign-in with a passkey alone
// (login/passkey/), a passkey as the sign-in's second step (login/code/passkey/, the flow's
// token in its cookie as for the code), reauthentication with a passkey, and the Security page's
// passkeys: add (behind a reauthentication), rename, remove. Each ceremony is a page whose form
// carries the options the core made and posts the browser's answer (`credential`, JSON) like any
// other form; assets/passkeys.js does the browser's part. The offers show only where a browser
// runs the script, so without JavaScript the pages look and work as before.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type Core, type Principal, type SignInOutcome, type Tenant } from '../../core/index.ts';
import { classify } from '../errors.ts';
import { verifyFormCsrf, type PageContext } from './context.ts';
import { addSecuritySection, addSignInExtra } from './extensions.ts';
import { queryParam, safeNext, str } from './forms.ts';
import { sendPage } from './layout.ts';
import { signInErrorMessage } from './messages.ts';
import { clearFlowCookie, flowCookie } from './mfa-cookies.ts';
import { afterSecondStep, finishPagesSignIn, recentOrReauthenticate, signedInOrLogin, type MfaPageDeps } from './mfa-routes.ts';
import { renderRecoveryCodes } from './mfa-views.ts';
import { passkeyOffer, passkeySection, renderPasskeyCeremony, type PasskeyCeremonyView } from './passkey-views.ts';
import { renderError, renderSignIn } from './views.ts';

const at = (ctx: PageContext, page: string) => `${ctx.prefix}/account/${page}`;
const see = (reply: FastifyReply, to: string) => reply.code(303).header('cache-control', 'no-store').redirect(to, 303);
const withNext = (path: string, next: string | undefined) => (next ? `${path}?next=${encodeURIComponent(next)}` : path);
/** A registration's answer is a few kilobytes; far more is not a credential. */
const CREDENTIAL_MAX = 64 * 1024;

/** The browser's answer of a passkey form: its `credential` field as an object, or undefined. */
export function credentialOf(body: unknown): Record<string, unknown> | undefined {
  const raw = body && typeof body === 'object' ? (body as Record<string, unknown>).credential : undefined;
  if (typeof raw !== 'string' || raw.length === 0 || raw.length > CREDENTIAL_MAX) return undefined;
  try {
    const v: unknown = JSON.parse(raw);
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}

/** The message of a passkey form posted without an answer (no script ran) or with one that is no credential. */
export const missingCredential = (ctx: PageContext, body: unknown) =>
  (body && typeof body === 'object' && (body as Record<string, unknown>).credential ? ctx.t('passkeyFailed') : ctx.t('passkeyNoScript'));

/**
 * The options for a passkey as the second step of the sign-in `flow` (its user's passkeys), or
 * undefined when the flow waits on no second factor in this tenant or its user has no passkey.
 */
export async function secondStepOptions(core: Core, tenant: Tenant, flow: string): Promise<unknown> {
  const pending = await core.signIn.pending(flow);
  if (!pending || pending.step !== 'mfa_authenticate' || pending.tenantPk !== tenant.pk) return undefined;
  try {
    return await core.passkeys.authenticationOptions(tenant, pending.user, 'authenticate');
  } catch (err) {
    if (err instanceof DomainError && err.code === 'VALIDATION_FAILED') return undefined;
    throw err;
  }
}

let registered = false;
/** The offers under the sign-in forms and the Security page's section (once per process). */
export function registerPasskeyParts(): void {
  if (registered) return;
  registered = true;
  addSignInExtra({
    name: 'passkey',
    render: (ctx, d) => {
      // The second step offers a passkey only to a user who has one.
      if (d.step === 'mfa' && !d.methods?.includes('webauthn')) return undefined;
      const href = d.context === 'pages' ? withNext(`${d.action}passkey/`, d.next) : `${d.action}/passkey`;
      return passkeyOffer(ctx, href, d.step);
    },
  });
  addSecuritySection({
    name: 'passkeys',
    // The registry outlives a server (tests build several): the core comes with each drawing.
    render: async (ctx, d) => passkeySection(ctx, (await d.core.secondFactors.list(d.principal.user)).filter((a) => a.type === 'webauthn')),
  });
}

export function passkeyPageRoutes(app: FastifyInstance, d: MfaPageDeps): void {
  const { core, p, contextOf, csrfRefused } = d;
  registerPasskeyParts();

  // ---- A sign-in with a passkey alone -------------------------------------------------------
  const loginPage = async (ctx: PageContext, next: string | undefined, error?: string) => renderPasskeyCeremony(ctx, {
    title: ctx.t('passkeySignIn'), intro: ctx.t('passkeySignInIntro', { tenant: ctx.theme.displayName }), action: at(ctx, 'login/passkey/'), mode: 'get',
    options: await core.passkeys.authenticationOptions(ctx.tenant, undefined, 'login'), button: ctx.t('passkeyUseButton'), hidden: { next }, error,
    back: { href: withNext(at(ctx, 'login/'), next), label: ctx.t('passkeyBackToPassword') },
  });

  app.get(p('login/passkey/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    return sendPage(reply, await loginPage(ctx, safeNext(queryParam(request, 'next') ?? '')));
  });

  app.post(p('login/passkey/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const body = request.body;
    if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const next = safeNext(str(body, 'next'));
    const credential = credentialOf(body);
    if (!credential) return sendPage(reply, await loginPage(ctx, next, missingCredential(ctx, body)), 400);
    let outcome: SignInOutcome;
    try {
      outcome = await core.signIn.start({ tenant: ctx.tenant.name, factor: { method: 'webauthn', response: credential }, issue: { kind: 'session' }, continuable: true });
    } catch (err) {
      const message = signInErrorMessage(ctx, err);
      if (message === undefined) throw err;
      const e = err as DomainError;
      if (e.code === 'RATE_LIMITED' && e.retryAfter) reply.header('retry-after', String(e.retryAfter));
      // Whose passkey it was is not said: one message for an unknown, a foreign and a bad credential.
      return sendPage(reply, await loginPage(ctx, next, e.code === 'INVALID_CREDENTIALS' || e.code === 'VALIDATION_FAILED' ? ctx.t('passkeyFailed') : message), e.code === 'RATE_LIMITED' ? 429 : 400);
    }
    // A passkey proves `webauthn`, the second step too; what may still wait is the e-mail.
    if (outcome.status === 'pending') return sendPage(reply, renderSignIn(ctx, { action: at(ctx, 'login/'), error: ctx.t('verifyFirst'), next }), 403);
    return finishPagesSignIn(core, reply, ctx, d.publicUrl, outcome, next);
  });

  // ---- A passkey as the sign-in's second step ----------------------------------------------
  const expiredPage = (reply: FastifyReply, ctx: PageContext, next: string | undefined) => {
    clearFlowCookie(reply, at(ctx, 'login/'));
    return sendPage(reply, renderSignIn(ctx, { action: at(ctx, 'login/'), error: ctx.t('signInExpired'), next }), 400);
  };
  /** The page, or undefined when the flow waits on no second factor of a user with a passkey. */
  const secondStepPage = async (ctx: PageContext, flow: string, next: string | undefined, error?: string): Promise<string | undefined> => {
    const options = await secondStepOptions(core, ctx.tenant, flow);
    if (!options) return undefined;
    const settings = await core.settings.forTenant(ctx.tenant.pk);
    return renderPasskeyCeremony(ctx, {
      title: ctx.t('passkeyMfaTitle'), intro: ctx.t('passkeyMfaIntro'), action: at(ctx, 'login/code/passkey/'), mode: 'get', options,
      button: ctx.t('passkeyUseButton'), hidden: { next }, error, trustDays: settings.trust_browser_days,
      back: { href: withNext(at(ctx, 'login/code/'), next), label: ctx.t('passkeyBackToCode') },
    });
  };

  app.get(p('login/code/passkey/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const next = safeNext(queryParam(request, 'next') ?? '');
    const flow = flowCookie(request);
    const page = flow ? await secondStepPage(ctx, flow, next) : undefined;
    if (!page) return see(reply, withNext(at(ctx, flow ? 'login/code/' : 'login/'), next));
    return sendPage(reply, page);
  });

  app.post(p('login/code/passkey/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const body = request.body;
    if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const next = safeNext(str(body, 'next'));
    const flow = flowCookie(request);
    if (!flow) return expiredPage(reply, ctx, next);
    const again = async (error: string, status: number) => {
      const page = await secondStepPage(ctx, flow, next, error);
      return page ? sendPage(reply, page, status) : expiredPage(reply, ctx, next);
    };
    const credential = credentialOf(body);
    if (!credential) return again(missingCredential(ctx, body), 400);
    let outcome: SignInOutcome;
    try {
      outcome = await core.signIn.continue(flow, { step: 'mfa_authenticate', webauthn: credential });
    } catch (err) {
      const c = classify(err);
      if (c.kind !== 'domain') throw err;
      if (c.error.code === 'VALIDATION_FAILED') return again(ctx.t('passkeyFailed'), 400);
      if (c.error.code === 'RATE_LIMITED') {
        if (c.error.retryAfter) reply.header('retry-after', String(c.error.retryAfter));
        return again(ctx.t('rateLimited', { seconds: c.error.retryAfter ?? 1 }), 429);
      }
      if (c.error.code === 'ACCOUNT_LOCKED') return again(ctx.t('accountLocked'), 401);
      if (c.error.code === 'TOKEN_INVALID' || c.error.code === 'TENANT_UNAVAILABLE') return expiredPage(reply, ctx, next);
      throw err;
    }
    return afterSecondStep(core, request, reply, ctx, d.publicUrl, outcome, str(body, 'trust') === 'yes', next, () => expiredPage(reply, ctx, next));
  });

  // ---- Reauthentication with a passkey ------------------------------------------------------
  const backTo = (ctx: PageContext, next: string) => {
    const ok = safeNext(next);
    return ok && ok.startsWith(at(ctx, 'security/')) ? ok : at(ctx, 'security/');
  };
  const reauthPage = async (ctx: PageContext, principal: Principal, next: string, error?: string) => renderPasskeyCeremony(ctx, {
    title: ctx.t('reauthTitle'), intro: ctx.t('passkeyReauthIntro'), action: at(ctx, 'security/reauthenticate/passkey/'), mode: 'get',
    options: await core.passkeys.authenticationOptions(principal.tenant, principal.user, 'reauthenticate'), button: ctx.t('passkeyUseButton'), hidden: { next }, error,
    back: { href: withNext(at(ctx, 'security/reauthenticate/'), next), label: ctx.t('passkeyBackToReauth') },
  });
  const hasPasskey = async (principal: Principal) => (await core.secondFactors.list(principal.user)).some((a) => a.type === 'webauthn');

  app.get(p('security/reauthenticate/passkey/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const principal = await signedInOrLogin(core, request, reply, ctx);
    if (!principal) return reply;
    const next = backTo(ctx, queryParam(request, 'next') ?? '');
    if (!(await hasPasskey(principal))) return see(reply, withNext(at(ctx, 'security/reauthenticate/'), next));
    return sendPage(reply, await reauthPage(ctx, principal, next));
  });

  app.post(p('security/reauthenticate/passkey/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const body = request.body;
    if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const principal = await signedInOrLogin(core, request, reply, ctx);
    if (!principal) return reply;
    const next = backTo(ctx, str(body, 'next'));
    if (!(await hasPasskey(principal))) return see(reply, withNext(at(ctx, 'security/reauthenticate/'), next));
    const credential = credentialOf(body);
    if (!credential) return sendPage(reply, await reauthPage(ctx, principal, next, missingCredential(ctx, body)), 400);
    try {
      await core.reauthentication.withSecondFactor(principal, { webauthn: credential });
    } catch (err) {
      const c = classify(err);
      if (c.kind !== 'domain') throw err;
      if (c.error.code === 'VALIDATION_FAILED') return sendPage(reply, await reauthPage(ctx, principal, next, ctx.t('passkeyFailed')), 400);
      if (c.error.code === 'RATE_LIMITED') {
        if (c.error.retryAfter) reply.header('retry-after', String(c.error.retryAfter));
        return sendPage(reply, await reauthPage(ctx, principal, next, ctx.t('rateLimited', { seconds: c.error.retryAfter ?? 1 })), 429);
      }
      if (c.error.code === 'ACCOUNT_LOCKED') return sendPage(reply, await reauthPage(ctx, principal, next, ctx.t('accountLocked')), 401);
      throw err;
    }
    return see(reply, next);
  });

  // ---- The Security page's passkeys -----------------------------------------------------------
  const ADD = 'security/passkeys/add/';
  const addPage = async (ctx: PageContext, principal: Principal, name: string, extra: Pick<PasskeyCeremonyView, 'error'> & { nameErrors?: string[] } = {}) => renderPasskeyCeremony(ctx, {
    title: ctx.t('passkeyAddTitle'), intro: ctx.t('passkeyAddIntro'), action: at(ctx, ADD), mode: 'create',
    options: await core.passkeys.registrationOptions(principal.tenant, principal.user), button: ctx.t('passkeyCreateButton'),
    name: { value: name, errors: extra.nameErrors ? { name: extra.nameErrors } : undefined }, error: extra.error,
    back: { href: at(ctx, 'security/'), label: ctx.t('backToSecurity') },
  });

  app.get(p(ADD), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const principal = await signedInOrLogin(core, request, reply, ctx);
    if (!principal) return reply;
    if (!(await recentOrReauthenticate(core, reply, ctx, principal, at(ctx, ADD)))) return reply;
    return sendPage(reply, await addPage(ctx, principal, ctx.t('typeWebauthn')));
  });

  app.post(p(ADD), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    const body = request.body;
    if (!verifyFormCsrf(request, str(body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const principal = await signedInOrLogin(core, request, reply, ctx);
    if (!principal) return reply;
    if (!(await recentOrReauthenticate(core, reply, ctx, principal, at(ctx, ADD)))) return reply;
    const name = str(body, 'name').trim();
    const credential = credentialOf(body);
    if (!credential) return sendPage(reply, await addPage(ctx, principal, name, { error: missingCredential(ctx, body) }), 400);
    let made;
    try {
      made = await core.passkeys.register(principal.tenant, principal.user, credential, name);
    } catch (err) {
      const c = classify(err);
      if (c.kind !== 'domain' || c.error.code !== 'VALIDATION_FAILED') throw err;
      if (c.error.fields?.name) return sendPage(reply, await addPage(ctx, principal, name, { nameErrors: [ctx.t('passkeyNameRule')] }), 400);
      return sendPage(reply, await addPage(ctx, principal, name, { error: ctx.t('passkeyNotAdded') }), 400);
    }
    if (made.recoveryCodes) return sendPage(reply, renderRecoveryCodes(ctx, { codes: made.recoveryCodes, done: ctx.t('passkeyAdded') }));
    return see(reply, `${at(ctx, 'security/')}?done=passkey-added`);
  });

  /** The signed-in user's passkey named by the form's `id`, behind a recent reauthentication. */
  const ownPasskey = async (request: FastifyRequest, reply: FastifyReply, ctx: PageContext): Promise<{ principal: Principal; id: number } | undefined> => {
    const principal = await signedInOrLogin(core, request, reply, ctx);
    if (!principal) return undefined;
    if (!(await recentOrReauthenticate(core, reply, ctx, principal, at(ctx, 'security/')))) return undefined;
    const id = Number(str(request.body, 'id'));
    const mine = (await core.secondFactors.list(principal.user)).some((a) => a.type === 'webauthn' && a.id === id);
    if (!Number.isSafeInteger(id) || !mine) {
      await sendPage(reply, renderError(ctx, { status: 404, title: ctx.t('notFoundTitle'), message: ctx.t('passkeyGone'), link: { href: at(ctx, 'security/'), label: ctx.t('backToSecurity') } }), 404);
      return undefined;
    }
    return { principal, id };
  };

  app.post(p('security/passkeys/rename/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    if (!verifyFormCsrf(request, str(request.body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const own = await ownPasskey(request, reply, ctx);
    if (!own) return reply;
    try {
      await core.passkeys.rename(own.principal.user, own.id, str(request.body, 'name'));
    } catch (err) {
      if (!(err instanceof DomainError && err.code === 'VALIDATION_FAILED')) throw err;
      return see(reply, `${at(ctx, 'security/')}?refused=passkey-name`);
    }
    return see(reply, `${at(ctx, 'security/')}?done=passkey-renamed`);
  });

  app.post(p('security/passkeys/remove/'), { schema: { hide: true } }, async (request, reply) => {
    const ctx = await contextOf(request, reply);
    if (!verifyFormCsrf(request, str(request.body, 'csrf_token'))) return csrfRefused(reply, ctx);
    const own = await ownPasskey(request, reply, ctx);
    if (!own) return reply;
    await core.secondFactors.remove(own.principal.tenant, own.principal.user, own.id);
    return see(reply, `${at(ctx, 'security/')}?done=passkey-removed`);
  });
}
