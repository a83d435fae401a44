import { parseArgs } from 'node:util';
import { openCore, UsageError } from './context.ts';

export const help = `Usage: latchkey keys rotate

Promotes the published "next" signing key to "current" (new tokens are signed with it within
seconds on every instance), retires the old current key (still published, so tokens it signed
stay valid until they expire) and publishes a new "next" key.`;

export async function run(argv: string[]): Promise<number> {
  const { positionals } = parseArgs({ args: argv, options: {}, strict: true, allowPositionals: true });
  if (positionals[0] !== 'rotate' || positionals.length !== 1) throw new UsageError('expected: latchkey keys rotate');
  const { store, core } = await openCore();
  try {
    const { current, next } = await core.rotateSigningKey();
    console.log(`signing key rotated: current ${current}, next ${next}`);
    return 0;
  } finally {
    await store.close();
  }
}
