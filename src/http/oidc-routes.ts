// The OpenID provider of each tenant, mounted: discovery, the provider's endpoints under
// `<issuer>/oidc/...`, and the interaction pages (`<issuer>/interaction/:uid`) that sign a person
// in through the core's sign-in flow and take their consent. The provider (oidc-provider, a Koa
// app) gets the raw request of a hijacked route, with the issuer's path taken off its URL.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { DomainError, type Core, type Tenant } from '../core/index.ts';
import { INTERACTION_PATH, OidcProviders, type TenantProvider } from '../oidc/provider.ts';
import * as pages from './pages/index.ts';
import { ACR_2FA, acrOf, asksTwoFactors, oidcAmr } from '../oidc/acr.ts';
import { clearUpstreamBinding, setUpstreamBinding, upstreamBinding } from './plugins/upstream-cookie.ts';

interface Options {
  core: Core;
  publicUrl: string;
}

/** The sign-in and consent forms end in a redirect to the client: no `form-action 'self'` (layout.ts). */
const ANY = { formAction: 'any' } as const;

const NO_STORE = { 'cache-control': 'no-store', pragma: 'no-cache' } as const;

/** An OAuth 2.0 error answer (RFC 6749 5.2), with `detail` as every token endpoint of the service; `basic`: the client came by Basic. */
function oauthError(reply: FastifyReply, status: number, error: string, description: string, basic = false): undefined {
  void reply.code(status).headers(NO_STORE);
  if (status === 401 && basic) void reply.header('www-authenticate', 'Basic realm="latchkey", error="invalid_client"');
  void reply.send({ error, error_description: description, detail: description });
  return undefined;
}

type RawRequest = FastifyRequest['raw'] & { originalUrl?: string; body?: unknown };

const tenantOf = (request: FastifyRequest): string => {
  const t = (request.params as { tenant?: string }).tenant;
  return t === undefined ? 'default' : t;
};

export async function oidcRoutes(app: FastifyInstance, opts: Options) {
  const { core } = opts;
  pages.registerPasskeyParts();
  const pub = new URL(opts.publicUrl);
  // What the shared hooks refuse before a handler runs (a NUL in the path, query or form:
  // nul-guard.ts) is answered in OAuth's words; the root's handler made these a 500.
  app.setErrorHandler((err, _request, reply) => {
    if (err instanceof DomainError && err.code === 'VALIDATION_FAILED') return oauthError(reply, 400, 'invalid_request', Object.values(err.fields ?? {})[0]?.[0] ?? err.message);
    if (err instanceof DomainError && err.code === 'NOT_FOUND') return oauthError(reply, 404, 'invalid_request', err.message);
    return reply.send(err); // to the root's handler, as before
  });
  // The pages the provider draws inside its own handling (no Fastify request): they hold no form
  // of the pages (the logout form carries the provider's own xsrf field), so no form cookie is set.
  const contextFor = (tenant: Tenant, headers: Record<string, unknown>, uiLocales?: string) =>
    pages.pageContext(core, { headers, cookies: {} } as unknown as FastifyRequest, { tenant, uiLocales, reply: { setCookie: () => undefined } as unknown as FastifyReply });
  const providers = new OidcProviders(core, opts.publicUrl, {
    async error(tenant, { status, error, description, headers, uiLocales }) {
      const ctx = await contextFor(tenant, headers, uiLocales);
      return { html: pages.renderError(ctx, { status, ...providerError(ctx, error, description) }), headers: pages.pageHeaders() };
    },
    async logout(tenant, { form, clientName, headers, uiLocales }) {
      const ctx = await contextFor(tenant, headers, uiLocales);
      const action = /action="([^"]*)"/.exec(form)?.[1] ?? '';
      const hidden = Object.fromEntries([...form.matchAll(/<input type="hidden" name="([^"]*)" value="([^"]*)"\/?>/g)].map((m) => [m[1]!, m[2]!]));
      // The confirmation ends in a redirect to the client's post_logout_redirect_uri: no form-action 'self'.
      return { html: pages.renderLogoutConfirm(ctx, { action, hidden, clientName }), headers: pages.pageHeaders(ANY) };
    },
    async loggedOut(tenant, { headers, uiLocales }) {
      return { html: pages.renderSignedOut(await contextFor(tenant, headers, uiLocales)), headers: pages.pageHeaders() };
    },
  });

  /** An unknown or disabled tenant: its issuer does not exist. */
  async function providerOr404(request: FastifyRequest, reply: FastifyReply): Promise<TenantProvider | undefined> {
    try {
      return await providers.get(tenantOf(request));
    } catch (err) {
      if (err instanceof DomainError && err.code === 'TENANT_UNAVAILABLE') {
        await reply.code(404).header('cache-control', 'no-store').send({ error: 'invalid_request', error_description: 'Unknown issuer.' });
        return undefined;
      }
      throw err;
    }
  }

  async function handOff(request: FastifyRequest, reply: FastifyReply) {
    const tp = await providerOr404(request, reply);
    if (!tp) return reply;
    const raw = request.raw as RawRequest;
    const url = raw.url ?? '/';
    const path = url.slice(tp.basePath.length) || '/';
    // One key set for every issuer and API: the provider's JWKS route answers the key ring's.
    if (path.split('?')[0] === '/oidc/jwks') return reply.header('cache-control', 'public, max-age=60').send(await core.keys.jwks());
    raw.originalUrl = url;
    raw.url = path;
    // The provider builds its URLs from the request: make them PUBLIC_URL's (provider.proxy is on).
    raw.headers['x-forwarded-host'] = pub.host;
    raw.headers['x-forwarded-proto'] = pub.protocol.slice(0, -1);
    delete raw.headers['x-forwarded-prefix'];
    reply.hijack();
    await tp.provider.callback()(raw, reply.raw);
    return reply;
  }

  // The machine-to-machine endpoints answer here, through the core (ClientGrants), without the
  // provider: the client-credentials grant, and introspection and revocation of the service's
  // JWT access tokens. The provider keeps every other grant and its own opaque tokens (refresh
  // tokens): the form is handed on to it, a JWT of its code flow as its jti (provider.ts).
  await app.register(async (inner) => {
    inner.removeAllContentTypeParsers();
    inner.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    inner.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));

    /** Hands the form on to the provider (as parsed here), `token` swapped for its jti when it is a JWT of ours. */
    const toProvider = async (request: FastifyRequest, reply: FastifyReply, form: URLSearchParams | undefined) => {
      if (form) {
        const token = form.get('token');
        if (token && token.split('.').length === 3) {
          const jti = await core.accessTokens.verify(token).then((c) => c.jti, () => undefined);
          // A JWT that is not one of ours (or no longer valid) is an unknown token: inactive, or nothing to revoke.
          form.set('token', jti ?? 'unknown');
        }
        (request.raw as RawRequest).body = form.toString();
      }
      return handOff(request, reply);
    };

    /** The form and the tenant of a machine-to-machine request; undefined when the answer is already sent. */
    async function m2m(request: FastifyRequest, reply: FastifyReply): Promise<{ form: URLSearchParams; tenant: Tenant } | 'provider' | undefined> {
      if (typeof request.body !== 'string') return 'provider';
      let tenant: Tenant;
      try {
        tenant = await core.tenants.resolve(tenantOf(request));
      } catch (err) {
        if (err instanceof DomainError && err.code === 'TENANT_UNAVAILABLE') {
          await reply.code(404).header('cache-control', 'no-store').send({ error: 'invalid_request', error_description: 'Unknown issuer.', detail: 'Unknown issuer.' });
          return undefined;
        }
        throw err;
      }
      return { form: new URLSearchParams(request.body), tenant };
    }

    /** The client of the request (client_secret_basic or client_secret_post, or a public client's id), authenticated; undefined when refused (answered). */
    async function client(request: FastifyRequest, reply: FastifyReply, tenant: Tenant, form: URLSearchParams) {
      const auth = request.headers.authorization;
      let id: string | undefined;
      let secret: string | undefined;
      const basic = typeof auth === 'string' && /^basic /i.test(auth);
      try {
        if (basic) {
          const decoded = Buffer.from(auth.slice(6).trim(), 'base64').toString('utf8');
          const i = decoded.indexOf(':');
          if (i < 0) throw new DomainError('INVALID_CLIENT', 'Malformed Basic credentials.');
          // RFC 6749 2.3.1: both parts are form-encoded before Basic.
          const dec = (v: string) => decodeURIComponent(v.replace(/\+/g, ' '));
          id = dec(decoded.slice(0, i));
          secret = dec(decoded.slice(i + 1));
          if (form.has('client_secret')) return oauthError(reply, 400, 'invalid_request', 'Use one client authentication method, not two.');
        } else {
          id = form.get('client_id') ?? undefined;
          secret = form.get('client_secret') ?? undefined;
        }
        if (form.getAll('client_id').length > 1 || form.getAll('client_secret').length > 1) return oauthError(reply, 400, 'invalid_request', 'A parameter is repeated.');
        if (!id) throw new DomainError('INVALID_CLIENT', 'Client authentication is required.');
        return await core.clients.authenticate(tenant, id, secret);
      } catch (err) {
        if (err instanceof URIError) return oauthError(reply, 401, 'invalid_client', 'Malformed Basic credentials.', basic);
        if (err instanceof DomainError && err.code === 'INVALID_CLIENT') return oauthError(reply, 401, 'invalid_client', err.message, basic);
        throw err;
      }
    }

    const token = async (request: FastifyRequest, reply: FastifyReply) => {
      const got = await m2m(request, reply);
      if (got === undefined) return reply;
      if (got === 'provider' || got.form.get('grant_type') !== 'client_credentials') return toProvider(request, reply, got === 'provider' ? undefined : got.form);
      const { form, tenant } = got;
      if (form.getAll('grant_type').length > 1 || form.getAll('scope').length > 1) return oauthError(reply, 400, 'invalid_request', 'A parameter is repeated.');
      const c = await client(request, reply, tenant, form);
      if (!c) return reply;
      try {
        const t = await core.clientGrants.issue(tenant, c, form.get('scope') ?? undefined);
        return reply.code(200).headers(NO_STORE).send({ access_token: t.accessToken, expires_in: t.expiresIn, token_type: 'Bearer', ...(t.scope ? { scope: t.scope } : {}) });
      } catch (err) {
        if (err instanceof DomainError && err.code === 'UNAUTHORIZED_CLIENT') return oauthError(reply, 400, 'unauthorized_client', err.message);
        if (err instanceof DomainError && err.code === 'INVALID_SCOPE') return oauthError(reply, 400, 'invalid_scope', err.message);
        throw err;
      }
    };

    /**
     * The prelude of introspection and revocation: the form's one JWT access token with the client
     * that authenticated for it, or `undefined` once the request has been answered (refused, or
     * handed to the provider, which holds every other kind of token).
     */
    const ownToken = async (request: FastifyRequest, reply: FastifyReply) => {
      const got = await m2m(request, reply);
      if (got === undefined) return undefined;
      const token = got === 'provider' ? null : got.form.get('token');
      if (got === 'provider' || !token || token.split('.').length !== 3 || got.form.getAll('token').length > 1) {
        await toProvider(request, reply, got === 'provider' ? undefined : got.form);
        return undefined;
      }
      const c = await client(request, reply, got.tenant, got.form);
      return c ? { tenant: got.tenant, client: c, form: got.form, token } : undefined;
    };

    const introspection = async (request: FastifyRequest, reply: FastifyReply) => {
      const own = await ownToken(request, reply);
      if (!own) return reply;
      const answer = await core.clientGrants.introspect(own.tenant, own.client, own.token);
      if (!answer) return toProvider(request, reply, own.form);
      return reply.code(200).headers(NO_STORE).send(answer);
    };

    const revocation = async (request: FastifyRequest, reply: FastifyReply) => {
      const own = await ownToken(request, reply);
      if (!own) return reply;
      if (await core.clientGrants.revoke(own.tenant, own.client, own.token)) return reply.code(200).headers(NO_STORE).send('');
      return toProvider(request, reply, own.form);
    };

    for (const prefix of ['', '/tenants/:tenant']) {
      inner.post(`${prefix}/oidc/token`, { schema: { hide: true } }, token);
      inner.post(`${prefix}/oidc/token/introspection`, { schema: { hide: true } }, introspection);
      inner.post(`${prefix}/oidc/token/revocation`, { schema: { hide: true } }, revocation);
    }
  });

  // The provider reads its own bodies: these routes leave the stream unread.
  await app.register(async (inner) => {
    inner.removeAllContentTypeParsers();
    inner.addContentTypeParser('*', (_request, _payload, done) => done(null, undefined));
    for (const prefix of ['', '/tenants/:tenant']) {
      inner.get(`${prefix}/.well-known/openid-configuration`, {
        schema: {
          tags: ['oidc'], operationId: prefix ? 'oidc_discovery_tenant' : 'oidc_discovery',
          summary: prefix ? 'OpenID Connect discovery of tenant NAME (issuer PUBLIC_URL/tenants/NAME)' : 'OpenID Connect discovery of the default tenant (issuer PUBLIC_URL)',
          description: 'The provider metadata (OpenID Connect Discovery 1.0): issuer, authorization_endpoint, token_endpoint, userinfo_endpoint, jwks_uri, introspection_endpoint, revocation_endpoint, end_session_endpoint (all under the issuer\'s /oidc/), scopes_supported, grant_types_supported, code_challenge_methods_supported. 404 for an unknown or disabled tenant. See docs/oidc.md.',
          ...(prefix ? { params: { type: 'object', properties: { tenant: { type: 'string', description: 'The tenant\'s name' } }, required: ['tenant'] } } : {}),
          response: { 200: { type: 'object', additionalProperties: true, properties: { issuer: { type: 'string', format: 'uri' }, authorization_endpoint: { type: 'string' }, token_endpoint: { type: 'string' }, jwks_uri: { type: 'string' } } } },
        },
      }, handOff);
      inner.all(`${prefix}/oidc/*`, { schema: { hide: true } }, handOff);
    }
  });

  for (const prefix of ['', '/tenants/:tenant']) {
    app.get(`${prefix}${INTERACTION_PATH}/:uid`, { schema: { hide: true } }, async (request, reply) => {
      const tp = await providerOr404(request, reply);
      if (!tp) return reply;
      return interaction(tp, request, reply, async (details) => {
        const ctx = await pages.pageContext(core, request, { tenant: tp.tenant, uiLocales: str(details.params.ui_locales), reply });
        const action = `${tp.basePath}${INTERACTION_PATH}/${details.uid}`;
        if (details.prompt.name === 'login') {
          // login_hint `idp:<id>`: the sign-in goes to that upstream identity provider and back to `${action}/upstream`.
          // Without a hint, the tenant's `oidc_upstream_provider` (when set).
          const hint = str(details.params.login_hint);
          const upstream = hint?.startsWith('idp:') ? hint.slice(4) : hint ? undefined : (await core.settings.forTenant(tp.tenant.pk)).oidc_upstream_provider || undefined;
          let error: string | undefined;
          if (upstream) {
            try {
              const begun = await core.upstreamSignIn.begin({ tenant: tp.tenant.name === 'default' ? undefined : tp.tenant.name, provider: upstream, purpose: 'interaction', next: `${action}/upstream` });
              setUpstreamBinding(reply, begun.binding, opts.publicUrl);
              return reply.redirect(begun.url, 303);
            } catch (err) {
              if (!(err instanceof DomainError) || err.code === 'RATE_LIMITED') throw err;
              error = err.message;
            }
          }
          return pages.sendPage(reply, pages.renderSignIn(ctx, { action: `${action}/login`, error, loginHint: hint?.startsWith('idp:') ? undefined : hint, extras: pages.drawSignInExtras(ctx, { context: 'oidc', step: 'password', action: `${action}/login` }) }), error ? 400 : 200, ANY);
        }
        const client = await tp.provider.Client.find(String(details.params.client_id));
        const scopes = [...new Set([...(details.prompt.details.missingOIDCScope as string[] | undefined ?? [])])];
        return pages.sendPage(reply, pages.renderConsent(ctx, { action: `${action}/confirm`, clientName: client?.clientName ?? String(details.params.client_id), scopes }), 200, ANY);
      });
    });

    app.post(`${prefix}${INTERACTION_PATH}/:uid/login`, { schema: { hide: true } }, (request, reply) => formPost(request, reply, async (tp, details, ctx, body) => {
      if (details.prompt.name !== 'login') return reply.redirect(`${tp.basePath}${INTERACTION_PATH}/${details.uid}`, 303);
      const identifier = str(body.login) ?? '';
      const password = str(body.password) ?? '';
      const action = `${tp.basePath}${INTERACTION_PATH}/${details.uid}/login`;
      const twoFactors = asksTwoFactors(details.params);
      let outcome;
      try {
        const client = await core.clients.identify(tp.tenant, String(details.params.client_id));
        outcome = await core.signIn.start({
          tenant: tp.tenant.name === 'default' ? undefined : tp.tenant.name,
          factor: { method: 'password', by: identifier.includes('@') ? 'email' : 'username', identifier, password },
          // A client asking for two factors gets the code even on a browser trusted to skip it.
          issue: { kind: 'identity' }, client, continuable: true, trustToken: twoFactors ? undefined : pages.trustCookie(request),
        });
      } catch (err) {
        const message = pages.signInErrorMessage(ctx, err);
        if (message === undefined) throw err;
        const status = err instanceof DomainError && err.code === 'RATE_LIMITED' ? 429 : 400;
        return pages.sendPage(reply, pages.renderSignIn(ctx, { action, error: message, loginHint: identifier }), status, ANY);
      }
      if (outcome.status === 'pending') {
        if (outcome.step === 'mfa_authenticate') {
          // The second factor's step (the hosted pages' own form), its token in a cookie of this interaction's path.
          pages.setFlowCookie(request, reply, outcome.flowToken, interactionPath(tp, details.uid), outcome.expiresAt);
          return pages.sendPage(reply, await mfaForm(tp, details, ctx, twoFactors, outcome.flowToken), 200, ANY);
        }
        if (outcome.step === 'mfa_enroll') {
          return pages.sendPage(reply, pages.renderError(ctx, { status: 403, title: ctx.t('securityTitle'), message: ctx.t('mfaEnrolRequiredOidc'), link: { href: `${tp.basePath}/account/login/?next=${encodeURIComponent(`${tp.basePath}/account/security/`)}`, label: ctx.t('securityTitle') } }), 403, ANY);
        }
        return pages.sendPage(reply, pages.renderSignIn(ctx, { action, error: ctx.t('verifyFirst'), loginHint: identifier }), 403, ANY);
      }
      return signedIn(tp, request, reply, outcome.user.id, outcome.amr, twoFactors);
    }));

    // Back from an upstream identity provider (REST-auth's callback forwards its query here): the upstream first factor, then as a password sign-in.
    app.get(`${prefix}${INTERACTION_PATH}/:uid/upstream`, { schema: { hide: true } }, async (request, reply) => {
      const tp = await providerOr404(request, reply);
      if (!tp) return reply;
      return interaction(tp, request, reply, async (details) => {
        const ctx = await pages.pageContext(core, request, { tenant: tp.tenant, uiLocales: str(details.params.ui_locales), reply });
        if (details.prompt.name !== 'login') return reply.redirect(interactionPath(tp, details.uid), 303);
        const query = new URLSearchParams(request.url.slice(request.url.indexOf('?') + 1 || request.url.length));
        const provider = query.get('provider') ?? '';
        query.delete('provider');
        const binding = upstreamBinding(request);
        clearUpstreamBinding(reply);
        const twoFactors = asksTwoFactors(details.params);
        let outcome;
        try {
          const client = await core.clients.identify(tp.tenant, String(details.params.client_id));
          outcome = await core.signIn.start({
            tenant: tp.tenant.name === 'default' ? undefined : tp.tenant.name, issue: { kind: 'identity' }, client, continuable: true,
            factor: { method: 'upstream', provider, callback: `${opts.publicUrl}/api/auth/social/${encodeURIComponent(provider)}/callback/?${query}`, binding },
          });
        } catch (err) {
          if (!(err instanceof DomainError)) throw err;
          const message = err.fields?.non_field_errors?.[0] ?? pages.signInErrorMessage(ctx, err) ?? err.message;
          return pages.sendPage(reply, pages.renderSignIn(ctx, { action: `${interactionPath(tp, details.uid)}/login`, error: message }), err.code === 'UNAVAILABLE' ? 503 : 400, ANY);
        }
        if (outcome.status === 'pending') {
          if (outcome.step === 'mfa_authenticate') {
            pages.setFlowCookie(request, reply, outcome.flowToken, interactionPath(tp, details.uid), outcome.expiresAt);
            return pages.sendPage(reply, await mfaForm(tp, details, ctx, twoFactors, outcome.flowToken), 200, ANY);
          }
          return pages.sendPage(reply, pages.renderSignIn(ctx, { action: `${interactionPath(tp, details.uid)}/login`, error: ctx.t(outcome.step === 'mfa_enroll' ? 'mfaEnrolRequiredOidc' : 'verifyFirst') }), 403, ANY);
        }
        return signedIn(tp, request, reply, outcome.user.id, outcome.amr, twoFactors);
      });
    });

    app.post(`${prefix}${INTERACTION_PATH}/:uid/mfa`, { schema: { hide: true } }, (request, reply) => formPost(request, reply, async (tp, details, ctx, body) => {
      if (details.prompt.name !== 'login') return reply.redirect(interactionPath(tp, details.uid), 303);
      const twoFactors = asksTwoFactors(details.params);
      const flow = pages.flowCookie(request);
      const restart = () => {
        pages.clearFlowCookie(reply, interactionPath(tp, details.uid));
        return pages.sendPage(reply, pages.renderSignIn(ctx, { action: `${interactionPath(tp, details.uid)}/login`, error: ctx.t('signInExpired') }), 400, ANY);
      };
      if (!flow) return restart();
      const code = (str(body.code) ?? '').slice(0, 200).trim();
      if (!code) return pages.sendPage(reply, await mfaForm(tp, details, ctx, twoFactors, flow, ctx.t('missingFields')), 400, ANY);
      let outcome;
      try {
        outcome = await core.signIn.continue(flow, { step: 'mfa_authenticate', code });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        if (err.code === 'VALIDATION_FAILED') return pages.sendPage(reply, await mfaForm(tp, details, ctx, twoFactors, flow, ctx.t('mfaWrong')), 400, ANY);
        if (err.code === 'RATE_LIMITED') return pages.sendPage(reply, await mfaForm(tp, details, ctx, twoFactors, flow, ctx.t('rateLimited', { seconds: err.retryAfter ?? 1 })), 429, ANY);
        if (err.code === 'ACCOUNT_LOCKED') return pages.sendPage(reply, await mfaForm(tp, details, ctx, twoFactors, flow, ctx.t('accountLocked')), 401, ANY);
        if (err.code === 'TOKEN_INVALID' || err.code === 'TENANT_UNAVAILABLE') return restart();
        throw err;
      }
      pages.clearFlowCookie(reply, interactionPath(tp, details.uid));
      if (outcome.status !== 'completed') return restart();
      if (body.trust === 'yes') {
        const settings = await core.settings.forTenant(tp.tenant.pk);
        if (settings.trust_browser_days > 0) {
          const trust = await core.secondFactors.trustBrowser(outcome.tenant, outcome.user, settings.trust_browser_days);
          pages.setTrustCookie(request, reply, trust.token, trust.expiresAt);
        }
      }
      return signedIn(tp, request, reply, outcome.user.id, outcome.amr, twoFactors, { ctx, recoveryCodesLeft: outcome.recoveryCodesLeft });
    }));

    // A passkey inside the interaction: alone, at the sign-in (login/passkey), or as the second step (mfa/passkey). pages/passkey-routes.ts draws the same for the standalone pages.
    const passkeyLoginPage = async (tp: TenantProvider, details: Details, ctx: pages.PageContext, error?: string) => pages.renderPasskeyCeremony(ctx, {
      title: ctx.t('passkeySignIn'), intro: ctx.t('passkeySignInIntro', { tenant: ctx.theme.displayName }), action: `${interactionPath(tp, details.uid)}/login/passkey`, mode: 'get',
      options: await core.passkeys.authenticationOptions(tp.tenant, undefined, 'login'), button: ctx.t('passkeyUseButton'), error,
      back: { href: interactionPath(tp, details.uid), label: ctx.t('passkeyBackToPassword') },
    });
    const passkeyMfaPage = async (tp: TenantProvider, details: Details, ctx: pages.PageContext, flow: string, error?: string) => {
      const options = await pages.secondStepOptions(core, tp.tenant, flow);
      if (!options) return undefined;
      const trustDays = asksTwoFactors(details.params) ? 0 : (await core.settings.forTenant(tp.tenant.pk)).trust_browser_days;
      return pages.renderPasskeyCeremony(ctx, {
        title: ctx.t('passkeyMfaTitle'), intro: ctx.t('passkeyMfaIntro'), action: `${interactionPath(tp, details.uid)}/mfa/passkey`, mode: 'get', options,
        button: ctx.t('passkeyUseButton'), error, trustDays, back: { href: interactionPath(tp, details.uid), label: ctx.t('mfaCancel') },
      });
    };

    app.get(`${prefix}${INTERACTION_PATH}/:uid/login/passkey`, { schema: { hide: true } }, async (request, reply) => {
      const tp = await providerOr404(request, reply);
      if (!tp) return reply;
      return interaction(tp, request, reply, async (details) => {
        if (details.prompt.name !== 'login') return reply.redirect(interactionPath(tp, details.uid), 303);
        const ctx = await pages.pageContext(core, request, { tenant: tp.tenant, uiLocales: str(details.params.ui_locales), reply });
        return pages.sendPage(reply, await passkeyLoginPage(tp, details, ctx), 200, ANY);
      });
    });

    app.post(`${prefix}${INTERACTION_PATH}/:uid/login/passkey`, { schema: { hide: true } }, (request, reply) => formPost(request, reply, async (tp, details, ctx, body) => {
      if (details.prompt.name !== 'login') return reply.redirect(interactionPath(tp, details.uid), 303);
      const credential = pages.credentialOf(body);
      if (!credential) return pages.sendPage(reply, await passkeyLoginPage(tp, details, ctx, pages.missingCredential(ctx, body)), 400, ANY);
      let outcome;
      try {
        const client = await core.clients.identify(tp.tenant, String(details.params.client_id));
        outcome = await core.signIn.start({
          tenant: tp.tenant.name === 'default' ? undefined : tp.tenant.name, factor: { method: 'webauthn', response: credential }, issue: { kind: 'identity' }, client, continuable: true,
        });
      } catch (err) {
        const message = pages.signInErrorMessage(ctx, err);
        if (message === undefined) throw err;
        const e = err as DomainError;
        return pages.sendPage(reply, await passkeyLoginPage(tp, details, ctx, e.code === 'INVALID_CREDENTIALS' || e.code === 'VALIDATION_FAILED' ? ctx.t('passkeyFailed') : message), e.code === 'RATE_LIMITED' ? 429 : 400, ANY);
      }
      // A passkey proves `webauthn`, the second step too; what may still wait is the e-mail.
      if (outcome.status === 'pending') return pages.sendPage(reply, pages.renderSignIn(ctx, { action: `${interactionPath(tp, details.uid)}/login`, error: ctx.t('verifyFirst') }), 403, ANY);
      return signedIn(tp, request, reply, outcome.user.id, outcome.amr, asksTwoFactors(details.params));
    }));

    app.get(`${prefix}${INTERACTION_PATH}/:uid/mfa/passkey`, { schema: { hide: true } }, async (request, reply) => {
      const tp = await providerOr404(request, reply);
      if (!tp) return reply;
      return interaction(tp, request, reply, async (details) => {
        const flow = pages.flowCookie(request);
        const ctx = await pages.pageContext(core, request, { tenant: tp.tenant, uiLocales: str(details.params.ui_locales), reply });
        const page = details.prompt.name === 'login' && flow ? await passkeyMfaPage(tp, details, ctx, flow) : undefined;
        if (!page) return reply.redirect(interactionPath(tp, details.uid), 303);
        return pages.sendPage(reply, page, 200, ANY);
      });
    });

    app.post(`${prefix}${INTERACTION_PATH}/:uid/mfa/passkey`, { schema: { hide: true } }, (request, reply) => formPost(request, reply, async (tp, details, ctx, body) => {
      if (details.prompt.name !== 'login') return reply.redirect(interactionPath(tp, details.uid), 303);
      const flow = pages.flowCookie(request);
      const restart = () => {
        pages.clearFlowCookie(reply, interactionPath(tp, details.uid));
        return pages.sendPage(reply, pages.renderSignIn(ctx, { action: `${interactionPath(tp, details.uid)}/login`, error: ctx.t('signInExpired') }), 400, ANY);
      };
      if (!flow) return restart();
      const again = async (error: string, status: number) => {
        const page = await passkeyMfaPage(tp, details, ctx, flow, error);
        return page ? pages.sendPage(reply, page, status, ANY) : restart();
      };
      const credential = pages.credentialOf(body);
      if (!credential) return again(pages.missingCredential(ctx, body), 400);
      let outcome;
      try {
        outcome = await core.signIn.continue(flow, { step: 'mfa_authenticate', webauthn: credential });
      } catch (err) {
        if (!(err instanceof DomainError)) throw err;
        if (err.code === 'VALIDATION_FAILED') return again(ctx.t('passkeyFailed'), 400);
        if (err.code === 'RATE_LIMITED') return again(ctx.t('rateLimited', { seconds: err.retryAfter ?? 1 }), 429);
        if (err.code === 'ACCOUNT_LOCKED') return again(ctx.t('accountLocked'), 401);
        if (err.code === 'TOKEN_INVALID' || err.code === 'TENANT_UNAVAILABLE') return restart();
        throw err;
      }
      pages.clearFlowCookie(reply, interactionPath(tp, details.uid));
      if (outcome.status !== 'completed') return restart();
      const twoFactors = asksTwoFactors(details.params);
      if (body.trust === 'yes' && !twoFactors) {
        const settings = await core.settings.forTenant(tp.tenant.pk);
        if (settings.trust_browser_days > 0) {
          const trust = await core.secondFactors.trustBrowser(outcome.tenant, outcome.user, settings.trust_browser_days);
          pages.setTrustCookie(request, reply, trust.token, trust.expiresAt);
        }
      }
      return signedIn(tp, request, reply, outcome.user.id, outcome.amr, twoFactors);
    }));

    app.post(`${prefix}${INTERACTION_PATH}/:uid/confirm`, { schema: { hide: true } }, (request, reply) => formPost(request, reply, async (tp, details, ctx, body) => {
      if (details.prompt.name !== 'consent' || !details.session?.accountId) return reply.redirect(`${tp.basePath}${INTERACTION_PATH}/${details.uid}`, 303);
      if (body.decision !== 'allow') {
        const to = await tp.provider.interactionResult(request.raw, reply.raw, { error: 'access_denied', error_description: 'The user did not allow access.' }, { mergeWithLastSubmission: false });
        return reply.redirect(to, 303);
      }
      const grantId = await grantFor(tp, details);
      const to = await tp.provider.interactionResult(request.raw, reply.raw, { consent: { grantId } }, { mergeWithLastSubmission: true });
      return reply.redirect(to, 303);
    }));
  }

  type Details = Awaited<ReturnType<TenantProvider['provider']['interactionDetails']>>;

  const interactionPath = (tp: TenantProvider, uid: string) => `${tp.basePath}${INTERACTION_PATH}/${uid}`;

  /** The second factor's form inside the interaction (no "trust this browser" when the client asks for two factors). */
  async function mfaForm(tp: TenantProvider, details: Details, ctx: pages.PageContext, twoFactors: boolean, flow: string | undefined, error?: string) {
    const settings = await core.settings.forTenant(tp.tenant.pk);
    return pages.renderMfaCode(ctx, {
      action: `${interactionPath(tp, details.uid)}/mfa`, error, trustDays: twoFactors ? 0 : settings.trust_browser_days,
      cancelHref: interactionPath(tp, details.uid),
      extras: pages.drawSignInExtras(ctx, { context: 'oidc', step: 'mfa', action: `${interactionPath(tp, details.uid)}/mfa`, methods: await pages.methodsOfFlow(core, flow) }),
    });
  }

  /**
   * The sign-in's end: the provider's session records `amr` (RFC 8176) and `acr` (acr.ts), which
   * the ID and access tokens carry. One factor where the client asked for two is refused in
   * OpenID Connect's words (unmet_authentication_requirements, to the client).
   */
  async function signedIn(
    tp: TenantProvider, request: FastifyRequest, reply: FastifyReply, accountId: string, amr: string[], twoFactors: boolean,
    recovery?: { ctx: pages.PageContext; recoveryCodesLeft?: number },
  ) {
    const acr = acrOf(amr);
    const result = twoFactors && acr !== ACR_2FA
      ? { error: 'unmet_authentication_requirements', error_description: 'The account has no second factor.' }
      : { login: { accountId, amr: oidcAmr(amr), acr } };
    const to = await tp.provider.interactionResult(request.raw, reply.raw, result, { mergeWithLastSubmission: false });
    // After a recovery code, the person is told how many are left before going on to the client.
    if (recovery?.recoveryCodesLeft !== undefined) return pages.sendPage(reply, pages.renderRecoveryUsed(recovery.ctx, { left: recovery.recoveryCodesLeft, next: to }), 200, ANY);
    return reply.redirect(to, 303);
  }

  /** A form posted to an interaction: its provider, its interaction and page context, and the form's CSRF token checked (403 page). */
  async function formPost(
    request: FastifyRequest, reply: FastifyReply,
    fn: (tp: TenantProvider, details: Details, ctx: Awaited<ReturnType<typeof pages.pageContext>>, body: Record<string, unknown>) => Promise<FastifyReply>,
  ): Promise<FastifyReply> {
    const tp = await providerOr404(request, reply);
    if (!tp) return reply;
    return interaction(tp, request, reply, async (details) => {
      const ctx = await pages.pageContext(core, request, { tenant: tp.tenant, uiLocales: str(details.params.ui_locales), reply });
      const body = (request.body ?? {}) as Record<string, unknown>;
      if (!pages.verifyFormCsrf(request, body.csrf_token)) {
        return pages.sendPage(reply, pages.renderError(ctx, { status: 403, title: ctx.t('csrfTitle'), message: ctx.t('csrfMessage') }), 403);
      }
      return fn(tp, details, ctx, body);
    });
  }

  /** Runs `fn` on the interaction of this browser, or shows an error page when there is none (expired, another browser's). */
  async function interaction(tp: TenantProvider, request: FastifyRequest, reply: FastifyReply, fn: (details: Details) => Promise<FastifyReply>) {
    const expired = async () => {
      const ctx = await pages.pageContext(core, request, { tenant: tp.tenant, reply });
      return pages.sendPage(reply, pages.renderError(ctx, { status: 400, title: ctx.t('signInExpiredTitle'), message: ctx.t('signInExpired') }), 400);
    };
    let details: Details;
    try {
      details = await tp.provider.interactionDetails(request.raw, reply.raw);
    } catch {
      return expired();
    }
    if (details.uid !== (request.params as { uid: string }).uid) return expired();
    try {
      return await fn(details);
    } catch (err) {
      // A page that begins a sign-in (a passkey's, an upstream provider's) counts it per address.
      if (!(err instanceof DomainError) || err.code !== 'RATE_LIMITED') throw err;
      const ctx = await pages.pageContext(core, request, { tenant: tp.tenant, reply });
      return pages.sendRateLimited(reply, pages.renderRateLimited(ctx, err.retryAfter ?? 1), err.retryAfter ?? 1);
    }
  }
}

/** The grant of the consent: the existing one of the interaction, or a new one, with what the prompt found missing. */
async function grantFor(tp: TenantProvider, details: Awaited<ReturnType<TenantProvider['provider']['interactionDetails']>>): Promise<string> {
  const { Grant } = tp.provider;
  const missing = details.prompt.details as { missingOIDCScope?: string[]; missingOIDCClaims?: string[]; missingResourceScopes?: Record<string, string[]> };
  const grant = (details.grantId ? await Grant.find(details.grantId) : undefined)
    ?? new Grant({ accountId: details.session!.accountId, clientId: String(details.params.client_id) });
  if (missing.missingOIDCScope) grant.addOIDCScope(missing.missingOIDCScope.join(' '));
  if (missing.missingOIDCClaims) grant.addOIDCClaims(missing.missingOIDCClaims);
  for (const [indicator, scopes] of Object.entries(missing.missingResourceScopes ?? {})) grant.addResourceScope(indicator, scopes.join(' '));
  return grant.save();
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

/** The words of an error the provider answers with a page (it could not redirect to the client). */
function providerError(ctx: pages.PageContext, error: string, description: string): { title: string; message: string } {
  switch (error) {
    case 'invalid_redirect_uri': return { title: ctx.t('oidcRedirectTitle'), message: ctx.t('oidcRedirect') };
    case 'invalid_client': return { title: ctx.t('oidcClientTitle'), message: ctx.t('oidcClient', { tenant: ctx.theme.displayName }) };
    default: return { title: ctx.t('oidcErrorTitle'), message: ctx.t('oidcError', { detail: description ? `${error}: ${description}` : error }) };
  }
}

export type { Tenant };
