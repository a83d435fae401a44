// Counts password hashes under way: the queue in front of the thread pool, and the first sign
// of a sign-in flood (exported as a metric).
import type { PasswordHasher } from './password-hasher.ts';

export interface MeteredHasher extends PasswordHasher {
  inFlight(): number;
}

export function meterHasher(inner: PasswordHasher): MeteredHasher {
  let n = 0;
  const track = async <T>(work: () => Promise<T>): Promise<T> => {
    n++;
    try {
      return await work();
    } finally {
      n--;
    }
  };
  return {
    hash: (p) => track(() => inner.hash(p)),
    verify: (h, p) => track(() => inner.verify(h, p)),
    verifyDummy: (p) => track(() => inner.verifyDummy(p)),
    needsRehash: (h) => inner.needsRehash(h),
    inFlight: () => n,
  };
}
