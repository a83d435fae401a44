import { parseArgs } from 'node:util';
import { openCore, UsageError } from './context.ts';

export const help = `Usage: latchkey keys rotate
       latchkey keys reseal

For each signing algorithm in use (ES256, and RS256 once a tenant chose it): promotes the
published "next" key to "current" (new tokens are signed with it within seconds on every
instance), retires the old current key (still published, so tokens it signed stay valid until
they expire) and publishes a new "next" key. Also makes a new key for the v1 refresh tokens
(the old one still verifies the refresh tokens it signed until they expire).

reseal: rewrites every secret kept sealed (TOTP seeds, upstream providers' client secrets) under
the first key of LATCHKEY_SECRET_KEYS. Rotate those keys by putting a new key first, running
this on one instance, then dropping the old key from the list.`;

export async function run(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, options: {}, strict: true, allowPositionals: true });
  if (!['rotate', 'reseal'].includes(positionals[0] ?? '') || positionals.length !== 1) throw new UsageError('expected: latchkey keys rotate | latchkey keys reseal');
  const { store, core } = await openCore();
  try {
    if (positionals[0] === 'reseal') {
      for (const r of await core.resealSecrets()) console.log(`${r.kind}: ${r.resealed} of ${r.total} resealed under the first key`);
      return 0;
    }
    const { rotated } = await core.rotateSigningKey();
    for (const k of rotated) console.log(`${k.alg} signing key rotated: current ${k.current}, next ${k.next}`);
    return 0;
  } finally {
    await store.close();
  }
}
