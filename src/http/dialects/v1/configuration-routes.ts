import type { DialectOptions, TypedApp } from './index.ts';
import { SETTINGS, formatSetting } from '../../../core/index.ts';
import { pageLinks, pageRequest } from '../../pagination.ts';
import { AppSetting, Detail, FieldErrors, PageQuery, paginated, secured } from './schemas.ts';

const tags = ['configuration'];
const security = secured;
const errors = { 400: FieldErrors, 401: Detail, 403: Detail, 404: Detail };
const known = Object.entries(SETTINGS).map(([k, s]) => {
  const kind = 'choices' in s ? `one of ${s.choices.join(', ')}` : s.type;
  const shown = formatSetting(s.default as Parameters<typeof formatSetting>[0]);
  return `- \`${k}\` (${kind}, default ${shown === '' ? 'empty' : `\`${shown}\``}): ${s.description}`;
}).join('\n');

export async function configurationRoutes(app: TypedApp, { core, publicUrl }: DialectOptions) {
  app.get('/api/configuration/', {
    config: { auth: true },
    schema: {
      operationId: 'api_configuration_list', tags, security,
      summary: 'The tenant\'s settings: every known key with its effective value; staff only',
      description: `Known keys:\n${known}`,
      querystring: PageQuery, response: { 200: paginated(AppSetting), ...errors },
    },
  }, async (request) => {
    const req = pageRequest(request.query.page);
    const all = await core.settings.list(request.principal!, request.principal!.tenant.pk);
    const page = req.page === -1 ? Math.max(1, Math.ceil(all.length / req.limit)) : req.page;
    const r = { page, offset: (page - 1) * req.limit, limit: req.limit };
    return { ...pageLinks(publicUrl, request, r, { count: all.length, items: all }), resources: all.slice(r.offset, r.offset + r.limit) };
  });

  app.post('/api/configuration/', {
    config: { auth: true },
    schema: {
      operationId: 'api_configuration_create', tags, security,
      summary: 'Set one setting of the tenant; staff only',
      description: `Takes effect at once. Values are strings: integers in decimal, booleans as \`true\`/\`false\`. An unknown key is refused with a 400 that lists the known ones:\n${known}`,
      body: AppSetting, response: { 201: AppSetting, ...errors },
    },
  }, async (request, reply) => {
    const entry = await core.settings.set(request.principal!, request.principal!.tenant.pk, request.body.key, request.body.value);
    return reply.code(201).send(entry);
  });
}
