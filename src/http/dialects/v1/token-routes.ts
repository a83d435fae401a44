import { Type } from '@sinclair/typebox';
import type { DialectOptions, TypedApp } from './index.ts';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import { clearSessionCookie } from '../../plugins/session-cookies.ts';
import { Detail, FieldErrors, LogoutBody, PasswordUpdateBody, TokenObtainBody, TokenPair, TokenRefreshBody, secured } from './schemas.ts';

const tags = ['token'];


export async function tokenRoutes(app: TypedApp, { core }: DialectOptions) {
  app.post('/api/token', {
    config: { credentialAnswer: true },
    schema: {
      operationId: 'api_token_create', tags,
      summary: 'Obtain a JWT pair',
      description: 'Takes a set of user credentials and returns an access and refresh JSON web token pair to prove the authentication of those credentials.',
      body: TokenObtainBody,
      response: { 200: TokenPair, 400: FieldErrors, 401: Detail },
    },
  }, async (request) => {
    const { issued } = await core.signIn.now({
      tenant: requestedTenant(request), client: request.client, grantType: 'password',
      factor: { method: 'password', by: 'username', identifier: request.body.username, password: request.body.password },
      issue: { kind: 'token_pair', refreshFormat: 'jwt' },
    });
    return { access: issued.access, refresh: issued.refresh };
  });

  app.post('/api/token/refresh', {
    config: { credentialAnswer: true },
    schema: {
      operationId: 'api_token_refresh_create', tags,
      summary: 'Refresh a JWT pair',
      description: 'Takes a refresh token and returns a new access token and a new refresh token. The refresh token presented stops working; presenting it again revokes the whole family.',
      body: TokenRefreshBody,
      response: { 200: TokenPair, 400: FieldErrors, 401: Detail },
    },
  }, async (request) => {
    const named = requestedTenant(request);
    const pair = await core.tokenPairs.refresh(request.body.refresh, { tenant: named === undefined ? undefined : await core.tenants.resolve(named), refreshFormat: 'jwt' });
    return { access: pair.access, refresh: pair.refresh };
  });

  app.post('/api/token/logout', {
    config: { auth: true },
    schema: {
      operationId: 'api_token_logout_create', tags, security: secured,
      summary: 'Log out',
      description: 'Revokes the refresh-token family of the access token used (so that access token too), or ends the session of the cookie used. A `refresh` token in the body is revoked as well.',
      body: Type.Optional(LogoutBody),
      response: { 200: Type.Null({ description: 'No response body' }), 401: Detail },
    },
  }, async (request, reply) => {
    await core.signOut.signOut(request.principal!, request.body?.refresh);
    if (request.principal!.method === 'session') clearSessionCookie(reply);
    return reply.code(200).send(undefined as never); // no body, as the document says
  });

  app.post('/api/auth/change-password', {
    config: { auth: true },
    schema: {
      operationId: 'api_auth_change_password_create', tags: ['auth'], security: secured,
      summary: 'Change the caller\'s password',
      description: 'Checks the current password and sets the new one. Every other sign-in of the user (refresh families, sessions) ends; the one used for this call stays. The answer never repeats the passwords.',
      body: PasswordUpdateBody,
      response: { 201: Detail, 400: FieldErrors, 401: Detail },
    },
  }, async (request, reply) => {
    await core.passwordChange.change(request.principal!, { current: request.body.current_password, next: request.body.new_password });
    return reply.code(201).send({ detail: 'Password changed.' });
  });
}
