// `latchkey <command>`: one file per command, each with --help.
import { ConfigError } from '../config/env.ts';
import { UsageError } from './context.ts';
import { printDomainError } from './print-errors.ts';

interface Command {
  help: string;
  run(argv: string[]): Promise<number>;
}

// Loaded on use: a command pays only for what it needs (start time, and memory in `serve`).
const COMMANDS: Record<string, () => Promise<Command>> = {
  serve: () => import('./serve.ts'),
  migrate: () => import('./migrate.ts'),
  createsuperuser: () => import('./createsuperuser.ts'),
  keys: () => import('./keys.ts'),
  tenants: () => import('./tenants.ts'),
  clients: () => import('./clients.ts'),
  'identity-providers': () => import('./identity-providers.ts'),
  import: () => import('./import.ts'),
  export: () => import('./export.ts'),
};

const USAGE = `Usage: latchkey <command> [options]

Commands:
  serve               run the HTTP server (the default for npm start)
  migrate             bring the database schema up to date
  createsuperuser     create a superuser
  keys rotate         rotate the JWT signing key
  keys reseal         reseal stored secrets under the first LATCHKEY_SECRET_KEYS key
  tenants             list, create, rename, disable, enable, delete tenants
  clients             list, register, delete client applications
  identity-providers  list, show, create, update, delete a tenant's upstream identity providers
  import              import users (with their password hashes) from Django, Keycloak, better-auth, JSON Lines
  export              export a tenant as JSON Lines

Run "latchkey <command> --help" for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name) {
    console.error(USAGE); // a usage error: stderr, exit 2
    return 2;
  }
  if (name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return 0;
  }
  const load = Object.hasOwn(COMMANDS, name) ? COMMANDS[name] : undefined;
  if (!load) {
    console.error(`latchkey: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
  const command = await load();
  if (rest.includes('--help') || rest.includes('-h')) {
    console.log(command.help);
    return 0;
  }
  try {
    return await command.run(rest);
  } catch (err) {
    const e = err as Error & { code?: string };
    if (err instanceof UsageError || e.code?.startsWith('ERR_PARSE_ARGS')) {
      console.error(`latchkey ${name}: ${e.message}\n\n${command.help}`);
      return 2;
    }
    // A refusal of the core (a taken name, a password the policy refuses): its field messages, exit 1.
    if (printDomainError(err)) return 1;
    if (err instanceof ConfigError) {
      console.error(`latchkey: configuration error: ${e.message}`);
      return 2;
    }
    console.error(`latchkey ${name}: ${e.message}`);
    return 1;
  }
}

const code = await main(process.argv.slice(2));
if (code >= 0) process.exitCode = code;
