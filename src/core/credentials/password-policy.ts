// The password rules, applied to every way a password is set, in every dialect.
import fs from 'node:fs';
import zlib from 'node:zlib';
import type { Settings } from '../settings/settings-schema.ts';

let common: Set<string> | undefined;

/** The shipped list of common passwords (see COMMON-PASSWORDS-NOTICE.md), read once. */
function commonPasswords(): Set<string> {
  common ??= new Set(
    zlib.gunzipSync(fs.readFileSync(new URL('./common-passwords.txt.gz', import.meta.url))).toString('utf8').split('\n').map((l) => l.trim()).filter(Boolean),
  );
  return common;
}

/** Longer inputs are refused before hashing: argon2 cost must not be chosen by the caller. */
export const MAX_PASSWORD_BYTES = 4096;

export interface PasswordContext {
  username?: string;
  email?: string;
}

/** Returns the problems with `password` (empty when it is acceptable). */
export function checkPassword(password: string, settings: Pick<Settings, 'password_min_length'>, ctx: PasswordContext = {}): string[] {
  const problems: string[] = [];
  if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) {
    return [`This password is too long. It must contain at most ${MAX_PASSWORD_BYTES} bytes.`];
  }
  const min = settings.password_min_length;
  if ([...password].length < min) {
    problems.push(`This password is too short. It must contain at least ${min} characters.`);
  }
  const lower = password.toLowerCase();
  if (commonPasswords().has(lower.trim())) problems.push('This password is too common.');
  if (ctx.username && lower === ctx.username.toLowerCase()) problems.push('The password is too similar to the username.');
  if (ctx.email && (lower === ctx.email.toLowerCase() || lower === ctx.email.split('@')[0]!.toLowerCase())) {
    problems.push('The password is too similar to the email address.');
  }
  return problems;
}
