// What every headless route needs: which client is calling (`browser` or `app`), what the request
// holds (a signed-in session, a pending sign-in, a pending login-by-code, or a session token that no
// longer stands), the presenters of the specification's answers, and its error shape. Route modules
// (auth-routes.ts, account-routes.ts, and the passkeys' and providers' modules) use these only.
//
// State, per client:
//   browser: the `sessionid` cookie (the same session as the hosted pages and REST-auth) and, while a
//            sign-in is pending, the HttpOnly `allauth_state` cookie; unsafe methods need `X-CSRFToken`
//            equal to the `csrftoken` cookie (and to the session's token once signed in) and a trusted Origin.
//   app:     `X-Session-Token`: a session's token once signed in (`<id>.<secret>`), and while a sign-in
//            is pending the token of the pending flow (`flow:<token>`, `code:<token>`, a sign-up by
//            passkey's `signup:<token>`): the session
//            token stands for the flow until it completes. A token that does not stand is 410.
import crypto from 'node:crypto';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Core, PendingStep, Principal, SignInOutcome, Tenant, User } from '../../../core/index.ts';
import { DomainError, requireFullSignIn } from '../../../core/index.ts';
import { classify, unavailable } from '../../errors.ts';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import { refuseUntrustedOrigin } from '../../plugins/trusted-origins.ts';
import { setSessionCookies } from '../../plugins/session-cookies.ts';

export type HeadlessClient = 'app' | 'browser';

export interface HeldFlow {
  /** `signup`: a sign-up by passkey waiting on its passkey (core: accounts/passkey-signup.ts); no account yet. */
  kind: 'flow' | 'code' | 'signup';
  token: string;
  /** The step it waits on (`login_by_code` for a code request, `mfa_signup_webauthn` for a sign-up by passkey). */
  step: PendingStep | 'login_by_code' | 'mfa_signup_webauthn';
  /** The account the pending sign-in is for (not known for a code request). */
  user?: User;
}

export interface Held {
  client: HeadlessClient;
  principal?: Principal;
  flow?: HeldFlow;
  /** An app's session token that does not (or no longer) stand(s): 410. */
  gone?: boolean;
  /** The refresh-token family handed out with an app's session (its token's `~<family>` part): signing out ends it too. */
  familyId?: string;
}

declare module 'fastify' {
  interface FastifyRequest {
    headless?: Held;
  }
}

export const STATE_COOKIE = 'allauth_state';
export const TRUST_COOKIE = 'allauth_trust';
const UNSAFE = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

export const clientOf = (request: FastifyRequest): HeadlessClient => (request.url.startsWith('/_allauth/app/') ? 'app' : 'browser');

/** Parses the pending-flow handle a client holds (`flow:<token>`, `code:<token>` or `signup:<token>`). */
function parseFlowHandle(value: string): { kind: HeldFlow['kind']; token: string } | undefined {
  const m = /^(flow|code|signup):([\w-]{1,200})$/.exec(value);
  return m ? { kind: m[1] as HeldFlow['kind'], token: m[2]! } : undefined;
}

/** The CSRF token a browser request carries: the header, else a form's `csrfmiddlewaretoken`. */
function csrfOf(request: FastifyRequest): string | undefined {
  const header = request.headers['x-csrftoken'];
  if (typeof header === 'string') return header;
  const body = request.body as Record<string, unknown> | undefined;
  const isForm = (request.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
  return isForm && body && typeof body.csrfmiddlewaretoken === 'string' ? body.csrfmiddlewaretoken : undefined;
}

/** Reads what the request holds: run once per request, before validation (index.ts). */
export async function readHeld(core: Core, request: FastifyRequest): Promise<Held> {
  const client = clientOf(request);
  const held: Held = { client };
  const asked = requestedTenant(request);
  const tenantOk = async (tenantPk: number) => {
    if (asked === undefined) return (await core.tenants.resolve(undefined)).pk === tenantPk;
    const t = await core.tenants.findByName(asked);
    return t !== undefined && t.pk === tenantPk;
  };
  // The token comes in `X-CSRFToken`, or, from a plain HTML form (the provider redirect is one), as
  // Django's `csrfmiddlewaretoken` field.
  const csrf = csrfOf(request);
  if (client === 'browser' && UNSAFE.has(request.method)) {
    refuseUntrustedOrigin(request);
    const header = csrf;
    const cookie = request.cookies?.csrftoken;
    if (typeof header !== 'string' || !cookie || header.length > 200 || !crypto.timingSafeEqual(Buffer.from(sha(header)), Buffer.from(sha(cookie)))) {
      throw new DomainError('CSRF_FAILED', 'CSRF Failed: CSRF token missing or incorrect.');
    }
  }
  let sessionValue = client === 'app' ? headerOf(request, 'x-session-token') : request.cookies?.sessionid;
  // An app's session token is `<session>~<family>` when tokens came with it (see answerOutcome).
  const tilde = client === 'app' && sessionValue ? sessionValue.indexOf('~') : -1;
  let familyId: string | undefined;
  if (tilde > 0) {
    const fam = sessionValue!.slice(tilde + 1);
    familyId = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/.test(fam) ? fam : undefined;
    sessionValue = sessionValue!.slice(0, tilde);
  }
  const stateValue = client === 'app' ? sessionValue : request.cookies?.[STATE_COOKIE];
  if (sessionValue !== undefined && sessionValue !== '' && !/^(flow|code|signup):/.test(sessionValue)) {
    const found = await core.credentials.session(sessionValue);
    if (found && (await tenantOk(found.principal.tenant.pk))) {
      if (client === 'browser' && UNSAFE.has(request.method) && !found.csrfOk(csrf)) {
        throw new DomainError('CSRF_FAILED', 'CSRF Failed: CSRF token missing or incorrect.');
      }
      held.principal = found.principal;
      held.familyId = familyId;
      return held;
    }
    if (client === 'app') held.gone = true;
    return held;
  }
  if (stateValue) {
    const handle = parseFlowHandle(stateValue);
    if (handle?.kind === 'flow') {
      const p = await core.signIn.pending(handle.token);
      if (p && (await tenantOk(p.tenantPk))) held.flow = { kind: 'flow', token: handle.token, step: p.step, user: p.user };
    } else if (handle?.kind === 'code') {
      held.flow = { kind: 'code', token: handle.token, step: 'login_by_code' };
    } else if (handle?.kind === 'signup') {
      // Another tenant's sign-up (X-Tenant) does not stand here.
      const p = await core.passkeySignup.pending(handle.token);
      if (p && (await tenantOk(p.tenantPk))) held.flow = { kind: 'signup', token: handle.token, step: 'mfa_signup_webauthn' };
    }
    if (!held.flow && client === 'app') held.gone = true;
  }
  return held;
}

const sha = (s: string) => crypto.hash('sha256', s, 'hex');
const headerOf = (request: FastifyRequest, name: string): string | undefined => {
  const v = request.headers[name];
  return typeof v === 'string' ? v : undefined;
};

/** The signed-in caller, or NOT_AUTHENTICATED (401 with the flows, or 410 for an app's dead token). */
export function signedIn(request: FastifyRequest): Principal {
  const p = request.headless?.principal;
  if (!p) throw new DomainError('NOT_AUTHENTICATED', 'Not signed in.');
  requireFullSignIn(p, request.routeOptions.config?.enrolment === true);
  return p;
}

/** A pending flow of this kind and step, or 409 (the specification's "flow not pending"). */
export function pendingFlow(request: FastifyRequest, step: HeldFlow['step']): HeldFlow {
  const f = request.headless?.flow;
  if (!f || f.step !== step) throw new DomainError('TOKEN_INVALID', 'There is no such sign-in pending.');
  return f;
}

/** 409 when someone is signed in already (login, signup). */
export function refuseIfSignedIn(request: FastifyRequest): void {
  if (request.headless?.principal) throw new DomainError('TOKEN_INVALID', 'Already signed in.', { step: 'conflict' });
}

// Presenters.

export const ts = (ms: number) => ms / 1000;

export function presentUser(u: User) {
  const display = [u.firstName, u.lastName].filter(Boolean).join(' ') || u.username;
  return { id: u.pk, display, has_usable_password: u.passwordHash !== null, email: u.email || undefined, username: u.username };
}

const MFA_TYPE: Record<string, string> = { otp: 'totp', rc: 'recovery_codes', webauthn: 'webauthn' };

/** What a session's sign-in proved, as the specification's `methods`. */
export function presentMethods(amr: readonly string[], at: number, user: User) {
  const out: Array<Record<string, unknown>> = [];
  for (const m of amr) {
    if (m === 'pwd') out.push({ method: 'password', at: ts(at), ...(user.email ? { email: user.email } : { username: user.username }) });
    else if (m === 'code') out.push({ method: 'code', at: ts(at), email: user.email });
    else if (MFA_TYPE[m]) out.push({ method: 'mfa', at: ts(at), type: MFA_TYPE[m] });
  }
  return out;
}

export interface Extensions {
  /** Providers for `config` and the `provider_*` flows (providers.ts). */
  providers: Array<(core: Core, tenant: Tenant) => Promise<Array<{ id: string; name: string; client_id?: string; openid_configuration_url?: string; flows: string[] }>>>;
  /** Second-factor types besides TOTP and recovery codes (passkeys: `webauthn`). */
  mfaTypes: string[];
  /** First flows besides login, login_by_code and signup (passkeys: `mfa_login_webauthn`, as django-allauth lists it). */
  firstFlows: string[];
}

export const extensions: Extensions = { providers: [], mfaTypes: [], firstFlows: [] };

export async function tenantOf(core: Core, request: FastifyRequest): Promise<Tenant> {
  return request.headless?.principal?.tenant ?? core.tenants.resolve(requestedTenant(request));
}

export async function providerList(core: Core, tenant: Tenant) {
  const lists = await Promise.all(extensions.providers.map((f) => f(core, tenant)));
  return lists.flat();
}

/** The flows an unauthenticated client may start, with the pending one marked. */
export async function flowsFor(core: Core, request: FastifyRequest): Promise<Array<Record<string, unknown>>> {
  const tenant = await tenantOf(core, request);
  const settings = await core.settings.forTenant(tenant.pk);
  const flows: Array<Record<string, unknown>> = [{ id: 'login' }, { id: 'login_by_code' }];
  if (settings.registration_enabled) flows.push({ id: 'signup' });
  for (const id of extensions.firstFlows) flows.push({ id });
  const providers = await providerList(core, tenant);
  const redirect = providers.filter((p) => p.flows.includes('provider_redirect')).map((p) => p.id);
  const token = providers.filter((p) => p.flows.includes('provider_token')).map((p) => p.id);
  if (redirect.length) flows.push({ id: 'provider_redirect', providers: redirect });
  if (token.length) flows.push({ id: 'provider_token', providers: token });
  const f = request.headless?.flow;
  if (f) {
    const id = f.step === 'mfa_enroll' ? 'mfa_authenticate' : f.step;
    const entry: Record<string, unknown> = flows.find((x) => x.id === id) ?? { id };
    if (!flows.includes(entry)) flows.push(entry);
    entry.is_pending = true;
    if (id === 'mfa_authenticate' && f.user) entry.types = [...new Set((await core.secondFactors.list(f.user)).map((a) => a.type))];
  }
  return flows;
}

/** Keeps (or forgets) the pending flow: a cookie for browsers; for apps it is `meta.session_token`. */
function holdFlow(request: FastifyRequest, reply: FastifyReply, handle: string | undefined): string | undefined {
  const client = request.headless?.client ?? clientOf(request);
  if (client === 'app') return handle;
  if (handle) reply.setCookie(STATE_COOKIE, handle, { path: '/_allauth/browser/', httpOnly: true, sameSite: 'lax', secure: request.server.trustedOrigins.secure, maxAge: 15 * 60 });
  else if (request.cookies?.[STATE_COOKIE]) reply.clearCookie(STATE_COOKIE, { path: '/_allauth/browser/' });
  return undefined;
}

/** 401 with the flows: a sign-in waits on `held`. */
export async function answerPending(core: Core, request: FastifyRequest, reply: FastifyReply, flow: HeldFlow) {
  request.headless = { ...(request.headless ?? { client: clientOf(request) }), flow, principal: undefined, gone: false };
  const sessionToken = holdFlow(request, reply, `${flow.kind}:${flow.token}`);
  const flows = await flowsFor(core, request);
  return reply.code(401).send({ status: 401, data: { flows }, meta: { is_authenticated: false, ...(sessionToken ? { session_token: sessionToken } : {}) } });
}

/** Presents what a sign-in came to: 200 with the session (and tokens, for apps), or 401 with the pending step. */
export async function answerOutcome(core: Core, request: FastifyRequest, reply: FastifyReply, outcome: SignInOutcome) {
  if (outcome.status === 'pending') {
    return answerPending(core, request, reply, { kind: 'flow', token: outcome.flowToken, step: outcome.step, user: outcome.user });
  }
  const issued = outcome.issued;
  if (issued.kind !== 'session') throw new Error('headless sign-ins issue sessions');
  holdFlow(request, reply, undefined);
  const client = request.headless?.client ?? clientOf(request);
  const meta: Record<string, unknown> = { is_authenticated: true };
  if (client === 'browser') setSessionCookies(reply, issued.session, request.server.trustedOrigins.own);
  else {
    meta.session_token = issued.session.cookie;
    if (issued.tokens) {
      // The token family goes with the session: the session token names it, so signing out ends both.
      const fam = familyOf(issued.tokens.access);
      if (fam) meta.session_token = `${issued.session.cookie}~${fam}`;
      meta.access_token = issued.tokens.access;
      meta.refresh_token = issued.tokens.refresh;
    }
  }
  return reply.code(200).send({ status: 200, data: { user: presentUser(outcome.user), methods: presentMethods(outcome.amr, core.clock.now(), outcome.user) }, meta });
}

/** The refresh family (`fam`) of an access token this server has just signed. */
function familyOf(access: string): string | undefined {
  try {
    const claims = JSON.parse(Buffer.from(access.split('.')[1] ?? '', 'base64url').toString('utf8')) as { fam?: unknown };
    return typeof claims.fam === 'string' ? claims.fam : undefined;
  } catch {
    return undefined;
  }
}

/** Signs the caller out: its session, and for an app the token family that came with it (if it is the caller's own). */
export async function signOutHeld(core: Core, request: FastifyRequest): Promise<void> {
  const p = request.headless?.principal;
  if (!p) return;
  const fam = request.headless?.familyId;
  if (fam) {
    await core.signIns.revoke(p, `jwt:${fam}`).catch((err) => {
      if (!(err instanceof DomainError && err.code === 'NOT_FOUND')) throw err;
    });
  }
  await core.signOut.signOut(p);
}

/** 200 with the signed-in session (GET auth/session, reauthentication). */
export function answerAuthenticated(core: Core, p: Principal, extraAmr: string[] = []) {
  const amr = [...new Set([...(p.amr ?? []), ...extraAmr])];
  return { status: 200 as const, data: { user: presentUser(p.user), methods: presentMethods(amr, p.authenticatedAt ?? core.clock.now(), p.user) }, meta: { is_authenticated: true } };
}

/** The Issue of a headless sign-in: a session, with an access/refresh pair for apps. */
export const issueFor = (request: FastifyRequest) => ({ kind: 'session' as const, withTokens: (request.headless?.client ?? clientOf(request)) === 'app' });

// Errors: the specification's shape `{status, errors: [{message, code, param}]}`.

const CODE_OF: Record<string, string> = {
  'Incorrect code.': 'incorrect_code',
  'Incorrect password.': 'incorrect_password',
  'Enter a valid email address.': 'invalid',
  'This field is required.': 'required',
};

export function errorItems(fields: Record<string, string[]> | undefined, fallback: string, rename: Record<string, string> = {}) {
  const items: Array<{ message: string; code: string; param?: string }> = [];
  for (const [field, messages] of Object.entries(fields ?? {})) {
    for (const message of messages) {
      const param = field === 'non_field_errors' ? undefined : (rename[field] ?? field);
      items.push({ message, code: CODE_OF[message] ?? 'invalid', ...(param ? { param } : {}) });
    }
  }
  return items.length ? items : [{ message: fallback, code: 'invalid' }];
}

const withErrors = (status: number, message: string, code: string, param?: string) => ({ status, errors: [{ message, code, ...(param ? { param } : {}) }] });

/** The dialect's error handler: every refusal in the specification's shape, never a 500 for bad input. */
export function headlessErrorHandler(core: Core) {
  return async (err: unknown, request: FastifyRequest, reply: FastifyReply) => {
    const c = classify(err, request.headers['content-type']);
    const held = request.headless;
    // The refusal's body is built here in the specification's shape, not a route's answer: a route's
    // response schema for the same status (GET totp's 404 carries `meta`) must not reshape it.
    const send = (status: number, body: unknown) => reply.code(status).serializer(JSON.stringify).send(body);
    if (c.kind === 'validation') {
      // `/_allauth/<not a client>/v1/...`: no such path.
      if (c.part === 'params') return send(404, withErrors(404, 'Not found.', 'not_found'));
      const rename = request.routeOptions.config?.fieldNames ?? {};
      const items = c.errors.length && c.part === 'body' ? errorItems(c.fields, 'Invalid input.', rename) : errorItems(c.fields, `Invalid ${c.part}.`);
      return send(400, { status: 400, errors: items });
    }
    if (c.kind === 'http') return send(c.status === 415 ? 400 : c.status >= 400 && c.status < 500 ? 400 : c.status, withErrors(400, c.message, 'invalid'));
    if (c.kind === 'unavailable') return send(503, withErrors(503, unavailable(request, reply, err), 'unavailable'));
    if (c.kind === 'internal') {
      request.log.error({ err }, 'unhandled error');
      return send(500, { status: 500, errors: [{ message: 'Internal server error.', code: 'internal' }] });
    }
    const e = c.error;
    switch (e.code) {
      case 'VALIDATION_FAILED':
        return send(400, { status: 400, errors: errorItems(e.fields, e.message, request.routeOptions.config?.fieldNames ?? {}) });
      case 'INVALID_CREDENTIALS':
        return send(400, withErrors(400, 'The email address and/or password you specified are not correct.', 'email_password_mismatch', 'password'));
      case 'NOT_AUTHENTICATED':
      case 'SIGN_IN_PENDING': {
        if (held?.client === 'app' && held.gone) {
          return send(410, { status: 410, data: { flows: await flowsFor(core, request) }, meta: { is_authenticated: false } });
        }
        return send(401, { status: 401, data: { flows: await flowsFor(core, request) }, meta: { is_authenticated: false } });
      }
      case 'REAUTHENTICATION_REQUIRED': {
        const p = held?.principal;
        if (!p) return send(401, { status: 401, data: { flows: await flowsFor(core, request) }, meta: { is_authenticated: false } });
        const flows: Array<Record<string, unknown>> = [];
        if (p.user.passwordHash !== null) flows.push({ id: 'reauthenticate' });
        const types = [...new Set((await core.secondFactors.list(p.user)).map((a) => a.type))];
        if (types.some((t) => t === 'totp' || t === 'webauthn')) flows.push({ id: 'mfa_reauthenticate', types });
        return send(401, { status: 401, data: { flows, ...answerAuthenticated(core, p).data }, meta: { is_authenticated: true } });
      }
      case 'TOKEN_INVALID':
        return send(409, withErrors(409, e.message, 'conflict'));
      case 'RATE_LIMITED':
        if (e.retryAfter) reply.header('retry-after', String(e.retryAfter));
        return send(429, withErrors(429, e.message, 'too_many_requests'));
      case 'ACCOUNT_LOCKED':
        return send(400, withErrors(400, e.message, 'too_many_login_attempts'));
      case 'CSRF_FAILED':
        return send(403, withErrors(403, e.message, 'csrf_failed'));
      case 'PERMISSION_DENIED':
        return send(403, withErrors(403, e.message, 'forbidden'));
      case 'NOT_FOUND':
        return send(404, withErrors(404, e.message, 'not_found'));
      case 'TENANT_UNAVAILABLE':
        return send(400, withErrors(400, e.message, 'invalid', 'tenant'));
      case 'INVALID_CLIENT':
        return send(400, withErrors(400, e.message, 'invalid_client'));
      case 'UNAUTHORIZED_CLIENT':
        return send(403, withErrors(403, e.message, 'unauthorized_client'));
      case 'INVALID_SCOPE':
        return send(400, withErrors(400, e.message, 'invalid_scope'));
      case 'UNAVAILABLE':
        return send(503, withErrors(503, e.message, 'unavailable'));
    }
  };
}
