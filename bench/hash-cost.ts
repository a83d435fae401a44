// Time of one password hash with the service's own hasher (argon2id, OWASP parameters), one
// hash at a time: @node-rs/argon2 runs each on one libuv thread, so this is one core's work.
import { createRequire } from 'node:module';
import { createArgon2Hasher, OWASP_ARGON2ID } from '../src/core/index.ts';

export interface HashCost {
  meanMs: number;
  medianMs: number;
  samples: number;
  /** "argon2id m=19456 t=2 p=1 @node-rs/argon2=2.2.1 node=v24..." */
  details: string;
}

export async function measureHashCost(samples: number): Promise<HashCost> {
  const hasher = createArgon2Hasher();
  await hasher.hash('warm-up-password');
  const times: number[] = [];
  for (let i = 0; i < samples; i++) {
    const t0 = performance.now();
    await hasher.hash(`bench-password-${i}`);
    times.push(performance.now() - t0);
  }
  const sorted = [...times].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const medianMs = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  const meanMs = times.reduce((a, b) => a + b, 0) / times.length;
  const version = (createRequire(import.meta.url)('@node-rs/argon2/package.json') as { version: string }).version;
  const { memoryCost: m, timeCost: t, parallelism: p } = OWASP_ARGON2ID;
  return { meanMs, medianMs, samples, details: `argon2id m=${m} t=${t} p=${p} @node-rs/argon2=${version} node=${process.version}` };
}

/**
 * Hashes per second with `concurrency` hashes under way at once (as many as the load's
 * connections): argon2id is memory-hard, and two 19 MiB hashes at once on this machine's two
 * cores each run slower than one alone, so this rate is below cores ÷ one hash's time.
 */
export async function measureParallelHashRate(concurrency: number, total: number): Promise<number> {
  const hasher = createArgon2Hasher();
  await Promise.all(Array.from({ length: concurrency }, (_, i) => hasher.hash(`warm-up-${i}`)));
  let started = 0;
  const t0 = performance.now();
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (started < total) {
      started++;
      await hasher.hash(`bench-password-${started}`);
    }
  }));
  return total / ((performance.now() - t0) / 1000);
}
