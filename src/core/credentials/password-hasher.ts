// argon2id with OWASP's parameters (19 MiB, 2 passes, 1 lane). @node-rs/argon2 runs each hash
// on libuv's thread pool, so the event loop keeps serving other requests meanwhile.
import { hash, verify, parseOptions } from '@node-rs/argon2';
import { isImportedHash, verifyImportedHash } from './imported-hashes.ts';

export interface HashParams {
  memoryCost: number;
  timeCost: number;
  parallelism: number;
}

export const OWASP_ARGON2ID: HashParams = { memoryCost: 19_456, timeCost: 2, parallelism: 1 };

const ARGON2ID = 2; // Algorithm.Argon2id (a const enum, which type stripping cannot read)

export interface PasswordHasher {
  hash(password: string): Promise<string>;
  verify(stored: string, password: string): Promise<boolean>;
  /** True when `stored` was made with other parameters than the current ones, or in an imported scheme. */
  needsRehash(stored: string): boolean;
  /** Spends the time of one verification, for callers that have no user to check against. */
  verifyDummy(password: string): Promise<void>;
}

export function createArgon2Hasher(params: HashParams = OWASP_ARGON2ID): PasswordHasher {
  const options = { ...params, algorithm: ARGON2ID };
  let dummy: Promise<string> | undefined;
  const hasher: PasswordHasher = {
    hash: (password) => hash(password, options),
    async verify(stored, password) {
      // A hash brought by `latchkey import` is checked in its own scheme (then needsRehash replaces it).
      if (isImportedHash(stored)) return verifyImportedHash(stored, password);
      try {
        return await verify(stored, password);
      } catch {
        return false; // a malformed stored hash never matches
      }
    },
    needsRehash(stored) {
      if (isImportedHash(stored)) return true;
      try {
        const o = parseOptions(stored);
        return o.algorithm !== ARGON2ID || o.memoryCost !== params.memoryCost || o.timeCost !== params.timeCost || o.parallelism !== params.parallelism;
      } catch {
        return true;
      }
    },
    async verifyDummy(password) {
      dummy ??= hash('latchkey-dummy-password', options);
      await hasher.verify(await dummy, password);
    },
  };
  return hasher;
}
