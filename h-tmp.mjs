import { hash } from '@node-rs/argon2';
import fs from 'node:fs';
const opts = { algorithm: 2, memoryCost: 19456, timeCost: 2, parallelism: 1 };
const minflt = () => Number(fs.readFileSync('/proc/self/stat', 'utf8').split(') ')[1].split(' ')[7]);
await hash('x', opts); await hash('x', opts);
const f0 = minflt();
for (let i = 0; i < 20; i++) await hash('x' + i, opts);
console.log('minor faults per hash', (minflt() - f0) / 20, '(4K pages in 19 MiB = 4864)');
