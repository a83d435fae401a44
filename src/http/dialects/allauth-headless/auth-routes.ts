// The headless API's authentication endpoints: config, the current session, login, signup,
// reauthentication, e-mail verification, password reset, the second factor, login by code.
import crypto from 'node:crypto';
import { Type } from '@sinclair/typebox';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type Core } from '../../../core/index.ts';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import { clearSessionCookie } from '../../plugins/session-cookies.ts';
import {
  AuthenticatedResponse, AuthenticationResponse, Client, ConfigurationResponse, ConfirmLoginCodeBody, ConflictResponse, EmailVerificationInfo,
  ErrorResponse, LoginBody, MFAAuthenticateBody, MFATrustBody, PasswordResetInfo, ReauthenticateBody, RequestLoginCodeBody,
  RequestPasswordBody, ResetPasswordBody, SessionTokenHeader, SignupBody, StatusOKResponse, VerifyEmailBody,
  common, tags, type Options, type TypedApp,
} from './schemas.ts';
import {
  TRUST_COOKIE, answerAuthenticated, answerOutcome, answerPending, flowsFor, extensions, issueFor, pendingFlow, providerList, refuseIfSignedIn, signedIn,
  tenantOf, presentUser, STATE_COOKIE, signOutHeld,
} from './kit.ts';

const P = '/_allauth/:client/v1';
const params = Client;
const headers = SessionTokenHeader;

/** A browser without a `csrftoken` cookie gets one (Django's ensure_csrf_cookie): its first unsafe request needs it. */
export function ensureCsrfCookie(request: FastifyRequest, reply: FastifyReply): void {
  if (request.headless?.client !== 'browser' || request.cookies?.csrftoken) return;
  reply.setCookie('csrftoken', crypto.randomBytes(32).toString('base64url'), { path: '/', httpOnly: false, sameSite: 'lax', secure: request.server.trustedOrigins.secure, maxAge: 365 * 86400 });
}

const unauthenticated = async (core: Core, request: FastifyRequest, reply: FastifyReply) =>
  reply.code(401).send({ status: 401, data: { flows: await flowsFor(core, request) }, meta: { is_authenticated: false } });

/** The trust token a browser keeps after "trust this browser". */
const trustTokenOf = (request: FastifyRequest) => (request.headless?.client === 'browser' ? request.cookies?.[TRUST_COOKIE] : undefined);

export async function authRoutes(app: TypedApp, { core }: Options) {
  app.get(`${P}/config`, {
    schema: {
      tags: tags('configuration'), summary: 'Get configuration', description: 'What is on for the tenant (X-Tenant): no phone numbers; providers as configured; the second-factor types.',
      params, response: { ...common, 200: ConfigurationResponse },
    },
  }, async (request, reply) => {
    ensureCsrfCookie(request, reply);
    const tenant = await tenantOf(core, request);
    const settings = await core.settings.forTenant(tenant.pk);
    return {
      status: 200,
      data: {
        account: {
          authentication_method: 'username_email', login_methods: ['email', 'username'], is_open_for_signup: settings.registration_enabled,
          email_verification_by_code_enabled: false, login_by_code_enabled: true, password_reset_by_code_enabled: false,
        },
        socialaccount: { providers: await providerList(core, tenant) },
        mfa: {
          supported_types: ['recovery_codes', 'totp', ...extensions.mfaTypes],
          passkey_login_enabled: extensions.mfaTypes.includes('webauthn'),
          passkey_signup_enabled: extensions.mfaTypes.includes('webauthn') && settings.registration_enabled,
        },
        usersessions: { track_activity: false },
      },
    };
  });

  app.get(`${P}/auth/session`, {
    config: { enrolment: true },
    schema: {
      tags: tags('current session'), summary: 'Get authentication status', params, headers,
      response: { ...common, 200: AuthenticatedResponse, 401: AuthenticationResponse },
    },
  }, async (request, reply) => {
    ensureCsrfCookie(request, reply);
    const p = request.headless?.principal;
    if (!p) throw new DomainError('NOT_AUTHENTICATED', 'Not signed in.');
    return answerAuthenticated(core, p);
  });

  app.delete(`${P}/auth/session`, {
    config: { enrolment: true },
    schema: { tags: tags('current session'), summary: 'Logout', params, headers, response: { ...common, 401: AuthenticationResponse } },
  }, async (request, reply) => {
    await signOutHeld(core, request);
    if (request.headless?.client === 'browser') {
      clearSessionCookie(reply);
      if (request.cookies?.[STATE_COOKIE]) reply.clearCookie(STATE_COOKIE, { path: '/_allauth/browser/' });
    }
    request.headless = { client: request.headless!.client };
    return unauthenticated(core, request, reply);
  });

  app.post(`${P}/auth/login`, {
    config: { credentialAnswer: true },
    schema: {
      tags: tags('account'), summary: 'Login', description: 'Login using a username-password or email-password combination. A second factor, when the account has one, is the pending `mfa_authenticate` flow (401).',
      params, body: LoginBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    refuseIfSignedIn(request);
    const { username, email, phone, password } = request.body;
    if (username === undefined && email === undefined && phone !== undefined) throw new DomainError('VALIDATION_FAILED', 'phone', { fields: { phone: ['Phone numbers are not supported.'] } });
    const factor = username !== undefined
      ? { method: 'password' as const, by: 'username' as const, identifier: username, password }
      : { method: 'password' as const, by: 'email' as const, identifier: email!, password };
    const outcome = await core.signIn.start({ tenant: requestedTenant(request), factor, issue: issueFor(request), continuable: true, trustToken: trustTokenOf(request) });
    return answerOutcome(core, request, reply, outcome);
  });

  app.post(`${P}/auth/signup`, {
    config: { credentialAnswer: true, fieldNames: { password1: 'password', new_password2: 'password', non_field_errors: 'password' } },
    schema: {
      tags: tags('account'), summary: 'Signup', description: 'A username, and an e-mail address when the tenant makes verified addresses mandatory (then the pending flow is `verify_email`). Without a username, the e-mail address is the username.',
      params, body: SignupBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    refuseIfSignedIn(request);
    const { username, email, phone, password } = request.body;
    if (phone !== undefined) throw new DomainError('VALIDATION_FAILED', 'phone', { fields: { phone: ['Phone numbers are not supported.'] } });
    const name = username ?? email;
    if (name === undefined) throw new DomainError('VALIDATION_FAILED', 'no name', { fields: { username: ['This field is required.'] } });
    await core.registration.register(requestedTenant(request), { username: name, email, password1: password, password2: password }, { signIn: false });
    const outcome = await core.signIn.start({
      tenant: requestedTenant(request), factor: { method: 'password', by: 'username', identifier: name, password }, issue: issueFor(request), continuable: true,
    });
    return answerOutcome(core, request, reply, outcome);
  });

  app.post(`${P}/auth/reauthenticate`, {
    schema: {
      tags: tags('account'), summary: 'Reauthenticate', description: 'Proves a signed-in session again with its password (the `reauthenticate` flow).',
      params, headers, body: ReauthenticateBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse },
    },
  }, async (request) => {
    const p = signedIn(request);
    await core.reauthentication.withPassword(p, request.body.password);
    return answerAuthenticated(core, { ...p, authenticatedAt: core.clock.now() }, ['pwd']);
  });

  app.get(`${P}/auth/email/verify`, {
    schema: {
      tags: tags('account'), summary: 'Get email verification information', params,
      headers: Type.Object({ 'x-email-verification-key': Type.String({ description: 'The email verification key', maxLength: 500 }) }),
      response: { ...common, 200: EmailVerificationInfo, 400: ErrorResponse, 409: ConflictResponse },
    },
  }, async (request) => {
    const { email, user } = await core.emailVerification.describe(String(request.headers['x-email-verification-key']));
    const f = request.headless?.flow;
    return { status: 200, data: { email, user: presentUser(user) }, meta: { is_authenticating: f?.step === 'verify_email' && f.user?.pk === user.pk } };
  });

  app.post(`${P}/auth/email/verify`, {
    schema: {
      tags: tags('account'), summary: 'Verify an email', description: 'Confirms the address with the key of the link sent to it; continues a sign-in waiting on it.',
      params, headers, body: VerifyEmailBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    const f = request.headless?.flow;
    if (f?.kind === 'flow' && f.step === 'verify_email') {
      return answerOutcome(core, request, reply, await core.signIn.continue(f.token, { step: 'verify_email', key: request.body.key }));
    }
    await core.emailVerification.verify(request.body.key);
    const p = request.headless?.principal;
    if (p) return answerAuthenticated(core, p);
    return unauthenticated(core, request, reply);
  });

  app.post(`${P}/auth/email/verify/resend`, {
    schema: {
      tags: tags('account'), summary: 'Resend email verification code', params, headers,
      response: { ...common, 200: StatusOKResponse, 409: ConflictResponse },
    },
  }, async (request) => {
    const f = pendingFlow(request, 'verify_email');
    if (f.user?.email) await core.emailVerification.resend(requestedTenant(request), f.user.email);
    return { status: 200 };
  });

  app.post(`${P}/auth/password/request`, {
    schema: {
      tags: tags('password reset'), summary: 'Request password', description: 'Mails a reset link (stateless: 200). The link opens the tenant\'s hosted page; its key for auth/password/reset is `<uid>-<token>` of the link.',
      params, body: RequestPasswordBody, response: { ...common, 200: StatusOKResponse, 400: ErrorResponse, 401: AuthenticationResponse },
    },
  }, async (request) => {
    await core.passwordReset.request(requestedTenant(request), request.body.email);
    return { status: 200 };
  });

  const splitKey = (key: string) => ({ uid: key.slice(0, 36), token: key.slice(37) });

  app.get(`${P}/auth/password/reset`, {
    config: { fieldNames: { token: 'key', uid: 'key' } },
    schema: {
      tags: tags('password reset'), summary: 'Get password reset information', params,
      headers: Type.Object({ 'x-password-reset-key': Type.String({ description: 'The password reset key: `<uid>-<token>`', maxLength: 500 }) }),
      response: { ...common, 200: PasswordResetInfo, 400: ErrorResponse, 409: ConflictResponse },
    },
  }, async (request) => {
    const user = await core.passwordReset.describe(splitKey(String(request.headers['x-password-reset-key'])));
    return { status: 200, data: { user: presentUser(user) } };
  });

  app.post(`${P}/auth/password/reset`, {
    config: { fieldNames: { token: 'key', uid: 'key', new_password2: 'password' } },
    schema: {
      tags: tags('password reset'), summary: 'Reset password', description: 'Sets the new password; nobody is signed in by it (401: sign in with the new password).',
      params, body: ResetPasswordBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    await core.passwordReset.confirm({ ...splitKey(request.body.key), new1: request.body.password, new2: request.body.password });
    return unauthenticated(core, request, reply);
  });

  app.post(`${P}/auth/2fa/authenticate`, {
    config: { credentialAnswer: true },
    schema: {
      tags: tags('2FA'), summary: 'Two-factor authentication', description: 'Completes the pending `mfa_authenticate` flow with a TOTP or recovery code. A wrong code leaves it pending and counts in the account\'s throttle.',
      params, headers, body: MFAAuthenticateBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    const f = request.headless?.flow;
    if (!f || f.kind !== 'flow' || f.step !== 'mfa_authenticate') throw new DomainError('NOT_AUTHENTICATED', 'No sign-in waits on a second factor.');
    return answerOutcome(core, request, reply, await core.signIn.continue(f.token, { step: 'mfa_authenticate', code: request.body.code }));
  });

  app.post(`${P}/auth/2fa/reauthenticate`, {
    schema: {
      tags: tags('2FA'), summary: 'Reauthenticate using 2FA', params, headers, body: MFAAuthenticateBody,
      response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse },
    },
  }, async (request) => {
    const p = signedIn(request);
    const proved = await core.reauthentication.withSecondFactor(p, { code: request.body.code });
    return answerAuthenticated(core, { ...p, authenticatedAt: core.clock.now() }, [proved.method]);
  });

  app.post('/_allauth/browser/v1/auth/2fa/trust', {
    schema: {
      tags: tags('2FA'), summary: 'Trust this browser', description: 'Right after a sign-in that proved a second factor: `trust: true` keeps an HttpOnly cookie that skips the second factor of this account\'s sign-ins in this browser for the tenant\'s `trust_browser_days`.',
      headers, body: MFATrustBody, response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse },
    },
  }, async (request, reply) => {
    const p = signedIn(request);
    if (request.body.trust) {
      const secondFactor = (p.amr ?? []).some((m) => m === 'otp' || m === 'rc' || m === 'webauthn');
      if (!secondFactor || !(await core.reauthentication.isRecent(p))) throw new DomainError('VALIDATION_FAILED', 'trust', { fields: { trust: ['Only right after signing in with a second factor.'] } });
      const days = (await core.settings.forTenant(p.tenant.pk)).trust_browser_days;
      const t = await core.secondFactors.trustBrowser(p.tenant, p.user, days);
      reply.setCookie(TRUST_COOKIE, t.token, { path: '/_allauth/browser/', httpOnly: true, sameSite: 'lax', secure: request.server.trustedOrigins.secure, expires: new Date(t.expiresAt) });
    }
    return answerAuthenticated(core, p);
  });

  app.post(`${P}/auth/code/request`, {
    schema: {
      tags: tags('login by code'), summary: 'Request login code', description: 'Mails a sign-in code to the account of the address (the same answer whether or not there is one): the pending `login_by_code` flow.',
      params, body: RequestLoginCodeBody, response: { ...common, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    refuseIfSignedIn(request);
    const body = request.body as { email?: string; phone?: string };
    if (body.email === undefined) throw new DomainError('VALIDATION_FAILED', 'phone', { fields: { phone: ['Phone numbers are not supported.'] } });
    const { codeToken } = await core.loginCodes.request(requestedTenant(request), body.email);
    return answerPending(core, request, reply, { kind: 'code', token: codeToken, step: 'login_by_code' });
  });

  app.post(`${P}/auth/code/confirm`, {
    config: { credentialAnswer: true },
    schema: {
      tags: tags('login by code'), summary: 'Confirm login code', params, headers, body: ConfirmLoginCodeBody,
      response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    const f = pendingFlow(request, 'login_by_code');
    try {
      const outcome = await core.signIn.start({
        tenant: requestedTenant(request), factor: { method: 'code', codeToken: f.token, code: request.body.code }, issue: issueFor(request), continuable: true, trustToken: trustTokenOf(request),
      });
      return await answerOutcome(core, request, reply, outcome);
    } catch (err) {
      if (err instanceof DomainError && err.code === 'INVALID_CREDENTIALS') throw new DomainError('VALIDATION_FAILED', 'code', { fields: { code: ['Incorrect code.'] } });
      throw err;
    }
  });

  app.post(`${P}/auth/code/resend`, {
    schema: {
      tags: tags('login by code'), summary: 'Resend login code', params, headers,
      response: { ...common, 200: StatusOKResponse, 409: ConflictResponse },
    },
  }, async (request) => {
    const f = pendingFlow(request, 'login_by_code');
    await core.loginCodes.resend(requestedTenant(request), f.token);
    return { status: 200 };
  });
}
