// LATCHKEY_SECRET_KEYS: the keys that seal secrets kept readable at rest (src/core/secret-box.ts).
// Unset, a key is generated once into the data directory (mode 0600) and reused on every start;
// several instances must be given the same list instead.
import fs from 'node:fs';
import path from 'node:path';
import crypto from 'node:crypto';
import { SECRET_KEY_MIN_LENGTH } from '../core/secret-box.ts';
import { ConfigError } from './env.ts';

export const SECRET_KEY_FILE = 'secret-key';

/** The configured keys, from the comma-separated list; a clear ConfigError on a bad one. */
export function parseSecretKeys(raw: string | undefined): string[] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const keys = raw.split(',').map((k) => k.trim()).filter(Boolean);
  keys.forEach((k, i) => {
    if (k.length < SECRET_KEY_MIN_LENGTH) {
      throw new ConfigError(`LATCHKEY_SECRET_KEYS: key ${i + 1} is ${k.length} characters; each must be at least ${SECRET_KEY_MIN_LENGTH} (e.g. \`openssl rand -base64 32\`)`);
    }
  });
  return keys;
}

/** The keys to use: the configured list, or the data directory's own key (made on first start). */
export function secretKeysFor(configured: string[] | undefined, dataDir: string): { keys: string[]; generated: string | undefined } {
  if (configured) return { keys: configured, generated: undefined };
  const file = path.join(dataDir, SECRET_KEY_FILE);
  try {
    const existing = fs.readFileSync(file, 'utf8').trim();
    if (existing.length >= SECRET_KEY_MIN_LENGTH) return { keys: [existing], generated: undefined };
    throw new ConfigError(`${file} does not hold a usable key; set LATCHKEY_SECRET_KEYS or restore the file`);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  fs.mkdirSync(dataDir, { recursive: true });
  const key = crypto.randomBytes(32).toString('base64url');
  // 'wx': two instances starting at once over one directory do not each write their own.
  try {
    fs.writeFileSync(file, key + '\n', { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return secretKeysFor(undefined, dataDir);
    throw err;
  }
  return { keys: [key], generated: file };
}
