// `latchkey <command>`: one file per command, each with --help.
import { ConfigError } from '../config/env.ts';
import { UsageError } from './context.ts';
import * as serve from './serve.ts';
import * as migrate from './migrate.ts';
import * as createsuperuser from './createsuperuser.ts';
import * as keys from './keys.ts';
import * as tenants from './tenants.ts';
import * as clients from './clients.ts';

interface Command {
  help: string;
  run(argv: string[]): Promise<number>;
}

const COMMANDS: Record<string, Command> = { serve, migrate, createsuperuser, keys, tenants, clients };

const USAGE = `Usage: latchkey <command> [options]

Commands:
  serve            run the HTTP server (the default for npm start)
  migrate          bring the database schema up to date
  createsuperuser  create a superuser
  keys rotate      rotate the JWT signing key
  tenants          list, create, rename, disable, enable, delete tenants
  clients          list, register, delete client applications

Run "latchkey <command> --help" for a command's options.`;

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(USAGE);
    return name ? 0 : 2;
  }
  const command = COMMANDS[name];
  if (!command) {
    console.error(`latchkey: unknown command "${name}"\n\n${USAGE}`);
    return 2;
  }
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
