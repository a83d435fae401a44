// The tenant's sign-in options and upstream providers, a user's linked social accounts, and the
// browser redirects that sign in (`login`) or connect (`connect`) through a provider: the browser
// goes there with state, PKCE and nonce, comes back to `callback`, and ends at `next` with the
// `sessionid` session (login) or the link made (connect). The request is bound to the browser by
// the `lk_upstream` cookie (plugins/upstream-cookie.ts).
import { Type } from '@sinclair/typebox';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import { setSessionCookies } from '../../plugins/session-cookies.ts';
import { clearUpstreamBinding, setUpstreamBinding, upstreamBinding } from '../../plugins/upstream-cookie.ts';
import { limitOffset, limitOffsetLinks } from '../../pagination.ts';
import * as pages from '../../pages/index.ts';
import { iso } from './presenters.ts';
import { Detail, errors, security, tags, LimitOffset, IntId, list, type Options, type TypedApp } from './schemas.ts';

const ProviderParam = Type.Object({ id: Type.String({ maxLength: 50, description: 'The identity provider\'s id' }) });
const redirect = { 302: Type.Null({ description: 'To the identity provider' }) };

export async function socialRoutes(typed: TypedApp, { core, publicUrl }: Options) {
  typed.get('/api/auth/social/:id/login/', {
    schema: {
      operationId: 'auth_social_login_retrieve', tags, summary: 'Sign in through an upstream identity provider (a browser redirect)',
      description: 'Redirects the browser to the provider. Back at `callback`, the browser gets the `sessionid` session and is sent to `next` (PUBLIC_URL\'s origin or one of the tenant\'s `allowed_redirect_urls`). `tenant` names the tenant (or X-Tenant).',
      params: ProviderParam,
      querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 2000 })), tenant: Type.Optional(Type.String({ maxLength: 64 })), login_hint: Type.Optional(Type.String({ maxLength: 254 })) }),
      response: { ...redirect, ...errors },
    },
  }, async (request, reply) => {
    const begun = await core.upstreamSignIn.begin({ tenant: request.query.tenant || requestedTenant(request), provider: request.params.id, purpose: 'login', next: request.query.next, loginHint: request.query.login_hint });
    setUpstreamBinding(reply, begun.binding, publicUrl);
    return reply.redirect(begun.url, 302);
  });

  typed.get('/api/auth/social/:id/connect/', {
    config: { auth: true },
    schema: {
      operationId: 'auth_social_connect_retrieve', tags, security, summary: 'Connect an upstream identity provider to the signed-in account (a browser redirect)',
      description: 'Redirects the browser to the provider; back at `callback`, the identity is linked to the account (refused when it is linked to another) and the browser sent to `next`.',
      params: ProviderParam, querystring: Type.Object({ next: Type.Optional(Type.String({ maxLength: 2000 })) }),
      response: { ...redirect, ...errors },
    },
  }, async (request, reply) => {
    const begun = await core.upstreamSignIn.begin({ tenant: undefined, principal: request.principal!, provider: request.params.id, purpose: 'connect', next: request.query.next });
    setUpstreamBinding(reply, begun.binding, publicUrl);
    return reply.redirect(begun.url, 302);
  });

  typed.get('/api/auth/social/:id/callback/', {
    config: { auth: 'optional' },
    schema: {
      operationId: 'auth_social_callback_retrieve', tags, summary: 'Where the identity provider sends the browser back (register it as the redirect URI)',
      params: ProviderParam,
      querystring: Type.Object({ code: Type.Optional(Type.String({ maxLength: 4096 })), state: Type.Optional(Type.String({ maxLength: 200 })), iss: Type.Optional(Type.String({ maxLength: 2000 })), error: Type.Optional(Type.String({ maxLength: 200 })), error_description: Type.Optional(Type.String({ maxLength: 2000 })) }, { additionalProperties: true }),
      response: { 302: Type.Null({ description: 'To `next`' }), ...errors },
    },
  }, async (request, reply) => {
    const callback = `${publicUrl}${request.url}`;
    const started = await core.upstreamSignIn.peek(callback);
    const provider = request.params.id;
    if (started?.purpose === 'interaction') {
      // Begun by the OpenID provider's interaction: it finishes the sign-in (its cookie comes along).
      const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1 || request.url.length));
      query.set('provider', provider);
      return reply.redirect(`${started.next}${started.next.includes('?') ? '&' : '?'}${query}`, 302);
    }
    const presented = upstreamBinding(request);
    clearUpstreamBinding(reply);
    if (started?.purpose === 'connect') {
      const { next } = await core.upstreamSignIn.connect({ tenant: started.tenant, provider, callback, binding: presented, principal: request.principal });
      return reply.redirect(next, 302);
    }
    // An unknown state fails in the factor, in the tenant the request names.
    const outcome = await core.signIn.start({
      tenant: started?.tenant.name ?? requestedTenant(request), issue: { kind: 'session_and_key' }, continuable: true,
      factor: { method: 'upstream', provider, callback, binding: presented },
    });
    if (outcome.status === 'pending') {
      if (outcome.step !== 'mfa_authenticate') throw core.signIn.pendingError(outcome.step);
      // A second factor is due: the hosted pages' code step, drawn here (a redirect would lose the
      // SameSite=Strict flow cookie in a chain begun at the provider's site), then `continue/` to `next`.
      const ctx = await pages.pageContext(core, request, { tenant: started!.tenant, reply });
      pages.setFlowCookie(request, reply, outcome.flowToken, `${pages.tenantPrefix(started!.tenant)}/account/login/`, outcome.expiresAt);
      const then = `/api/auth/social/continue/?${new URLSearchParams({ next: started!.next })}`;
      return pages.sendPage(reply, await pages.renderCodeStep(core, ctx, then, await pages.methodsOfFlow(core, outcome.flowToken)));
    }
    if (outcome.issued.kind !== 'session_and_key') throw new Error('sign-in issued another kind');
    setSessionCookies(reply, outcome.issued.session, publicUrl);
    // A tenant that requires a second factor, and a user without one: the pages' Security page, to set one up.
    if (outcome.mustEnrol) return reply.redirect(`${publicUrl}${pages.tenantPrefix(outcome.tenant)}/account/security/`, 303);
    return reply.redirect(started!.next, 302);
  });

  // Where a sign-in continued on the hosted pages (the code step above) ends: on to its `next`,
  // checked again against PUBLIC_URL and the tenant's allowed_redirect_urls (no open redirect).
  typed.get('/api/auth/social/continue/', {
    config: { auth: true },
    schema: {
      operationId: 'auth_social_continue_retrieve', tags, security, summary: 'After the hosted pages\' second-factor step of an upstream login: on to `next`',
      querystring: Type.Object({ next: Type.String({ maxLength: 2000 }) }),
      response: { 302: Type.Null({ description: 'To `next`' }), ...errors },
    },
  }, async (request, reply) => reply.redirect(await core.upstreamSignIn.allowedNext(request.principal!.tenant, request.query.next), 302));

  // Apple (response_mode=form_post) posts the answer here from its own site. A cross-site POST
  // carries no SameSite=Lax cookie, so the binding cookie would be missing: the fields go on to the
  // GET callback above (a top-level navigation, which carries it), where everything is checked.
  const POSTED = ['code', 'state', 'iss', 'error', 'error_description', 'user'] as const;
  typed.post('/api/auth/social/:id/callback/', {
    schema: {
      operationId: 'auth_social_callback_create', tags, summary: 'Where a provider that answers by form POST (Apple) sends the browser back',
      description: 'The same redirect URI as the GET callback. Answers 303 to the GET callback with the posted fields (`code`, `state`, `iss`, `error`, `error_description`, `user`) in its query; nothing is checked or written here.',
      params: ProviderParam,
      consumes: ['application/x-www-form-urlencoded'],
      body: Type.Object({
        code: Type.Optional(Type.String({ maxLength: 4096 })), state: Type.Optional(Type.String({ maxLength: 200 })), iss: Type.Optional(Type.String({ maxLength: 2000 })),
        error: Type.Optional(Type.String({ maxLength: 200 })), error_description: Type.Optional(Type.String({ maxLength: 2000 })), user: Type.Optional(Type.String({ maxLength: 2000 })),
      }, { additionalProperties: true }),
      response: { 303: Type.Null({ description: 'To the GET callback' }), ...errors },
    },
  }, async (request, reply) => {
    const query = new URLSearchParams();
    for (const k of POSTED) {
      const v = (request.body as Record<string, unknown>)[k];
      if (typeof v === 'string') query.set(k, v);
    }
    return reply.redirect(`${publicUrl}/api/auth/social/${encodeURIComponent(request.params.id)}/callback/?${query}`, 303);
  });

  typed.get('/api/auth/providers/', {
    schema: {
      operationId: 'auth_providers_list', tags, summary: 'Sign-in options of the tenant and its upstream providers', querystring: LimitOffset,
      response: {
        200: list(Type.Object({
          mfa_required: Type.Boolean(), password_forgotten_enabled: Type.Boolean(), registration_enabled: Type.Boolean(), sso_enabled: Type.Boolean(), sso_registration: Type.Boolean(),
          providers: Type.Array(Type.Object({ configured: Type.Boolean(), connect: Type.String(), display_name: Type.String(), id: Type.String(), kind: Type.String(), login: Type.String(), name: Type.String() })),
        })),
        ...errors,
      },
    },
  }, async (request) => {
    const v = await core.socialAccounts.providers(requestedTenant(request));
    const item = {
      mfa_required: v.mfaRequired, password_forgotten_enabled: v.passwordForgottenEnabled, registration_enabled: v.registrationEnabled,
      sso_enabled: v.ssoEnabled, sso_registration: v.ssoRegistration,
      providers: v.providers.map((p) => ({ configured: true, connect: p.connect, display_name: p.name, id: p.id, kind: p.kind, login: p.login, name: p.name })),
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
}
