// Password hashes brought in by `latchkey import`, each checked in its own scheme with that
// scheme's documented parameters (node:crypto's pbkdf2 and scrypt, bcryptjs, @node-rs/argon2),
// recognised by its stored form. Nothing here guesses: a string no scheme claims, or one a scheme
// claims but cannot read, never matches, and the import reports it before storing it.
// After the first successful sign-in the hasher replaces any of these by argon2id.
import crypto from 'node:crypto';
import { promisify } from 'node:util';
import bcrypt from 'bcryptjs';
import { verify as argon2Verify, parseOptions } from '@node-rs/argon2';

const pbkdf2 = promisify(crypto.pbkdf2);
const scrypt = promisify(crypto.scrypt) as (password: string, salt: string | Buffer, keylen: number, opts: crypto.ScryptOptions) => Promise<Buffer>;

/** A scheme's name as the import report shows it, or why the string cannot be used. */
export type HashDescription = { scheme: string } | { problem: string };

interface Scheme {
  name: string;
  claims(stored: string): boolean;
  /** Undefined when well formed, else what is wrong. */
  problem(stored: string): string | undefined;
  verify(stored: string, password: string): Promise<boolean>;
}

const B64 = /^[A-Za-z0-9+/]+={0,2}$/;
const HEX = /^[0-9a-f]+$/;
const DIGEST_BYTES: Record<string, number> = { sha1: 20, sha256: 32, sha512: 64 };
// Bounds on what an imported hash may ask of a sign-in (a typo must not make one take minutes
// or gigabytes); each is far above what the schemes' authors ship as defaults.
const MAX_ITERATIONS = 10_000_000;
const MAX_BCRYPT_COST = 20;
const MAX_MEMORY_BYTES = 1 << 30;

const intIn = (s: string | undefined, min: number, max: number): number | undefined => {
  if (s === undefined || !/^\d{1,9}$/.test(s)) return undefined;
  const n = Number(s);
  return n >= min && n <= max ? n : undefined;
};

/** Equal-length byte comparison in constant time (a length mismatch is already a mismatch). */
const same = (a: Buffer, b: Buffer): boolean => a.length === b.length && crypto.timingSafeEqual(a, b);

// --- argon2 PHC strings ($argon2id$, $argon2i$, $argon2d$): Latchkey's own, and imported ones ---
function argon2Problem(phc: string): string | undefined {
  try {
    const o = parseOptions(phc);
    if ((o.memoryCost ?? 0) * 1024 > MAX_MEMORY_BYTES || (o.timeCost ?? 0) > 1000 || (o.parallelism ?? 0) > 255) return 'argon2 parameters beyond what a sign-in may spend (m over 1 GiB, t over 1000 or p over 255)';
    const parts = phc.split('$');
    if (parts.length !== 6 || !parts[4] || !parts[5]) return 'not a complete argon2 PHC string';
    return undefined;
  } catch {
    return 'not a readable argon2 PHC string';
  }
}
async function argon2Check(phc: string, password: string): Promise<boolean> {
  try {
    return await argon2Verify(phc, password);
  } catch {
    return false;
  }
}

// --- Django: pbkdf2_sha256$<iterations>$<salt>$<base64 key>, pbkdf2_sha1$... (salt used as text) ---
function djangoPbkdf2(digest: 'sha256' | 'sha1'): Scheme {
  const prefix = `pbkdf2_${digest}$`;
  const parse = (stored: string) => {
    const [, iter, salt, key] = stored.split('$');
    const iterations = intIn(iter, 1, MAX_ITERATIONS);
    if (stored.split('$').length !== 4 || iterations === undefined || !salt || !key || !B64.test(key)) return undefined;
    const expected = Buffer.from(key, 'base64');
    return expected.length === DIGEST_BYTES[digest] ? { iterations, salt, expected } : undefined;
  };
  return {
    name: `django pbkdf2_${digest}`,
    claims: (s) => s.startsWith(prefix),
    problem: (s) => (parse(s) ? undefined : `malformed Django pbkdf2_${digest} hash (expected pbkdf2_${digest}$<iterations>$<salt>$<base64>)`),
    async verify(stored, password) {
      const p = parse(stored);
      if (!p) return false;
      return same(await pbkdf2(password, p.salt, p.iterations, p.expected.length, digest), p.expected);
    },
  };
}

// --- bcrypt: $2a$/$2b$/$2y$ as is; Django's bcrypt$<bcrypt> and bcrypt_sha256$<bcrypt> ---
const BCRYPT = /^\$2[aby]\$(\d\d)\$[./A-Za-z0-9]{53}$/;
const bcryptProblem = (b: string): string | undefined => {
  const m = BCRYPT.exec(b);
  return m && Number(m[1]) >= 4 && Number(m[1]) <= MAX_BCRYPT_COST ? undefined : `malformed bcrypt hash (expected $2a$/$2b$/$2y$<cost 04-${MAX_BCRYPT_COST}>$<53 characters>)`;
};
async function bcryptCheck(b: string, password: string): Promise<boolean> {
  if (bcryptProblem(b)) return false;
  try {
    return await bcrypt.compare(password, b);
  } catch {
    return false;
  }
}

const plainBcrypt: Scheme = {
  name: 'bcrypt',
  claims: (s) => /^\$2[aby]\$/.test(s),
  problem: bcryptProblem,
  verify: bcryptCheck,
};

const djangoBcrypt: Scheme = {
  name: 'django bcrypt',
  claims: (s) => s.startsWith('bcrypt$'),
  problem: (s) => bcryptProblem(s.slice('bcrypt$'.length)),
  verify: (s, password) => bcryptCheck(s.slice('bcrypt$'.length), password),
};

// Django hashes the password with SHA-256 first (hex digest), so bcrypt's 72-byte limit does not cut it.
const djangoBcryptSha256: Scheme = {
  name: 'django bcrypt_sha256',
  claims: (s) => s.startsWith('bcrypt_sha256$'),
  problem: (s) => bcryptProblem(s.slice('bcrypt_sha256$'.length)),
  verify: (s, password) => bcryptCheck(s.slice('bcrypt_sha256$'.length), crypto.createHash('sha256').update(password, 'utf8').digest('hex')),
};

// --- Django argon2: argon2$<PHC string without its leading $> ---
const djangoArgon2: Scheme = {
  name: 'django argon2',
  claims: (s) => s.startsWith('argon2$argon2'),
  problem: (s) => (argon2Problem(s.slice('argon2'.length)) ? 'malformed Django argon2 hash (expected argon2$argon2id$v=19$m=...,t=...,p=...$<salt>$<hash>)' : undefined),
  verify: (s, password) => argon2Check(s.slice('argon2'.length), password),
};

// --- Django scrypt: scrypt$<N>$<salt>$<r>$<p>$<base64 64-byte key> (salt used as text) ---
const djangoScryptParse = (stored: string) => {
  const parts = stored.split('$');
  if (parts.length !== 6) return undefined;
  const [, nText, salt, rText, pText, key] = parts;
  const N = intIn(nText, 2, 1 << 20);
  const r = intIn(rText, 1, 64);
  const p = intIn(pText, 1, 64);
  if (N === undefined || (N & (N - 1)) !== 0 || r === undefined || p === undefined || !salt || !key || !B64.test(key)) return undefined;
  if (128 * N * r > MAX_MEMORY_BYTES || N * r * p > 1 << 26) return undefined;
  const expected = Buffer.from(key, 'base64');
  return expected.length === 64 ? { N, r, p, salt, expected } : undefined;
};
const djangoScrypt: Scheme = {
  name: 'django scrypt',
  claims: (s) => s.startsWith('scrypt$'),
  problem: (s) => (djangoScryptParse(s) ? undefined : 'malformed Django scrypt hash (expected scrypt$<N>$<salt>$<r>$<p>$<base64>)'),
  async verify(stored, password) {
    const q = djangoScryptParse(stored);
    if (!q) return false;
    const key = await scrypt(password, q.salt, 64, { N: q.N, r: q.r, p: q.p, maxmem: 256 * q.N * q.r * q.p + (1 << 20) });
    return same(key, q.expected);
  },
};

// --- better-auth: <hex salt>:<hex 64-byte key>; scrypt N=16384 r=16 p=1, the NFKC form of the
// password, and the salt's hex text (not its bytes) as the salt, as @better-auth/utils does ---
const betterAuthParse = (stored: string) => {
  const i = stored.indexOf(':');
  const salt = stored.slice(0, i);
  const key = stored.slice(i + 1);
  if (i < 1 || !HEX.test(salt) || salt.length > 128 || key.length !== 128 || !HEX.test(key)) return undefined;
  return { salt, expected: Buffer.from(key, 'hex') };
};
const betterAuthScrypt: Scheme = {
  name: 'better-auth scrypt',
  claims: (s) => /^[0-9a-f]+:/.test(s),
  problem: (s) => (betterAuthParse(s) ? undefined : 'malformed better-auth scrypt hash (expected <hex salt>:<128 hex digits>)'),
  async verify(stored, password) {
    const q = betterAuthParse(stored);
    if (!q) return false;
    const N = 16384, r = 16, p = 1;
    const key = await scrypt(password.normalize('NFKC'), q.salt, 64, { N, r, p, maxmem: 128 * N * r * 2 });
    return same(key, q.expected);
  },
};

// --- Keycloak's pbkdf2 credentials, in Latchkey's form (docs/import-export.md):
// keycloak-pbkdf2-sha256$<iterations>$<base64 salt bytes>$<base64 key>; -sha512; plain keycloak-pbkdf2 is SHA-1.
// The key's length is the derived key size Keycloak used (256 or 512 bits). ---
function keycloakPbkdf2(algorithm: 'pbkdf2' | 'pbkdf2-sha256' | 'pbkdf2-sha512'): Scheme {
  const digest = algorithm === 'pbkdf2' ? 'sha1' : algorithm.slice('pbkdf2-'.length);
  const prefix = `keycloak-${algorithm}$`;
  const parse = (stored: string) => {
    const parts = stored.split('$');
    if (parts.length !== 4) return undefined;
    const [, iter, salt, key] = parts;
    const iterations = intIn(iter, 1, MAX_ITERATIONS);
    if (iterations === undefined || !salt || !B64.test(salt) || !key || !B64.test(key)) return undefined;
    const expected = Buffer.from(key, 'base64');
    return expected.length >= 16 && expected.length <= 128 ? { iterations, salt: Buffer.from(salt, 'base64'), expected } : undefined;
  };
  return {
    name: `keycloak ${algorithm}`,
    claims: (s) => s.startsWith(prefix),
    problem: (s) => (parse(s) ? undefined : `malformed Keycloak ${algorithm} hash (expected ${prefix}<iterations>$<base64 salt>$<base64 key>)`),
    async verify(stored, password) {
      const p = parse(stored);
      if (!p) return false;
      return same(await pbkdf2(password, p.salt, p.iterations, p.expected.length, digest), p.expected);
    },
  };
}

const argon2Phc: Scheme = {
  name: 'argon2',
  claims: (s) => /^\$argon2(id|i|d)\$/.test(s),
  problem: (s) => argon2Problem(s),
  verify: argon2Check,
};

// Order matters only where one prefix starts another: bcrypt_sha256$ before bcrypt$.
const SCHEMES: Scheme[] = [
  argon2Phc, plainBcrypt,
  djangoPbkdf2('sha256'), djangoPbkdf2('sha1'), djangoBcryptSha256, djangoBcrypt, djangoArgon2, djangoScrypt,
  keycloakPbkdf2('pbkdf2-sha256'), keycloakPbkdf2('pbkdf2-sha512'), keycloakPbkdf2('pbkdf2'),
  betterAuthScrypt,
];

const schemeOf = (stored: string): Scheme | undefined => SCHEMES.find((s) => s.claims(stored));

/** Which scheme a stored hash is in, with the name the import report uses; or what is wrong with it. */
export function describeHash(stored: string): HashDescription {
  const scheme = schemeOf(stored);
  if (!scheme) {
    const head = stored.split('$').filter(Boolean)[0] ?? '';
    return { problem: `unknown password hash scheme${head && head.length <= 40 && /^[\w.-]+$/.test(head) ? ` "${head}"` : ''}` };
  }
  const problem = scheme.problem(stored);
  if (problem) return { problem };
  // Latchkey's own argon2id strings are reported as such; other argon2 variants are imported.
  if (scheme === argon2Phc) return { scheme: stored.startsWith('$argon2id$') ? 'argon2id' : stored.startsWith('$argon2i$') ? 'argon2i' : 'argon2d' };
  return { scheme: scheme.name };
}

/** True for the imported schemes this module verifies (not for argon2 PHC strings, which the hasher checks itself). */
export const isImportedHash = (stored: string): boolean => {
  const s = schemeOf(stored);
  return s !== undefined && s !== argon2Phc;
};

/** Checks `password` against an imported hash in its own scheme; false when no scheme can read it. */
export async function verifyImportedHash(stored: string, password: string): Promise<boolean> {
  const scheme = schemeOf(stored);
  if (!scheme || scheme === argon2Phc || scheme.problem(stored)) return false;
  return scheme.verify(stored, password);
}

/** Keycloak's argon2 credential as a PHC string (the form the argon2 verifier reads). */
export function keycloakArgon2Phc(p: { type: string; version: string; memory: number; iterations: number; parallelism: number; salt: Buffer; hash: Buffer }): string {
  const variant = p.type === 'i' ? 'argon2i' : p.type === 'd' ? 'argon2d' : 'argon2id';
  const v = p.version === '1.0' ? 16 : 19;
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$${variant}$v=${v}$m=${p.memory},t=${p.iterations},p=${p.parallelism}$${b64(p.salt)}$${b64(p.hash)}`;
}
