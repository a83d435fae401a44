import fs from 'node:fs';
import { parseArgs } from 'node:util';
import { openCore, UsageError } from './context.ts';
import { OPERATOR } from '../core/index.ts';

export const help = `Usage: latchkey createsuperuser --username NAME [--email ADDRESS] [--tenant NAME]
                               (--password-stdin | LATCHKEY_SUPERUSER_PASSWORD=...)

Creates a superuser (also staff) in the default tenant, or in --tenant. The password is read
from standard input with --password-stdin (one line), or from LATCHKEY_SUPERUSER_PASSWORD:
never from the command line, where other users of the machine could read it.`;

export async function run(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { username: { type: 'string' }, email: { type: 'string' }, tenant: { type: 'string' }, 'password-stdin': { type: 'boolean' } },
    strict: true,
  });
  if (!values.username) throw new UsageError('--username is required');
  let password = process.env.LATCHKEY_SUPERUSER_PASSWORD;
  if (values['password-stdin']) password = fs.readFileSync(0, 'utf8').replace(/\r?\n$/, '');
  if (!password) throw new UsageError('give the password with --password-stdin or LATCHKEY_SUPERUSER_PASSWORD');
  const { store, core } = await openCore();
  try {
    const user = await core.users.create(OPERATOR, {
      username: values.username, password, email: values.email ?? '', tenant: values.tenant, isStaff: true, isSuperuser: true,
    });
    console.log(`superuser "${user.username}" created in tenant "${user.tenantName}" (id ${user.id})`);
    return 0;
  } finally {
    await store.close();
  }
}
