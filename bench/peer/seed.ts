// node seed.ts DB_PATH EXTRA_USERS [PUBLIC_URL]: the bench user, with the UUID that peer.json's `me`
// path names (the harness cannot read it from a response), and the extra users (see ../seed.ts).
import fs from 'node:fs';
import { seedBench, BENCH_USER } from '../seed.ts';

const [dbPath, extra, publicUrl] = process.argv.slice(2);
if (!dbPath) {
  console.error('usage: node seed.ts DB_PATH [EXTRA_USERS] [PUBLIC_URL]');
  process.exit(2);
}
const peer = JSON.parse(fs.readFileSync(new URL('./peer.json', import.meta.url), 'utf8')) as { scenarios: { name: string; request: { path: string } }[] };
const mePath = peer.scenarios.find((s) => s.name === 'me')?.request.path ?? '';
const benchId = /^\/api\/users\/([0-9a-f-]{36})\/$/.exec(mePath)?.[1];
if (!benchId) throw new Error(`peer.json: the me scenario's path should be /api/users/<uuid>/, got "${mePath}"`);
const r = await seedBench(`sqlite:${dbPath}`, { extraUsers: Number(extra ?? 1000), benchId, publicUrl });
console.log(`seeded: bench user ${JSON.stringify(BENCH_USER.username)} (staff, id ${r.benchId}), users total ${r.total}`);
