// Random values and their stored forms. High-entropy secrets (tokens, session secrets) are
// stored as SHA-256: a slow hash adds nothing when the input cannot be guessed.
import crypto from 'node:crypto';

export const newUuid = (): string => crypto.randomUUID();

// Random bytes are drawn from the CSPRNG 4 KiB at a time and each byte is handed out once (as
// Node does for randomUUID): one call per token cost more than the rest of making it.
const POOL = Buffer.alloc(4096);
let poolOffset = POOL.length;

export function randomToken(bytes = 32): string {
  if (bytes > POOL.length) return crypto.randomBytes(bytes).toString('base64url');
  if (poolOffset + bytes > POOL.length) {
    crypto.randomFillSync(POOL);
    poolOffset = 0;
  }
  const token = POOL.toString('base64url', poolOffset, poolOffset + bytes);
  POOL.fill(0, poolOffset, poolOffset + bytes); // what was handed out is not kept
  poolOffset += bytes;
  return token;
}

export const sha256 = (value: string): string => crypto.hash('sha256', value, 'hex');

/** Constant-time equality of two strings (lengths are compared first, which leaks only length). */
export function safeEqual(a: string, b: string): boolean {
  const ba = Buffer.from(a);
  const bb = Buffer.from(b);
  return ba.length === bb.length && crypto.timingSafeEqual(ba, bb);
}

const UUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
export const isUuid = (value: string): boolean => UUID_RE.test(value);
