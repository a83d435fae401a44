import { parseArgs } from 'node:util';
import { CONFLICT_POLICIES, importRecords, type ConflictPolicy, type ImportItem, type ImportReport } from '../core/import/index.ts';
import { OPERATOR } from '../core/index.ts';
import { importSink } from '../store/repos/import-batch.ts';
import { FileProblem } from '../import/formats/common.ts';
import { readJsonl } from '../import/formats/jsonl.ts';
import { readDjango } from '../import/formats/django.ts';
import { readKeycloak } from '../import/formats/keycloak.ts';
import { readBetterAuth } from '../import/formats/better-auth.ts';
import { openCore, UsageError } from './context.ts';
import { progressReporter } from './import-progress.ts';

export const help = `Usage: latchkey import [--tenant NAME] --format django|keycloak|better-auth|jsonl [--dry-run]
                      [--on-conflict skip|update|fail] FILE

Imports users (with their password hashes as they are), groups and memberships, e-mail
addresses, and (jsonl) settings and clients into a tenant: --tenant, else the tenant a jsonl
file names, else "default" (created when missing).

  --format django       manage.py dumpdata JSON (auth.user, auth.group, account.emailaddress),
                        or a CSV with auth_user's columns (FILE ending in .csv)
  --format keycloak     a realm export JSON with its users
  --format better-auth  better-auth's SQLite database file, or a postgres:// URL
  --format jsonl        Latchkey's JSON Lines (what "latchkey export" writes); FILE "-" is stdin
  --dry-run             check everything and report, write nothing
  --on-conflict POLICY  a username the tenant has, or an address another user verified:
                        update (the default: re-running updates, never duplicates), skip, or
                        fail (the row is rejected)

Every row is checked before anything is written: a rejected row (named with its line and
reason) means nothing is written. Then users are written in batches, each in one transaction.
Each password is checked in its own scheme at sign-in and replaced by argon2id then.
Exit 0 when every row was imported or skipped, 1 when rows were rejected or a batch failed,
2 on usage errors. Formats, hash schemes and the report: docs/import-export.md.`;

const FORMATS = ['django', 'keycloak', 'better-auth', 'jsonl'] as const;
type Format = (typeof FORMATS)[number];

async function read(format: Format, file: string): Promise<{ items: ImportItem[]; tenant?: { name: string; displayName: string } }> {
  if (format === 'django') return { items: readDjango(file) };
  if (format === 'keycloak') return { items: readKeycloak(file).items };
  if (format === 'better-auth') return { items: await readBetterAuth(file) };
  const items = await readJsonl(file);
  const t = items.find((i) => i.kind === 'tenant' && i.name);
  return { items, tenant: t && t.kind === 'tenant' ? { name: t.name, displayName: t.displayName } : undefined };
}

const plural = (n: number, one: string, many = `${one}s`) => `${n.toLocaleString('en-US')} ${n === 1 ? one : many}`;

export function formatReport(r: ImportReport, format: string): string {
  const out: string[] = [];
  out.push(`Import into tenant "${r.tenant}"${r.tenantCreated ? (r.dryRun ? ' (would be created)' : ' (created)') : ''}: format ${format}, --on-conflict ${r.onConflict}${r.dryRun ? ', dry run' : ''}`);
  const n = (x: number) => x.toLocaleString('en-US');
  out.push(`  users:        ${n(r.users.created)} created, ${n(r.users.updated)} updated, ${n(r.users.skipped)} skipped`);
  out.push(`  groups:       ${n(r.groups.created)} created, ${n(r.groups.existing)} already there`);
  out.push(`  addresses:    ${n(r.addresses)}; memberships: ${n(r.memberships)}`);
  out.push(`  settings:     ${r.settings}; clients: ${r.clients.created} created, ${r.clients.updated} updated, ${r.clients.skipped} skipped`);
  const schemes = Object.entries(r.hashSchemes).sort((a, b) => b[1] - a[1]).map(([s, c]) => `${s} ${n(c)}`);
  out.push(`  hash schemes: ${schemes.length ? schemes.join(', ') : 'none'}`);
  if (r.newIds) out.push(`  new UUIDs:    ${plural(r.newIds, 'user')} whose UUID in the file was taken got a new one`);
  if (r.rejected.length) {
    out.push(`  rejected:     ${plural(r.rejected.length, 'row')}`);
    for (const x of r.rejected) out.push(`    line ${x.line}: ${x.reason}`);
  }
  for (const c of r.clientSecrets) out.push(`  client "${c.clientId}": new client_secret ${c.secret} (shown once: only its hash is stored)`);
  if (r.failure) {
    out.push(`  FAILED:       the batch of lines ${r.failure.fromLine}-${r.failure.toLine} was not written: ${r.failure.message}`);
    out.push(`  Everything before line ${r.failure.fromLine} is imported (${plural(r.failure.usersWritten, 'user')} of the counts above), nothing from it on. To resume, run the same command`);
    out.push('  again: the users already imported are updated (or skipped with --on-conflict skip), none duplicated.');
  } else if (r.rejected.length) out.push('Nothing was written: fix or remove the rejected rows and run the import again.');
  else if (r.dryRun) out.push('Dry run: nothing was written.');
  else out.push('Done.');
  return out.join('\n');
}

export async function run(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: { tenant: { type: 'string' }, format: { type: 'string' }, 'dry-run': { type: 'boolean' }, 'on-conflict': { type: 'string' } },
    strict: true,
    allowPositionals: true,
  });
  if (!values.format) throw new UsageError(`--format is required (${FORMATS.join(', ')})`);
  if (!(FORMATS as readonly string[]).includes(values.format)) throw new UsageError(`unknown format "${values.format}" (${FORMATS.join(', ')})`);
  const onConflict = (values['on-conflict'] ?? 'update') as ConflictPolicy;
  if (!CONFLICT_POLICIES.includes(onConflict)) throw new UsageError(`--on-conflict takes skip, update or fail, not "${values['on-conflict']}"`);
  if (positionals.length !== 1) throw new UsageError(positionals.length ? 'give one FILE' : 'FILE is required');
  const format = values.format as Format;
  const dryRun = values['dry-run'] ?? false;
  const batchSize = Number(process.env.LATCHKEY_IMPORT_BATCH_SIZE ?? 1000);
  if (!Number.isSafeInteger(batchSize) || batchSize < 1) throw new UsageError('LATCHKEY_IMPORT_BATCH_SIZE must be a positive integer');

  let source: Awaited<ReturnType<typeof read>>;
  try {
    source = await read(format, positionals[0]);
  } catch (err) {
    if (!(err instanceof FileProblem)) throw err;
    console.error(`latchkey import: ${err.message}\nNothing was imported.`);
    return 1;
  }
  const { store, core } = await openCore();
  try {
    const name = values.tenant ?? source.tenant?.name ?? 'default';
    let tenant = await core.tenants.findByName(name);
    const tenantCreated = !tenant;
    if (!tenant && !dryRun) tenant = await core.tenants.adminCreate(OPERATOR, name, source.tenant?.name === name ? source.tenant.displayName || undefined : undefined);
    const report = await importRecords(source.items, importSink(store), {
      tenant: tenant ?? { pk: -1, name }, tenantCreated, onConflict, dryRun, now: Date.now(), batchSize,
      onProgress: progressReporter(),
    });
    console.log(formatReport(report, format));
    if (report.written && tenant) {
      // One audit row for the import (the rows themselves are too many to record one by one).
      const t = tenant;
      await store.transaction(() => core.events.emit({
        type: 'users.imported', tenantPk: t.pk, userPk: null,
        detail: { format, created: report.users.created, updated: report.users.updated, skipped: report.users.skipped, groups: report.groups.created, clients: report.clients.created, settings: report.settings },
      }));
      // Running instances cache settings and clients: tell them (through Redis, when configured).
      if (report.settings) await core.broadcast.publish('settings', String(tenant.pk));
      for (const i of source.items) if (i.kind === 'client') await core.broadcast.publish('client', i.client.clientId);
    }
    return report.rejected.length || report.failure ? 1 : 0;
  } finally {
    await store.close();
  }
}
