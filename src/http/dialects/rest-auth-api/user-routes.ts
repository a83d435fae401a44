// The caller's own account (pk, username, email, names).
import { Type } from '@sinclair/typebox';
import type { FastifyRequest } from 'fastify';
import { DomainError, EMAIL_MAX, NAME_MAX, USERNAME_MAX } from '../../../core/index.ts';
import { presentUser } from './presenters.ts';
import { errors, security, tags, UserOut, type Options, type TypedApp } from './schemas.ts';

export async function userRoutes(typed: TypedApp, { core }: Options) {
  typed.get('/api/auth/user/', {
    config: { auth: true },
    schema: { operationId: 'auth_user_retrieve', tags, security, summary: 'The caller (pk, username, email, first_name, last_name)', response: { 200: UserOut, ...errors } },
  }, async (request) => presentUser(request.principal!.user));

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
        return presentUser(await core.users.update(p, p.user.id, { username: b.username, firstName: b.first_name, lastName: b.last_name }));
      },
    });
  }
}
