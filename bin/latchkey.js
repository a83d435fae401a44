#!/usr/bin/env -S node --max-semi-space-size=4
// Runs the TypeScript sources directly: Node 24 strips their types (no build step).
// --max-semi-space-size=4 (MiB): V8 otherwise lets the young generation grow to 32 MiB and more,
// all of it resident; 4 MiB costs no measurable throughput here (docs/benchmarks.md).
// The compile cache keeps each module's stripped and compiled code on disk, so later starts
// neither load the TypeScript stripper (about 18 MB) nor strip again.
import module from 'node:module';

const [major, minor] = process.versions.node.split('.').map(Number);
if (major < 22 || (major === 22 && minor < 18)) {
  console.error(`latchkey needs Node.js 22.18 or later (this is ${process.version}). Run it through npm, ` +
    'which puts the project\'s own Node 24 first: "npm start", "npx latchkey ...".');
  process.exit(1);
}
module.enableCompileCache?.();
await import('../src/cli/main.ts');
