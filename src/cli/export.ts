import fs from 'node:fs';
import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { OPERATOR } from '../core/index.ts';
import { exportTenant } from '../core/import/index.ts';
import { exportSource } from '../store/repos/import-export.ts';
import { toJsonl } from '../import/formats/jsonl.ts';
import { openCore, UsageError } from './context.ts';

export const help = `Usage: latchkey export [--tenant NAME] [FILE]

Writes a tenant ("default" unless --tenant) as JSON Lines to FILE, or to standard output:
its users with their password hashes, e-mail addresses and groups, its groups, settings, and
clients (without secrets: an import gives confidential clients new ones; social_providers,
which holds upstream client secrets, stays behind too, and standard error says so). The file holds
password hashes: it is created readable by its owner only. "latchkey import --format jsonl
FILE" reads it back, into this Latchkey or another. The format: docs/import-export.md.`;

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { tenant: { type: 'string' } }, strict: true, allowPositionals: true });
  if (positionals.length > 1) throw new UsageError('give at most one FILE');
  const file = positionals[0];
  const { store, core } = await openCore();
  try {
    const tenant = await core.tenants.adminGet(OPERATOR, values.tenant ?? 'default');
    const out = file ? fs.createWriteStream(file, { mode: 0o600 }) : process.stdout;
    if (file) await once(out, 'open');
    const write = async (line: string) => {
      if (!out.write(line + '\n')) await once(out, 'drain');
    };
    let users = 0;
    await write(toJsonl({ kind: 'header', exportedAt: Date.now() }));
    const omitted: string[] = [];
    for await (const r of exportTenant(exportSource(store.db), tenant, { onOmitted: (what) => omitted.push(what) })) {
      await write(toJsonl(r));
      if (r.kind === 'user') users++;
    }
    if (file) {
      (out as fs.WriteStream).end();
      await once(out, 'finish');
      console.error(`exported tenant "${tenant.name}": ${users} users to ${file}`);
    }
    for (const what of omitted) console.error(`not exported: ${what}`);
    return 0;
  } finally {
    await store.close();
  }
}
