// Recovery codes: ten random codes, shown once when made, kept only as SHA-256 (each is 50 random
// bits, tried under the account's failure throttle: a slow hash would add nothing), each used
// once. Input is matched without case, spaces or dashes, as people copy them.
import crypto from 'node:crypto';
import { sha256 } from '../secrets.ts';

export const RECOVERY_CODE_COUNT = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i

export interface RecoveryCodesData {
  /** SHA-256 of each code not yet used. */
  unused: string[];
  total: number;
}

export function newRecoveryCodes(): { codes: string[]; data: RecoveryCodesData } {
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, () => {
    const chars = Array.from({ length: 10 }, () => ALPHABET[crypto.randomInt(ALPHABET.length)]).join('');
    return `${chars.slice(0, 5)}-${chars.slice(5)}`;
  });
  return { codes, data: { unused: codes.map(hashRecoveryCode), total: RECOVERY_CODE_COUNT } };
}

export const normalizeRecoveryCode = (code: string): string => code.toLowerCase().replace(/[\s-]/g, '');

export const hashRecoveryCode = (code: string): string => sha256(`recovery:${normalizeRecoveryCode(code)}`);

export const looksLikeRecoveryCode = (code: string): boolean => /^[a-z0-9]{10}$/.test(normalizeRecoveryCode(code));
