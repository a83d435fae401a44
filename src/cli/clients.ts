import { parseArgs } from 'node:util';
import { OPERATOR, type Client } from '../core/index.ts';
import { openCore, UsageError } from './context.ts';

export const help = `Usage: latchkey clients <action> [options]

  list   [--tenant NAME]                      registered clients of a tenant (default: "default")
  create --name TEXT [--tenant NAME] [--client-id ID] [--grant-type G]... [--redirect-uri URI]...
         [--scope S]... [--public] [--first-party]
         registers a client; a confidential one (the default) gets a secret, printed once;
         --first-party: the tenant's own app, signed in by the OpenID provider without a consent page
  delete CLIENT_ID [--tenant NAME]

Grant types: password, refresh_token, authorization_code, client_credentials (default: password, refresh_token).`;

const line = (c: Client) => `${c.clientId}\t${c.confidential ? 'confidential' : 'public'}\t${c.grantTypes.join(',')}\t${c.name}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      tenant: { type: 'string' }, name: { type: 'string' }, 'client-id': { type: 'string' }, public: { type: 'boolean' }, 'first-party': { type: 'boolean' },
      'grant-type': { type: 'string', multiple: true }, 'redirect-uri': { type: 'string', multiple: true }, scope: { type: 'string', multiple: true },
    },
    strict: true,
    allowPositionals: true,
  });
  const [action, id] = positionals;
  if (action === 'create' && !values.name) throw new UsageError('--name is required');
  if (action === 'delete' && (!id || positionals.length !== 2)) throw new UsageError('expected: clients delete CLIENT_ID');
  if ((action === 'list' || action === 'create') && positionals.length !== 1) throw new UsageError(`"${action}" takes no positional arguments`);
  if (!['list', 'create', 'delete'].includes(action ?? '')) throw new UsageError(`unknown action "${action ?? ''}"`);
  const { store, core } = await openCore();
  try {
    const tenant = await core.tenants.adminGet(OPERATOR, values.tenant ?? 'default');
    if (action === 'list') {
      const { items } = await core.clients.list(OPERATOR, tenant, { offset: 0, limit: 10_000 });
      for (const c of items) console.log(line(c));
    } else if (action === 'create') {
      const { client, secret } = await core.clients.create(OPERATOR, tenant, {
        name: values.name, clientId: values['client-id'], grantTypes: values['grant-type'], redirectUris: values['redirect-uri'],
        scopes: values.scope, confidential: !values.public, firstParty: values['first-party'],
      });
      console.log(`client_id: ${client.clientId}`);
      if (secret) console.log(`client_secret: ${secret}\n(shown once: it is stored only as a hash)`);
    } else {
      await core.clients.delete(OPERATOR, tenant, id!);
      console.log(`deleted: ${id}`);
    }
    return 0;
  } finally {
    await store.close();
  }
}
