import { parseArgs } from 'node:util';
import { OPERATOR, type Tenant } from '../core/index.ts';
import { openCore, UsageError } from './context.ts';

export const help = `Usage: latchkey tenants <action> [arguments]

  list                              every tenant, one a line: name, active, display name
  create NAME [--display-name TEXT] a new tenant (NAME: lower-case letters, digits, . _ -)
  rename NAME NEW_NAME              rename (users keep their tenant; tenant_id shows the new name)
  disable NAME | enable NAME        a disabled tenant refuses every request and credential
  delete NAME                       delete the tenant and everything in it (not "default")`;

const line = (t: Tenant) => `${t.name}\t${t.isActive ? 'active' : 'disabled'}\t${t.displayName}`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { 'display-name': { type: 'string' } }, strict: true, allowPositionals: true });
  const [action, a, b] = positionals;
  const arity: Record<string, number> = { list: 1, create: 2, rename: 3, disable: 2, enable: 2, delete: 2 };
  if (!action || !(action in arity)) throw new UsageError(`unknown action "${action ?? ''}"`);
  if (positionals.length !== arity[action]) throw new UsageError(`wrong number of arguments for "${action}"`);
  const { store, core } = await openCore();
  try {
    switch (action) {
      case 'list':
        for (const t of await core.tenants.adminList(OPERATOR)) console.log(line(t));
        break;
      case 'create':
        console.log(`created: ${line(await core.tenants.adminCreate(OPERATOR, a!, values['display-name']))}`);
        break;
      case 'rename':
        console.log(`renamed: ${line(await core.tenants.adminUpdate(OPERATOR, a!, { name: b }))}`);
        break;
      case 'disable':
      case 'enable':
        console.log(`${action}d: ${line(await core.tenants.adminUpdate(OPERATOR, a!, { isActive: action === 'enable' }))}`);
        break;
      case 'delete':
        await core.tenants.adminDelete(OPERATOR, a!);
        console.log(`deleted: ${a}`);
        break;
    }
    return 0;
  } finally {
    await store.close();
  }
}
