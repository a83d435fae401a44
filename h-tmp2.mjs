import { hash } from '@node-rs/argon2';
const N = 150, conc = Number(process.argv[2] ?? 2);
const opts = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };
await hash('w', opts);
const c0 = process.cpuUsage(); const t0 = performance.now(); let i = 0;
await Promise.all(Array.from({ length: conc }, async () => { while (i++ < N) await hash('p' + i, opts); }));
const dt = performance.now() - t0; const c = process.cpuUsage(c0);
console.log(process.env.TAG, 'conc', conc, (N / dt * 1000).toFixed(1), '/s user', (c.user / 1000 / N).toFixed(2), 'sys', (c.system / 1000 / N).toFixed(2));
