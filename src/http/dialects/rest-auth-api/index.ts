// The REST-auth API (seed 001, /api/auth/...): dj-rest-auth with django-allauth conventions,
// over the same core. Error bodies are Django REST framework's, as in the v1 API.
import { Type } from '@sinclair/typebox';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TypeBoxTypeProvider } from '@fastify/type-provider-typebox';
import { DomainError, EMAIL_MAX, NAME_MAX, USERNAME_MAX, type Core, type EmailAddress, type NewSessionCookies } from '../../../core/index.ts';
import { authenticate, checkClient, requestedTenant } from '../../authentication.ts';
import { limitOffset, limitOffsetLinks } from '../../pagination.ts';
import { restAuthErrorHandler } from './error-map.ts';

interface Options {
  core: Core;
  publicUrl: string;
}

const Detail = Type.Object({ detail: Type.String(), code: Type.Optional(Type.String({ description: 'simplejwt\'s `token_not_valid` on a refused JWT' })) });
const FieldErrors = Type.Record(Type.String(), Type.Union([Type.Array(Type.String()), Type.String()]));
const errors = { 400: FieldErrors, 401: Detail, 403: Detail, 404: Detail, 429: Detail, 503: Detail };
const security: Array<Record<string, string[]>> = [{ cookieAuth: [] }, { basicAuth: [] }, { tokenAuth: [] }];
const tags = ['auth (REST-auth)'];
const Pw = Type.String({ maxLength: 8192 });
const Key = Type.Object({ key: Type.String({ description: 'Token key: send it as `Authorization: Token <key>`' }) });
const LimitOffset = Type.Object({
  limit: Type.Optional(Type.String({ description: 'Number of results to return per page (default 100).' })),
  offset: Type.Optional(Type.String({ description: 'The initial index from which to return the results.' })),
});
const IntId = Type.Object({ id: Type.String({ pattern: '^[0-9]{1,10}$' }) });
const EmailOut = Type.Object({ email: Type.String(), id: Type.Integer(), primary: Type.Boolean(), user: Type.Integer(), verified: Type.Boolean() });
const UserOut = Type.Object({ pk: Type.Integer(), username: Type.String(), email: Type.String(), first_name: Type.String(), last_name: Type.String() });
const list = <T extends ReturnType<typeof Type.Object>>(item: T) =>
  Type.Object({ count: Type.Integer(), next: Type.Union([Type.String(), Type.Null()]), previous: Type.Union([Type.String(), Type.Null()]), results: Type.Array(item) });
const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

export async function restAuthDialect(app: FastifyInstance, { core, publicUrl }: Options) {
  app.setErrorHandler(restAuthErrorHandler);
  app.removeContentTypeParser('text/plain');
  // E-mails sent after their answer (reset, resend) finish before the server closes.
  app.addHook('onClose', async () => core.outbox.idle());
  app.addHook('preValidation', async (request) => {
    const auth = request.routeOptions.config?.auth;
    if (auth === true) await authenticate(core, request);
    // Logout works with or without credentials, as dj-rest-auth's: it ends what it is given.
    // A cookie write that fails the CSRF checks (token or origin) is 403, as DRF's
    // SessionAuthentication answers it: a forged logout neither ends the session nor clears it.
    if (auth === 'optional' && (request.headers.authorization || request.cookies?.sessionid)) {
      await authenticate(core, request).catch((err) => {
        if (err instanceof DomainError && err.code === 'CSRF_FAILED') throw err;
      });
    }
    await checkClient(core, request);
    if (request.body === undefined && request.routeOptions.schema?.body) request.body = {};
  });
  const typed = app.withTypeProvider<TypeBoxTypeProvider>();
  const secure = publicUrl.startsWith('https:');

  /** dj-rest-auth with sessions: the `sessionid` cookie, and `csrftoken` for the browser's script. */
  const setSessionCookies = (reply: FastifyReply, s: NewSessionCookies) => {
    const expires = new Date(s.expiresAt);
    reply.setCookie('sessionid', s.cookie, { path: '/', httpOnly: true, sameSite: 'lax', secure, expires });
    reply.setCookie('csrftoken', s.csrfToken, { path: '/', httpOnly: false, sameSite: 'lax', secure, expires });
  };
  const presentEmail = (a: EmailAddress) => ({ email: a.email, id: a.pk, primary: a.primary, user: a.userPk, verified: a.verified });
  const userOut = (u: { pk: number; username: string; email: string; firstName: string; lastName: string }) =>
    ({ pk: u.pk, username: u.username, email: u.email, first_name: u.firstName, last_name: u.lastName });

  typed.post('/api/auth/login/', {
    config: { credentialAnswer: true },
    schema: {
      operationId: 'auth_login_create', tags, summary: 'Sign in with username or e-mail and password',
      description: 'Answers a token key and opens a cookie session (`sessionid`, plus `csrftoken` for scripts). Repeated failures are slowed, then refused with 429 and Retry-After.',
      body: Type.Object({ username: Type.Optional(Type.String({ maxLength: 254 })), email: Type.Optional(Type.String({ maxLength: EMAIL_MAX })), password: Pw }, { additionalProperties: false }),
      response: { 200: Key, ...errors },
    },
  }, async (request, reply) => {
    const { username, email, password } = request.body;
    if (!username && !email?.trim()) throw new DomainError('VALIDATION_FAILED', 'no name', { fields: { non_field_errors: ['Must include "username" or "email" and "password".'] } });
    const { issued } = await core.signIn.now({
      tenant: requestedTenant(request), issue: { kind: 'session_and_key' },
      factor: username ? { method: 'password', by: 'username', identifier: username, password } : { method: 'password', by: 'email', identifier: email!, password },
    });
    setSessionCookies(reply, issued.session);
    return { key: issued.key };
  });

  for (const method of ['GET', 'POST'] as const) {
    typed.route({
      method, url: '/api/auth/logout/', config: { auth: 'optional' },
      schema: { operationId: `auth_logout_${method === 'GET' ? 'retrieve' : 'create'}`, tags, security, summary: 'Sign out: deletes the token key used and ends the session', response: { 200: Detail } },
      handler: async (request, reply) => {
        if (request.principal) await core.signOut.signOutWhole(request.principal);
        reply.clearCookie('sessionid', { path: '/' });
        return { detail: 'Successfully logged out.' };
      },
    });
  }

  typed.post('/api/auth/registration/', {
    config: { fieldNames: { password: 'password1' }, credentialAnswer: true },
    schema: {
      operationId: 'auth_registration_create', tags, summary: 'Register a new user',
      description: 'Sends a verification e-mail when an address is given. When the tenant makes verification mandatory, the answer is `{"detail": "Verification e-mail sent."}` and signing in waits for the address to be verified. 403 when registration is closed; 503 when the e-mail cannot be sent (nothing is kept).',
      body: Type.Object({ username: Type.String({ maxLength: USERNAME_MAX }), email: Type.Optional(Type.String({ maxLength: EMAIL_MAX })), password1: Pw, password2: Pw }, { additionalProperties: false }),
      response: { 201: Type.Union([Key, Detail]), ...errors },
    },
  }, async (request, reply) => {
    const b = request.body;
    const r = await core.registration.register(requestedTenant(request), { username: b.username, email: b.email, password1: b.password1, password2: b.password2 });
    if (r.session) setSessionCookies(reply, r.session);
    return reply.code(201).send(r.key ? { key: r.key } : { detail: 'Verification e-mail sent.' });
  });

  typed.post('/api/auth/registration/verify-email/', {
    schema: { operationId: 'auth_registration_verify_email_create', tags, summary: 'Verify an e-mail address with the key from its message', body: Type.Object({ key: Type.String({ maxLength: 500 }) }, { additionalProperties: false }), response: { 200: Detail, ...errors } },
  }, async (request) => {
    await core.emailVerification.verify(request.body.key);
    return { detail: 'ok' };
  });

  typed.post('/api/auth/registration/resend-email/', {
    schema: { operationId: 'auth_registration_resend_email_create', tags, summary: 'Send another verification e-mail to an unverified address', description: 'The same answer whether or not the address is known.', body: Type.Object({ email: Type.String({ maxLength: EMAIL_MAX }) }, { additionalProperties: false }), response: { 201: Detail, ...errors } },
  }, async (request, reply) => {
    await core.emailVerification.resend(requestedTenant(request), request.body.email);
    return reply.code(201).send({ detail: 'ok' });
  });

  typed.post('/api/auth/password/change/', {
    config: { auth: true },
    schema: {
      operationId: 'auth_password_change_create', tags, security, summary: 'Change the caller\'s password',
      description: '`old_password` is needed when the tenant setting `password_change_requires_old` is on. The user\'s other sessions, token keys and JWT families end.',
      body: Type.Object({ new_password1: Pw, new_password2: Pw, old_password: Type.Optional(Pw) }, { additionalProperties: false }),
      response: { 200: Detail, ...errors },
    },
  }, async (request) => {
    const b = request.body;
    await core.passwordChange.changeConfirmed(request.principal!, { old: b.old_password, new1: b.new_password1, new2: b.new_password2 });
    return { detail: 'New password has been saved.' };
  });

  typed.post('/api/auth/password/reset/', {
    schema: { operationId: 'auth_password_reset_create', tags, summary: 'E-mail a password-reset link', description: 'Always the same 200 answer, whether or not the address belongs to an account.', body: Type.Object({ email: Type.String({ maxLength: EMAIL_MAX }) }, { additionalProperties: false }), response: { 200: Detail, ...errors } },
  }, async (request) => {
    await core.passwordReset.request(requestedTenant(request), request.body.email);
    return { detail: 'Password reset e-mail has been sent.' };
  });

  typed.post('/api/auth/password/reset/confirm/', {
    schema: {
      operationId: 'auth_password_reset_confirm_create', tags, summary: 'Set a new password with the uid and token of a reset link',
      description: 'A token works once, within `password_reset_timeout`, and not after the password changed by any route. The user\'s sign-ins end, and a sign-in lock is lifted.',
      body: Type.Object({ uid: Type.String({ maxLength: 100 }), token: Type.String({ maxLength: 500 }), new_password1: Pw, new_password2: Pw }, { additionalProperties: false }),
      response: { 200: Detail, ...errors },
    },
  }, async (request) => {
    const b = request.body;
    await core.passwordReset.confirm({ uid: b.uid, token: b.token, new1: b.new_password1, new2: b.new_password2 });
    return { detail: 'Password has been reset with the new password.' };
  });

  typed.get('/api/auth/emails/', {
    config: { auth: true },
    schema: { operationId: 'auth_emails_list', tags, security, summary: 'The caller\'s e-mail addresses', querystring: LimitOffset, response: { 200: list(EmailOut), ...errors } },
  }, async (request) => {
    const page = limitOffset(request.query);
    const r = await core.emailAddresses.list(request.principal!, page);
    return { ...limitOffsetLinks(publicUrl, request, page, r.count), results: r.items.map(presentEmail) };
  });

  typed.post('/api/auth/emails/', {
    config: { auth: true },
    schema: {
      operationId: 'auth_emails_create', tags, security, summary: 'Add an e-mail address (a verification message is sent)',
      description: '`id`, `user`, `verified` and `primary` are set by the server: `user` may only name the caller; a new address is neither verified nor primary.',
      body: Type.Object({ email: Type.String({ maxLength: EMAIL_MAX }), id: Type.Optional(Type.Integer()), user: Type.Optional(Type.Integer()), primary: Type.Optional(Type.Boolean()), verified: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      response: { 201: EmailOut, ...errors },
    },
  }, async (request, reply) => {
    const b = request.body;
    if (b.user !== undefined && b.user !== request.principal!.user.pk) throw new DomainError('VALIDATION_FAILED', 'user', { fields: { user: ['You can only add addresses to your own account.'] } });
    if (b.verified) throw new DomainError('VALIDATION_FAILED', 'verified', { fields: { verified: ['An address is verified by following the link in its message.'] } });
    if (b.primary) throw new DomainError('VALIDATION_FAILED', 'primary', { fields: { primary: ['Only a verified e-mail address can be primary.'] } });
    return reply.code(201).send(presentEmail(await core.emailAddresses.add(request.principal!, b.email)));
  });

  const emailAction = (action: 'verify' | 'primary' | 'remove', summary: string) => {
    typed.post(`/api/auth/emails/:id/${action}/`, {
      config: { auth: true },
      schema: { operationId: `auth_emails_${action}_create`, tags, security, summary, params: IntId, response: { 200: EmailOut, ...errors } },
    }, async (request) => {
      const id = Number(request.params.id);
      const p = request.principal!;
      const a = action === 'verify' ? await core.emailAddresses.sendVerification(p, id)
        : action === 'primary' ? await core.emailAddresses.makePrimary(p, id)
        : await core.emailAddresses.remove(p, id);
      return presentEmail(a);
    });
  };
  emailAction('verify', 'Send the verification message for this address');
  emailAction('primary', 'Make this verified address the primary one (the user\'s e-mail follows it)');
  emailAction('remove', 'Remove this address (not the primary one)');

  typed.get('/api/auth/providers/', {
    schema: {
      operationId: 'auth_providers_list', tags, summary: 'Sign-in options of the tenant and its upstream providers', querystring: LimitOffset,
      response: {
        200: list(Type.Object({
          mfa_required: Type.Boolean(), password_forgotten_enabled: Type.Boolean(), registration_enabled: Type.Boolean(), sso_enabled: Type.Boolean(), sso_registration: Type.Boolean(),
          providers: Type.Array(Type.Object({ configured: Type.Boolean(), connect: Type.String(), display_name: Type.String(), id: Type.String(), login: Type.String(), name: Type.String() })),
        })),
        ...errors,
      },
    },
  }, async (request) => {
    const v = await core.socialAccounts.providers(requestedTenant(request));
    const item = {
      mfa_required: v.mfaRequired, password_forgotten_enabled: v.passwordForgottenEnabled, registration_enabled: v.registrationEnabled,
      sso_enabled: v.ssoEnabled, sso_registration: v.ssoRegistration,
      providers: v.providers.map((p) => ({ configured: true, connect: p.connect, display_name: p.name, id: p.id, login: p.login, name: p.name })),
    };
    const page = limitOffset(request.query);
    return { ...limitOffsetLinks(publicUrl, request, page, 1), results: page.offset === 0 ? [item] : [] };
  });

  typed.get('/api/auth/social/', {
    config: { auth: true },
    schema: {
      operationId: 'auth_social_list', tags, security, summary: 'The caller\'s linked social accounts', querystring: LimitOffset,
      response: { 200: list(Type.Object({ id: Type.Integer(), provider: Type.String(), uid: Type.String(), date_joined: Type.String(), last_login: Type.Union([Type.String(), Type.Null()]) })), ...errors },
    },
  }, async (request) => {
    const page = limitOffset(request.query);
    const r = await core.socialAccounts.list(request.principal!, page);
    return {
      ...limitOffsetLinks(publicUrl, request, page, r.count),
      results: r.items.map((a) => ({ id: a.id, provider: a.provider, uid: a.uid, date_joined: iso(a.dateJoined)!, last_login: iso(a.lastLogin) })),
    };
  });

  typed.post('/api/auth/social/:id/disconnect/', {
    config: { auth: true },
    schema: {
      operationId: 'auth_social_disconnect_create', tags, security, summary: 'Unlink a social account (refused while it is the only way to sign in)', params: IntId,
      body: Type.Optional(Type.Object({ access_token: Type.Optional(Type.String({ maxLength: 4096 })), code: Type.Optional(Type.String({ maxLength: 4096 })), id_token: Type.Optional(Type.String({ maxLength: 8192 })) }, { additionalProperties: false })),
      response: { 200: Detail, ...errors },
    },
  }, async (request) => {
    await core.socialAccounts.disconnect(request.principal!, Number(request.params.id));
    return { detail: 'Social account disconnected.' };
  });

  typed.get('/api/auth/user/', {
    config: { auth: true },
    schema: { operationId: 'auth_user_retrieve', tags, security, summary: 'The caller (pk, username, email, first_name, last_name)', response: { 200: UserOut, ...errors } },
  }, async (request) => userOut(request.principal!.user));

  for (const method of ['PUT', 'PATCH'] as const) {
    typed.route({
      method, url: '/api/auth/user/', config: { auth: true },
      schema: {
        operationId: method === 'PUT' ? 'auth_user_update' : 'auth_user_partial_update', tags, security,
        summary: 'Update the caller\'s username and names; `pk` and `email` are read-only (accepted only unchanged)',
        body: Type.Object({
          username: method === 'PUT' ? Type.String({ maxLength: USERNAME_MAX }) : Type.Optional(Type.String({ maxLength: USERNAME_MAX })),
          first_name: Type.Optional(Type.String({ maxLength: NAME_MAX })), last_name: Type.Optional(Type.String({ maxLength: NAME_MAX })),
          pk: Type.Optional(Type.Integer()), email: Type.Optional(Type.String({ maxLength: EMAIL_MAX })),
        }, { additionalProperties: false }),
        response: { 200: UserOut, ...errors },
      },
      handler: async (request: FastifyRequest) => {
        const p = request.principal!;
        const b = request.body as { username?: string; first_name?: string; last_name?: string; pk?: number; email?: string };
        const ro: Record<string, string[]> = {};
        if (b.pk !== undefined && b.pk !== p.user.pk) ro.pk = ['This field is read-only.'];
        if (b.email !== undefined && b.email !== p.user.email) ro.email = ['This field is read-only: change addresses through /api/auth/emails/.'];
        if (Object.keys(ro).length) throw new DomainError('VALIDATION_FAILED', 'read-only', { fields: ro });
        return userOut(await core.users.update(p, p.user.id, { username: b.username, firstName: b.first_name, lastName: b.last_name }));
      },
    });
  }
}
