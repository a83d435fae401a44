import { parseArgs } from 'node:util';
import { loadConfig } from '../config/env.ts';
import { openStore } from '../store/index.ts';

export const help = `Usage: latchkey migrate

Brings the database named by DATABASE_URL to the newest schema and prints what was applied.
(The server also does this at every start.)`;

export async function run(argv: string[]): Promise<number> {
  parseArgs({ args: argv, options: {}, strict: true });
  const config = loadConfig();
  const store = openStore(config.databaseUrl);
  try {
    const applied = await store.migrate();
    console.log(applied.length ? `applied: ${applied.join(', ')}` : 'database schema is up to date');
    return 0;
  } finally {
    await store.close();
  }
}
