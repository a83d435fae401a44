// Registering oneself and verifying the address (dj-rest-auth's registration).
import { Type } from '@sinclair/typebox';
import { EMAIL_MAX, USERNAME_MAX } from '../../../core/index.ts';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import { setSessionCookies } from '../../plugins/session-cookies.ts';
import { Detail, errors, tags, Pw, Key, type Options, type TypedApp } from './schemas.ts';

export async function registrationRoutes(typed: TypedApp, { core, publicUrl }: Options) {
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
    if (r.session) setSessionCookies(reply, r.session, publicUrl);
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
}
