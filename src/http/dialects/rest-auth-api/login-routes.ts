// Signing in and out: a token key and a cookie session (dj-rest-auth's login and logout).
import { Type } from '@sinclair/typebox';
import { DomainError, EMAIL_MAX } from '../../../core/index.ts';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import { clearSessionCookie, setSessionCookies } from '../../plugins/session-cookies.ts';
import { Detail, errors, security, tags, Pw, Key, type Options, type TypedApp } from './schemas.ts';

export async function loginRoutes(typed: TypedApp, { core, publicUrl }: Options) {
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
    setSessionCookies(reply, issued.session, publicUrl);
    return { key: issued.key };
  });

  for (const method of ['GET', 'POST'] as const) {
    typed.route({
      method, url: '/api/auth/logout/', config: { auth: 'optional' },
      schema: { operationId: `auth_logout_${method === 'GET' ? 'retrieve' : 'create'}`, tags, security, summary: 'Sign out: deletes the token key used and ends the session', response: { 200: Detail } },
      handler: async (request, reply) => {
        if (request.principal) await core.signOut.signOutWhole(request.principal);
        clearSessionCookie(reply);
        return { detail: 'Successfully logged out.' };
      },
    });
  }
}
