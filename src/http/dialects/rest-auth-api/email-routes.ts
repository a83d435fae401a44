// A user's e-mail addresses: list, add, send the verification again, make primary, remove.
import { Type } from '@sinclair/typebox';
import { DomainError, EMAIL_MAX } from '../../../core/index.ts';
import { limitOffset, limitOffsetLinks } from '../../pagination.ts';
import { presentEmail } from './presenters.ts';
import { errors, security, tags, LimitOffset, IntId, EmailOut, list, type Options, type TypedApp } from './schemas.ts';

export async function emailRoutes(typed: TypedApp, { core, publicUrl }: Options) {
  typed.get('/api/auth/emails/', {
    config: { auth: true },
    schema: { operationId: 'auth_emails_list', tags, security, summary: 'The caller\'s e-mail addresses', querystring: LimitOffset, response: { 200: list(EmailOut), ...errors } },
  }, async (request) => {
    const page = limitOffset(request.query);
    const r = await core.emailAddresses.list(request.principal!, page);
    return { ...limitOffsetLinks(publicUrl, request, page, r.count), results: r.items.map(presentEmail) };
  });

  typed.post('/api/auth/emails/', {
    config: { auth: true },
    schema: {
      operationId: 'auth_emails_create', tags, security, summary: 'Add an e-mail address (a verification message is sent)',
      description: '`id`, `user`, `verified` and `primary` are set by the server: `user` may only name the caller; a new address is neither verified nor primary.',
      body: Type.Object({ email: Type.String({ maxLength: EMAIL_MAX }), id: Type.Optional(Type.Integer()), user: Type.Optional(Type.Integer()), primary: Type.Optional(Type.Boolean()), verified: Type.Optional(Type.Boolean()) }, { additionalProperties: false }),
      response: { 201: EmailOut, ...errors },
    },
  }, async (request, reply) => {
    const b = request.body;
    if (b.user !== undefined && b.user !== request.principal!.user.pk) throw new DomainError('VALIDATION_FAILED', 'user', { fields: { user: ['You can only add addresses to your own account.'] } });
    if (b.verified) throw new DomainError('VALIDATION_FAILED', 'verified', { fields: { verified: ['An address is verified by following the link in its message.'] } });
    if (b.primary) throw new DomainError('VALIDATION_FAILED', 'primary', { fields: { primary: ['Only a verified e-mail address can be primary.'] } });
    return reply.code(201).send(presentEmail(await core.emailAddresses.add(request.principal!, b.email)));
  });

  const emailAction = (action: 'verify' | 'primary' | 'remove', summary: string) => {
    typed.post(`/api/auth/emails/:id/${action}/`, {
      config: { auth: true },
      schema: { operationId: `auth_emails_${action}_create`, tags, security, summary, params: IntId, response: { 200: EmailOut, ...errors } },
    }, async (request) => {
      const id = Number(request.params.id);
      const p = request.principal!;
      const a = action === 'verify' ? await core.emailAddresses.sendVerification(p, id)
        : action === 'primary' ? await core.emailAddresses.makePrimary(p, id)
        : await core.emailAddresses.remove(p, id);
      return presentEmail(a);
    });
  };
  emailAction('verify', 'Send the verification message for this address');
  emailAction('primary', 'Make this verified address the primary one (the user\'s e-mail follows it)');
  emailAction('remove', 'Remove this address (not the primary one)');
}
