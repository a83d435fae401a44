// `npm test`: every test file under test/, with node's test runner, then one summary line.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { scanLogs } from './log-scan.ts';

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
const logDir = fs.mkdtempSync(path.join(os.tmpdir(), 'latchkey-test-logs-'));
const result = spawnSync(process.execPath, [
  '--test',
  '--test-reporter=spec', '--test-reporter-destination=stdout',
  '--test-reporter=./test/summary-reporter.mjs', '--test-reporter-destination=stdout',
  ...files,
], { stdio: 'inherit', env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent', LATCHKEY_TEST_LOG_DIR: logDir } });

// The servers of this run logged to logDir; the tests noted every secret they used.
const scan = scanLogs(logDir);
fs.rmSync(logDir, { recursive: true, force: true });
if (scan.leaks.length) {
  console.log(`log secret scan: FAILED: ${scan.leaks.length} secret(s) found in the server logs (${scan.leaks.map((l) => l.slice(0, 6) + '…').join(', ')})`);
  process.exit(1);
}
console.log(`log secret scan: ${scan.secrets} secrets used by the tests, none in ${scan.logBytes} bytes of server logs`);
process.exit(result.status ?? 1);
