// The headless API's third-party providers, over core.upstreamSignIn and the upstream first
// factor: `config` and the flows list the tenant's enabled identity providers;
// auth/provider/redirect (browser) sends the browser to the provider, whose answer comes back
// through Latchkey's callback to auth/provider/callback here, which signs in (or leaves the
// sign-in pending, as its state cookie) and redirects to the front-end's `callback_url` (with
// `?error=` when it failed); auth/provider/token takes an ID token (or GitHub's access token) an
// app got from the provider's own SDK, verified with the provider; account/providers lists and
// disconnects links. Accounts are made at once (just in time) from what the provider said, so a
// provider sign-up is never pending (auth/provider/signup answers 409).
import { Type } from '@sinclair/typebox';
import type { FastifyReply } from 'fastify';
import { DomainError, PRESETS, type Core, type Principal, type Tenant } from '../../../core/index.ts';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import { setSessionCookies } from '../../plugins/session-cookies.ts';
import { clearUpstreamBinding, setUpstreamBinding, upstreamBinding } from '../../plugins/upstream-cookie.ts';
import {
  AuthenticatedResponse, AuthenticationResponse, Client, ConflictResponse, ErrorResponse, Provider, ProviderAccountID, ProviderID, SessionTokenHeader,
  StatusOK, common, tags, type Options, type TypedApp,
} from './schemas.ts';
import { STATE_COOKIE, answerAuthenticated, answerOutcome, extensions, issueFor, refuseIfSignedIn, signedIn, tenantOf } from './kit.ts';

const P = '/_allauth/:client/v1';
const CALLBACK = '/_allauth/browser/v1/auth/provider/callback';
const Process = Type.String({ enum: ['login', 'connect'], description: 'The process to be executed when the user successfully authenticates.' });
const ProviderAccount = Type.Object({ uid: ProviderAccountID, display: Type.String(), provider: Provider });
const ProviderAccounts = Type.Object({ status: StatusOK, data: Type.Array(ProviderAccount) });
const notPending = { status: 409, errors: [{ message: 'No sign-up through a provider is pending: accounts are made at the first sign-in.', code: 'conflict' }] };

async function providersOf(core: Core, tenant: Tenant) {
  return (await core.identityProviders.enabled(tenant.pk)).map((p) => {
    const issuer = p.issuer ?? PRESETS[p.kind].issuer;
    const oidc = PRESETS[p.kind].protocol === 'oidc';
    return {
      id: p.slug, name: p.name, client_id: p.clientId,
      ...(oidc && issuer ? { openid_configuration_url: `${issuer.replace(/\/$/, '')}/.well-known/openid-configuration` } : {}),
      flows: ['provider_redirect', 'provider_token'],
    };
  });
}

async function accountsOf(core: Core, p: Principal) {
  const providers = new Map((await providersOf(core, p.tenant)).map((x) => [x.id, x]));
  const links = await core.socialAccounts.list(p, { offset: 0, limit: 100 });
  return links.items.map((a) => ({ uid: a.uid, display: a.uid, provider: providers.get(a.provider) ?? { id: a.provider, name: a.provider, flows: [] } }));
}

/** The front-end's callback URL with `?error=`. */
const withError = (to: string, error: string) => `${to}${to.includes('?') ? '&' : '?'}error=${encodeURIComponent(error)}`;

export async function providerRoutes(app: TypedApp, { core, publicUrl }: Options) {
  // Once per process: the list is the module's, and a process may build several servers.
  if (!extensions.providers.includes(providersOf)) extensions.providers.push(providersOf);

  app.post('/_allauth/browser/v1/auth/provider/redirect', {
    config: { fieldNames: { next: 'callback_url' } },
    schema: {
      tags: tags('providers'), summary: 'Provider redirect',
      description: 'Sends the browser to the provider (a form post, not XHR). Back from it, the browser lands on `callback_url` (PUBLIC_URL\'s origin or one of the tenant\'s `allowed_redirect_urls`), signed in or with a pending flow, or with `?error=`.',
      body: Type.Object({ provider: ProviderID, callback_url: Type.String({ maxLength: 2000 }), process: Process, csrfmiddlewaretoken: Type.Optional(Type.String({ maxLength: 200 })) }),
      response: { 302: Type.Null({ description: 'The provider authorization URL to which the client should be redirected.' }), ...common, 401: AuthenticationResponse },
    },
  }, async (request, reply) => {
    const { provider, callback_url: callbackUrl, process } = request.body;
    const tenant = await tenantOf(core, request);
    const to = await core.upstreamSignIn.allowedNext(tenant, callbackUrl);
    const begun = process === 'connect'
      ? await core.upstreamSignIn.begin({ tenant: undefined, principal: signedIn(request), provider, purpose: 'connect', next: to })
      : await core.upstreamSignIn.begin({ tenant: requestedTenant(request), provider, purpose: 'interaction', next: `${CALLBACK}?${new URLSearchParams({ to })}` });
    setUpstreamBinding(reply, begun.binding, publicUrl);
    return reply.redirect(begun.url, 302);
  });

  // Latchkey's provider callback (REST-auth's) forwards its query here for a headless sign-in.
  app.get(CALLBACK, { schema: { hide: true } }, async (request, reply: FastifyReply) => {
    const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1 || request.url.length));
    const provider = query.get('provider') ?? '';
    const asked = query.get('to') ?? '';
    query.delete('provider');
    query.delete('to');
    const callback = `${publicUrl}/api/auth/social/${encodeURIComponent(provider)}/callback/?${query}`;
    const started = await core.upstreamSignIn.peek(callback);
    const tenant = started?.tenant ?? (await core.tenants.resolve(requestedTenant(request)));
    // Checked again: this URL can be called by anyone, and an error is a redirect there.
    const to = await core.upstreamSignIn.allowedNext(tenant, asked);
    const binding = upstreamBinding(request);
    clearUpstreamBinding(reply);
    let outcome;
    try {
      outcome = await core.signIn.start({
        tenant: tenant.name === 'default' ? undefined : tenant.name, issue: { kind: 'session' }, continuable: true,
        factor: { method: 'upstream', provider, callback, binding },
      });
    } catch (err) {
      if (!(err instanceof DomainError)) throw err;
      return reply.redirect(withError(to, query.get('error') === 'access_denied' ? 'cancelled' : err.code === 'UNAVAILABLE' ? 'unavailable' : 'unknown'), 302);
    }
    if (outcome.status === 'pending') {
      // The front-end reads the pending flow from auth/session, as after a password.
      reply.setCookie(STATE_COOKIE, `flow:${outcome.flowToken}`, { path: '/_allauth/browser/', httpOnly: true, sameSite: 'lax', secure: request.server.trustedOrigins.secure, maxAge: 15 * 60 });
    } else if (outcome.issued.kind === 'session') {
      setSessionCookies(reply, outcome.issued.session, request.server.trustedOrigins.own);
    }
    return reply.redirect(to, 302);
  });

  app.post(`${P}/auth/provider/token`, {
    config: { credentialAnswer: true },
    schema: {
      tags: tags('providers'), summary: 'Provider token',
      description: 'Signs in (or, with `process: connect`, connects) with tokens an app got from the provider itself: an `id_token` for OpenID Connect providers (its signature, issuer, audience = the provider\'s `client_id` and expiry checked), an `access_token` for GitHub.',
      params: Client, headers: SessionTokenHeader,
      body: Type.Object({
        provider: ProviderID, process: Process,
        token: Type.Object({ client_id: Type.String({ maxLength: 500 }), id_token: Type.Optional(Type.String({ maxLength: 16_384 })), access_token: Type.Optional(Type.String({ maxLength: 8192 })) }),
      }),
      response: { ...common, 200: AuthenticatedResponse, 400: ErrorResponse, 401: AuthenticationResponse, 409: ConflictResponse },
    },
  }, async (request, reply) => {
    const { provider, process, token } = request.body;
    const t = { clientId: token.client_id, idToken: token.id_token, accessToken: token.access_token };
    if (process === 'connect') {
      const p = signedIn(request);
      await core.upstreamSignIn.connectToken(p, provider, t);
      return answerAuthenticated(core, p);
    }
    refuseIfSignedIn(request);
    const outcome = await core.signIn.start({ tenant: requestedTenant(request), factor: { method: 'upstream', provider, token: t }, issue: issueFor(request), continuable: true });
    return answerOutcome(core, request, reply, outcome);
  });

  for (const method of ['GET', 'POST'] as const) {
    app.route({
      method, url: `${P}/auth/provider/signup`,
      schema: { tags: tags('providers'), summary: method === 'GET' ? 'Provider signup information' : 'Provider signup', params: Client, response: { 409: ConflictResponse } },
      handler: async (_request, reply) => reply.code(409).send(notPending),
    });
  }

  app.get(`${P}/account/providers`, {
    schema: { tags: tags('providers'), summary: 'List the connected third-party provider accounts', params: Client, headers: SessionTokenHeader, response: { ...common, 200: ProviderAccounts, 401: AuthenticationResponse } },
  }, async (request) => ({ status: 200 as const, data: await accountsOf(core, signedIn(request)) }));

  app.delete(`${P}/account/providers`, {
    schema: {
      tags: tags('providers'), summary: 'Disconnect a third-party provider account', description: 'Refused (400) while it is the account\'s only way to sign in (no password).',
      params: Client, headers: SessionTokenHeader, body: Type.Object({ provider: ProviderID, account: ProviderAccountID }),
      response: { ...common, 200: ProviderAccounts, 400: ErrorResponse, 401: AuthenticationResponse },
    },
  }, async (request) => {
    const p = signedIn(request);
    const links = await core.socialAccounts.list(p, { offset: 0, limit: 100 });
    const link = links.items.find((a) => a.provider === request.body.provider && a.uid === request.body.account);
    if (!link) throw new DomainError('VALIDATION_FAILED', 'unknown account', { fields: { account: ['Unknown account.'] } });
    await core.socialAccounts.disconnect(p, link.id);
    return { status: 200 as const, data: await accountsOf(core, p) };
  });
}
