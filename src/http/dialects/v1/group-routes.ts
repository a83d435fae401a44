import { Type } from '@sinclair/typebox';
import type { DialectOptions, TypedApp } from './index.ts';
import { fieldError } from '../../../core/index.ts';
import { fetchPage, pageLinks, pageRequest } from '../../pagination.ts';
import {
  Detail, FieldErrors, GroupParam, IdParam, MemberBody, MemberParams, PageQuery, PatchedPrivilegeBody, Privilege,
  PrivilegeBody, User, paginated, secured,
} from './schemas.ts';
import { presentGroup, presentUser } from './presenters.ts';

const tags = ['groups'];
const security = secured;
const errors = { 400: FieldErrors, 401: Detail, 403: Detail, 404: Detail };
const noBody = Type.Null({ description: 'No response body' });

export async function groupRoutes(app: TypedApp, { core, publicUrl }: DialectOptions) {
  app.get('/api/groups/', {
    config: { auth: true },
    schema: { operationId: 'api_groups_list', tags, security, summary: 'List groups (privileges) of the tenant; staff only', querystring: PageQuery, response: { 200: paginated(Privilege), ...errors } },
  }, async (request) => {
    const { req, result } = await fetchPage(pageRequest(request.query.page), (r) => core.groups.list(request.principal!, r));
    return { ...pageLinks(publicUrl, request, req, result), resources: result.items.map(presentGroup) };
  });

  app.post('/api/groups/', {
    config: { auth: true },
    schema: { operationId: 'api_groups_create', tags, security, summary: 'Create a group; staff only', body: PrivilegeBody, response: { 201: Privilege, ...errors } },
  }, async (request, reply) => {
    if (request.body.id !== undefined) throw fieldError('id', 'This field is read-only.');
    return reply.code(201).send(presentGroup(await core.groups.create(request.principal!, request.body.name)));
  });

  app.get('/api/groups/:id/', {
    config: { auth: true },
    schema: { operationId: 'api_groups_retrieve', tags, security, summary: 'Retrieve a group; staff only', params: IdParam, response: { 200: Privilege, ...errors } },
  }, async (request) => presentGroup(await core.groups.get(request.principal!, request.params.id)));

  for (const [method, operationId, body] of [['put', 'api_groups_update', PrivilegeBody], ['patch', 'api_groups_partial_update', PatchedPrivilegeBody]] as const) {
    app.route({
      method: method.toUpperCase() as 'PUT' | 'PATCH',
      url: '/api/groups/:id/',
      config: { auth: true },
      schema: { operationId, tags, security, summary: 'Rename a group; staff only', params: IdParam, body, response: { 200: Privilege, ...errors } },
      handler: async (request: any) => {
        const group = await core.groups.get(request.principal!, request.params.id);
        if (request.body.id !== undefined && String(request.body.id).toLowerCase() !== group.id) throw fieldError('id', 'This field is read-only.');
        return presentGroup(await core.groups.rename(request.principal!, group.id, request.body.name));
      },
    });
  }

  app.delete('/api/groups/:id/', {
    config: { auth: true },
    schema: { operationId: 'api_groups_destroy', tags, security, summary: 'Delete a group; staff only', params: IdParam, response: { 204: noBody, ...errors } },
  }, async (request, reply) => {
    await core.groups.delete(request.principal!, request.params.id);
    return reply.code(204).send(null);
  });

  app.get('/api/groups/:group_pk/members/', {
    config: { auth: true },
    schema: { operationId: 'api_groups_members_list', tags, security, summary: 'List the members of a group', params: GroupParam, querystring: PageQuery, response: { 200: paginated(User), ...errors } },
  }, async (request) => {
    const { req, result } = await fetchPage(pageRequest(request.query.page), (r) => core.groups.members(request.principal!, request.params.group_pk, r));
    return { ...pageLinks(publicUrl, request, req, result), resources: result.items.map(presentUser) };
  });

  app.post('/api/groups/:group_pk/members/', {
    config: { auth: true },
    schema: {
      operationId: 'api_groups_members_create', tags, security,
      summary: 'Add a user to a group',
      description: 'The body names the user by `id` (UUID) or `username`, in the group\'s tenant. Adding a member twice is not an error.',
      params: GroupParam, body: MemberBody, response: { 201: User, ...errors },
    },
  }, async (request, reply) => {
    const user = await core.groups.addMember(request.principal!, request.params.group_pk, { id: request.body.id, username: request.body.username });
    return reply.code(201).send(presentUser(user));
  });

  app.delete('/api/groups/:group_pk/members/:id/', {
    config: { auth: true },
    schema: { operationId: 'api_groups_members_destroy', tags, security, summary: 'Remove a user from a group', params: MemberParams, response: { 204: noBody, ...errors } },
  }, async (request, reply) => {
    await core.groups.removeMember(request.principal!, request.params.group_pk, request.params.id);
    return reply.code(204).send(null);
  });
}
