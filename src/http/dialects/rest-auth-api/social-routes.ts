// The tenant's sign-in options and upstream providers, and a user's linked social accounts.
import { Type } from '@sinclair/typebox';
import { requestedTenant } from '../../plugins/tenant-and-client.ts';
import { limitOffset, limitOffsetLinks } from '../../pagination.ts';
import { iso } from './presenters.ts';
import { Detail, errors, security, tags, LimitOffset, IntId, list, type Options, type TypedApp } from './schemas.ts';

export async function socialRoutes(typed: TypedApp, { core, publicUrl }: Options) {
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
}
