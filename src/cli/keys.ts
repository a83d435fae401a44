import { parseArgs } from 'node:util';
import { openCore, UsageError } from './context.ts';

export const help = `Usage: latchkey keys rotate

For each signing algorithm in use (ES256, and RS256 once a tenant chose it): promotes the
published "next" key to "current" (new tokens are signed with it within seconds on every
instance), retires the old current key (still published, so tokens it signed stay valid until
they expire) and publishes a new "next" key. Also makes a new key for the v1 refresh tokens
(the old one still verifies the refresh tokens it signed until they expire).`;

export async function run(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, options: {}, strict: true, allowPositionals: true });
  if (positionals[0] !== 'rotate' || positionals.length !== 1) throw new UsageError('expected: latchkey keys rotate');
  const { store, core } = await openCore();
  try {
    const { rotated } = await core.rotateSigningKey();
    for (const k of rotated) console.log(`${k.alg} signing key rotated: current ${k.current}, next ${k.next}`);
    return 0;
  } finally {
    await store.close();
  }
}
