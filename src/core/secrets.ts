// Random values and their stored forms. High-entropy secrets (tokens, session secrets) are
// stored as SHA-256: a slow hash adds nothing when the input cannot be guessed.
import crypto from 'node:crypto';

export const newUuid = (): string => crypto.randomUUID();

export const randomToken = (bytes = 32): string => crypto.randomBytes(bytes).toString('base64url');

export const sha256 = (value: string): string => crypto.createHash('sha256').update(value).digest('hex');

/** Constant-time equality of two strings (lengths are compared first, which leaks only length). */
export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID_RE.test(value);
