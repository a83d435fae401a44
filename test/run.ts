// `npm test`: every test file under test/, with node's test runner, then one summary line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

function find(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) return e.name === 'helpers' ? [] : find(p);
    return e.name.endsWith('.test.ts') ? [p] : [];
  });
}

const only = process.argv.slice(2);
const files = only.length ? only : find('test').sort();
if (!process.env.TEST_DATABASE_URL) {
  console.log('NOTE: TEST_DATABASE_URL is not set: the PostgreSQL half of the suites is skipped (SQLite only).');
} else {
  console.log('PostgreSQL half enabled (TEST_DATABASE_URL is set).');
}
const result = spawnSync(process.execPath, [
  '--test',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=./test/summary-reporter.mjs', '--test-reporter-destination=stdout',
  ...files,
], { stdio: 'inherit', env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' } });
process.exit(result.status ?? 1);
