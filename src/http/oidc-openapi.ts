// The OpenID provider's own endpoints in the OpenAPI document. oidc-provider serves them behind
// wildcard routes (oidc-routes.ts) that Fastify cannot describe, and the routes answered before it
// (token, introspection, revocation) take no body schema (the provider reads the raw form), so
// they are written here, once, and seeded into the document by server.ts: for the default
// tenant's issuer (PUBLIC_URL) and for every tenant's (PUBLIC_URL/tenants/{tenant}). The paths are
// provider.ts's ROUTES, the ones discovery names. Only what the provider serves is listed: it
// answers the authorization and end-session endpoints by GET only (oidc-provider's
// enableHttpPostMethods is off).
import { ROUTES } from '../oidc/provider.ts';

type Json = Record<string, unknown>;

const text = (description: string, extra: Json = {}): Json => ({ type: 'string', description, ...extra });

/** The OAuth 2.0 error answer (RFC 6749 5.2) of every provider endpoint, with `detail` as the service's other token endpoints. */
const OAUTH_ERROR: Json = {
  type: 'object',
  required: ['error', 'error_description'],
  properties: {
    error: text('The OAuth 2.0 error code: invalid_request, invalid_client, invalid_grant, unauthorized_client, unsupported_grant_type, invalid_scope, invalid_token, insufficient_scope, ...'),
    error_description: text('Why, in words'),
    detail: text('The same words as error_description (as the other token endpoints of the service answer)'),
  },
  additionalProperties: true,
};

const NO_STORE = { 'Cache-Control': { description: '`no-store`', schema: { type: 'string' } } };

const oauthError = (description: string, headers: Json = NO_STORE): Json => ({ description, headers, content: { 'application/json': { schema: OAUTH_ERROR } } });
const html = (description: string): Json => ({ description, content: { 'text/html': { schema: { type: 'string' } } } });

const UNKNOWN_ISSUER = oauthError('No such tenant, or it is disabled: its issuer does not exist');

const TENANT_PARAM: Json = { name: 'tenant', in: 'path', required: true, schema: { type: 'string' }, description: 'The tenant\'s name (its issuer is PUBLIC_URL/tenants/{tenant})' };

const query = (name: string, schema: Json, description: string, required = false): Json => ({ name, in: 'query', required, schema, description });

/** Client authentication, as every endpoint below that takes it accepts it. */
const CLIENT_AUTH = 'Client authentication: `client_secret_basic` (HTTP Basic with the client id and secret, each form-encoded first, RFC 6749 2.3.1) or `client_secret_post` (`client_id` and `client_secret` in the form), not both; a public client sends only its `client_id` (`none`).';

const CLIENT_FIELDS: Json = {
  client_id: text('The client\'s id: with `client_secret` (client_secret_post), or alone for a public client. Not with HTTP Basic'),
  client_secret: text('The client\'s secret (client_secret_post); or send both by HTTP Basic (client_secret_basic)'),
};

const form = (schema: Json, required = true): Json => ({ required, content: { 'application/x-www-form-urlencoded': { schema } } });

const TOKEN_ANSWER: Json = {
  type: 'object',
  required: ['access_token', 'token_type', 'expires_in'],
  properties: {
    access_token: text('The service\'s access JWT (`typ: at+jwt`, ES256 or RS256, in the JWKS); also accepted as `Bearer` by the service\'s APIs'),
    token_type: text('`Bearer`', { enum: ['Bearer'] }),
    expires_in: { type: 'integer', description: 'Seconds the access token lives (the tenant\'s access_token_lifetime)' },
    scope: text('The granted scopes, space-separated'),
    refresh_token: text('Opaque; rotated on every use (a reused one revokes the grant). With offline_access (and prompt=consent), or for a first-party client registered for refresh_token'),
    id_token: text('The ID token (a JWT) when `openid` was granted: sub, acr, amr, auth_time, and the claims of the granted scopes'),
  },
  additionalProperties: true,
};

const INTROSPECTION_ANSWER: Json = {
  type: 'object',
  required: ['active'],
  properties: {
    active: { type: 'boolean', description: 'Whether the token is live and the asking client may learn of it; when false nothing else is said' },
    sub: text('The user\'s UUID, or the client id for a client-credentials token'),
    client_id: text('The client the token was issued to'),
    scope: text('The token\'s scopes, space-separated'),
    username: text('The user\'s username'),
    token_type: text('`Bearer` for an access token, `refresh_token` for a refresh token'),
    exp: { type: 'integer', description: 'Expiry (seconds since the epoch)' },
    iat: { type: 'integer', description: 'Issued at (seconds since the epoch)' },
    iss: text('The issuer'),
    jti: text('The token\'s id'),
    aud: text('The audience, when the tenant\'s token_audience names one'),
  },
  additionalProperties: true,
};

const USERINFO_ANSWER: Json = {
  type: 'object',
  required: ['sub'],
  properties: {
    sub: text('The user\'s UUID'),
    preferred_username: text('Scope profile'),
    name: text('Scope profile'),
    given_name: text('Scope profile'),
    family_name: text('Scope profile'),
    picture: text('Scope profile'),
    updated_at: { type: 'integer', description: 'Scope profile: seconds since the epoch' },
    groups: { type: 'array', items: { type: 'string' }, description: 'Scopes profile or groups: the user\'s group names' },
    email: text('Scope email'),
    email_verified: { type: 'boolean', description: 'Scope email' },
  },
  additionalProperties: true,
};

const BEARER_401 = oauthError('`invalid_token`: no access token, or one the provider does not hold (expired, revoked, another issuer\'s)', {
  ...NO_STORE,
  'WWW-Authenticate': { description: '`Bearer realm="<issuer>"`, with `error="invalid_token"` when a token was presented', schema: { type: 'string' } },
});

const AUTHORIZATION_PARAMS: Json[] = [
  query('response_type', { type: 'string', enum: ['code'] }, 'The authorization code flow', true),
  query('client_id', { type: 'string' }, 'A client of this tenant registered for authorization_code', true),
  query('redirect_uri', { type: 'string' }, 'One of the client\'s registered redirect URIs, matched exactly (scheme, host, port, path and query)', true),
  query('scope', { type: 'string' }, 'Space-separated, of `openid`, `profile`, `email`, `groups`, `offline_access`; any other is `invalid_scope` (sent to the redirect URI)', true),
  query('state', { type: 'string' }, 'Returned to the redirect URI as sent'),
  query('nonce', { type: 'string' }, 'Copied into the ID token'),
  query('code_challenge', { type: 'string' }, 'PKCE (RFC 7636): BASE64URL(SHA-256(code_verifier)). Required for a public client'),
  query('code_challenge_method', { type: 'string', enum: ['S256'] }, 'PKCE: `S256` only'),
  query('prompt', { type: 'string', enum: ['login', 'consent', 'none'] }, '`login` asks for the password again; `consent` shows the consent page (and lets `offline_access` be granted); `none` answers `login_required` or `consent_required` instead of showing a page'),
  query('max_age', { type: 'integer', minimum: 0 }, 'Seconds since the last sign-in beyond which the user signs in again (`0`: always)'),
  query('login_hint', { type: 'string' }, 'Fills in the sign-in form; `idp:<id>` sends the sign-in to that upstream identity provider'),
  query('ui_locales', { type: 'string' }, 'The pages\' language (`en`, `fr`); else Accept-Language'),
  query('acr_values', { type: 'string' }, '`urn:latchkey:acr:2fa` asks for two factors (an account without a second factor gets `unmet_authentication_requirements`); `urn:latchkey:acr:1fa` one'),
  query('response_mode', { type: 'string', enum: ['query', 'fragment', 'form_post'] }, 'How the answer reaches the redirect URI (default `query`)'),
];

const END_SESSION_PARAMS: Json[] = [
  query('id_token_hint', { type: 'string' }, 'An ID token this issuer gave the client: who is signing out, and which client asks'),
  query('client_id', { type: 'string' }, 'The asking client, when no id_token_hint is sent'),
  query('post_logout_redirect_uri', { type: 'string' }, 'Where to send the browser afterwards: one of the client\'s registered redirect URIs (needs id_token_hint or client_id)'),
  query('state', { type: 'string' }, 'Returned to post_logout_redirect_uri as sent'),
  query('ui_locales', { type: 'string' }, 'The page\'s language (`en`, `fr`)'),
];

/** The operations of one issuer, under its path prefix (`''` or `/tenants/{tenant}`). */
function issuerPaths(prefix: string, tenant: boolean): Record<string, Json> {
  const suffix = tenant ? '_tenant' : '';
  const where = tenant ? ' (tenant {tenant})' : ' (default tenant)';
  const params = (more: Json[] = []): Json[] => [...(tenant ? [TENANT_PARAM] : []), ...more];
  const answers = (own: Json): Json => (tenant ? { ...own, 404: UNKNOWN_ISSUER } : own);
  const op = (id: string, summary: string, description: string, rest: Json): Json => ({
    tags: ['oidc'], operationId: `oidc_${id}${suffix}`, summary: `${summary}${where}`, description: `${description} See docs/oidc.md.`, ...rest,
  });

  const userinfo = (id: string, body?: Json): Json => op(id, 'OpenID Connect userinfo: the signed-in user\'s claims',
    'The claims of the scopes the access token was granted. The token is an access token from this issuer\'s code flow or refresh, sent as `Authorization: Bearer <token>`' + (body ? ' or as `access_token` in the form (RFC 6750 2.2)' : '') + '. A client-credentials token names no user.',
    {
      parameters: params(),
      ...(body ? { requestBody: body } : {}),
      responses: answers({
        200: { description: 'The user\'s claims', content: { 'application/json': { schema: USERINFO_ANSWER } } },
        400: oauthError('`invalid_request`: the token sent two ways'),
        401: BEARER_401,
        403: oauthError('`insufficient_scope`: the token was not granted `openid`'),
      }),
    });

  return {
    [`${prefix}${ROUTES.authorization}`]: {
      get: op('authorization', 'OpenID Connect authorization endpoint: start a sign-in (code flow with PKCE)',
        'The browser comes here from the client. Without a provider session (or with prompt=login, max_age, or acr_values asking for more), it is sent to the hosted sign-in pages (`<issuer>/interaction/<uid>`), then the consent page unless the client is first party or consent was given; it ends at the redirect URI with `code`, `state` and `iss`, or with `error`, `error_description`, `state` and `iss`. A request that cannot be sent back (an unknown client, an unregistered redirect URI) gets an error page. Request objects (`request`, `request_uri`) are refused.',
        {
          parameters: params(AUTHORIZATION_PARAMS),
          responses: answers({
            200: html('response_mode=form_post: a page that posts the answer to the redirect URI'),
            303: {
              description: 'To the sign-in or consent page, or to the redirect URI with the answer (`code` or `error`, with `state` and `iss`)',
              headers: { Location: { description: 'Where the browser goes next', schema: { type: 'string' } } },
            },
            400: {
              description: 'An error page (in the pages\' language): unknown client, unregistered redirect URI, or a request that cannot be answered at the redirect URI. A NUL character in a parameter: `invalid_request` in JSON',
              headers: NO_STORE,
              content: { 'text/html': { schema: { type: 'string' } }, 'application/json': { schema: OAUTH_ERROR } },
            },
          }),
        }),
    },
    [`${prefix}${ROUTES.token}`]: {
      post: op('token', 'OpenID Connect token endpoint: redeem a code, refresh, or client credentials',
        `\`authorization_code\`: \`code\`, \`redirect_uri\` (as sent to the authorization endpoint) and the PKCE \`code_verifier\` (required for a public client); a replayed code revokes what it issued. \`refresh_token\`: \`refresh_token\` (rotated: the answer carries a new one; a reused one revokes the grant), optional narrower \`scope\`. \`client_credentials\`: optional \`scope\`, of the client's registered scopes (a public client is \`unauthorized_client\`). ${CLIENT_AUTH} The client must be registered for the grant.`,
        {
          parameters: params(),
          requestBody: form({
            type: 'object',
            required: ['grant_type'],
            properties: {
              grant_type: text('The grant', { enum: ['authorization_code', 'refresh_token', 'client_credentials'] }),
              code: text('authorization_code: the code the redirect URI received'),
              redirect_uri: text('authorization_code: the redirect URI of the authorization request'),
              code_verifier: text('authorization_code: the PKCE verifier (43 to 128 characters)'),
              refresh_token: text('refresh_token: the refresh token'),
              scope: text('refresh_token: a subset of the granted scopes; client_credentials: of the client\'s registered scopes'),
              ...CLIENT_FIELDS,
            },
          }),
          responses: answers({
            200: { description: 'The tokens', headers: NO_STORE, content: { 'application/json': { schema: TOKEN_ANSWER } } },
            400: oauthError('invalid_request (a missing or repeated parameter, a body that is not a form, two client authentications), invalid_grant (a wrong, expired or replayed code or refresh token, a wrong PKCE verifier or redirect URI), unauthorized_client, unsupported_grant_type, invalid_scope'),
            401: oauthError('`invalid_client`: an unknown client or a wrong secret', {
              ...NO_STORE, 'WWW-Authenticate': { description: '`Basic` challenge, when the client came by HTTP Basic', schema: { type: 'string' } },
            }),
          }),
        }),
    },
    [`${prefix}${ROUTES.userinfo}`]: {
      get: userinfo('userinfo'),
      post: userinfo('userinfo_post', form({ type: 'object', properties: { access_token: text('The access token, instead of the Authorization header') } }, false)),
    },
    [`${prefix}${ROUTES.jwks}`]: {
      get: op('jwks', 'OpenID Connect JWKS: the keys that sign ID and access tokens',
        'The key ring\'s public keys (current, next and recently retired), the same set as `/.well-known/jwks.json`, for every issuer.',
        {
          parameters: params(),
          responses: answers({
            200: {
              description: 'A JWK Set (RFC 7517)',
              headers: { 'Cache-Control': { description: '`public, max-age=60`', schema: { type: 'string' } } },
              content: { 'application/json': { schema: { type: 'object', required: ['keys'], properties: { keys: { type: 'array', items: { type: 'object', additionalProperties: true } } } } } },
            },
          }),
        }),
    },
    [`${prefix}${ROUTES.introspection}`]: {
      post: op('introspection', 'OAuth 2.0 token introspection (RFC 7662)',
        `Whether a token is live, for a client of this tenant: any access JWT of the service (client credentials, code flow, legacy APIs: exactly while the APIs accept it as Bearer) and the provider's refresh tokens. A public client learns only of its own tokens; a forged, expired or other tenant's token is \`{"active": false}\`. ${CLIENT_AUTH}`,
        {
          parameters: params(),
          requestBody: form({
            type: 'object',
            required: ['token'],
            properties: { token: text('The token'), token_type_hint: text('A hint: `access_token` or `refresh_token`', { enum: ['access_token', 'refresh_token'] }), ...CLIENT_FIELDS },
          }),
          responses: answers({
            200: { description: 'The token\'s state', headers: NO_STORE, content: { 'application/json': { schema: INTROSPECTION_ANSWER } } },
            400: oauthError('`invalid_request`: no token, a repeated parameter, a body that is not a form'),
            401: oauthError('`invalid_client`: no client, an unknown client or a wrong secret'),
          }),
        }),
    },
    [`${prefix}${ROUTES.revocation}`]: {
      post: op('revocation', 'OAuth 2.0 token revocation (RFC 7009)',
        `Revokes a token issued to the asking client: an access JWT (a client-credentials one is remembered as revoked until it would have expired) or a refresh token (its grant's tokens with it). An unknown token, or another client's, is answered 200 as well and left alone. ${CLIENT_AUTH}`,
        {
          parameters: params(),
          requestBody: form({
            type: 'object',
            required: ['token'],
            properties: { token: text('The token'), token_type_hint: text('A hint: `access_token` or `refresh_token`', { enum: ['access_token', 'refresh_token'] }), ...CLIENT_FIELDS },
          }),
          responses: answers({
            200: { description: 'Revoked, or nothing to revoke (an empty body)' },
            400: oauthError('`invalid_request`: no token, a repeated parameter, a body that is not a form'),
            401: oauthError('`invalid_client`: no client, an unknown client or a wrong secret'),
          }),
        }),
    },
    [`${prefix}${ROUTES.end_session}`]: {
      get: op('end_session', 'OpenID Connect RP-initiated logout',
        'A hosted page (the tenant\'s theme and language) asks the person to sign out of the tenant, its form posting to `<issuer>/oidc/session/end/confirm` with the provider\'s `xsrf` field. Signing out ends the provider\'s session and every grant made in it; staying ends only the asking client\'s grant. Then the browser goes to post_logout_redirect_uri (with `state`), or to the hosted "You are signed out" page.',
        {
          parameters: params(END_SESSION_PARAMS),
          responses: answers({
            200: html('The sign-out question (or, with no session, the page that goes on to the end)'),
            400: {
              description: '`invalid_request`: an undecodable or foreign id_token_hint, an unregistered post_logout_redirect_uri, an unknown client',
              headers: NO_STORE,
              content: { 'application/json': { schema: OAUTH_ERROR }, 'text/html': { schema: { type: 'string' } } },
            },
          }),
        }),
    },
  };
}

/**
 * The provider's endpoints as OpenAPI paths, for `openapi.paths` of @fastify/swagger. A new object
 * on every call, nothing shared: the plugin adds the routes' own paths into the object it is given.
 */
export function oidcOpenapiPaths(): Record<string, Json> {
  return structuredClone({ ...issuerPaths('', false), ...issuerPaths('/tenants/{tenant}', true) });
}
