// node hashcost.ts N: N sequential hashes with Latchkey's hasher; prints "MEAN_MS details" (the
// harness reads the first field, as for the other peers).
import { measureHashCost } from '../hash-cost.ts';

const n = Number(process.argv[2] ?? 10);
const c = await measureHashCost(n);
console.log(`${c.meanMs.toFixed(2)} ${c.details} median=${c.medianMs.toFixed(2)}ms samples=${c.samples}`);
