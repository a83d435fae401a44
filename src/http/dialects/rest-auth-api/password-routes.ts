// Changing one's password, and resetting a forgotten one by e-mail.
import { Type } from '@sinclair/typebox';
import { EMAIL_MAX } from '../../../core/index.ts';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import { Detail, errors, security, tags, Pw, type Options, type TypedApp } from './schemas.ts';

export async function passwordRoutes(typed: TypedApp, { core }: Options) {
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
}
