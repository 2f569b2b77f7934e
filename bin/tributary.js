#!/usr/bin/env -S node --max-semi-space-size=32
// --max-semi-space-size=32 (MB; V8's default is 16): a younger generation twice as large lets
// short-lived per-record garbage die before a scavenge copies it. On the cdc chain
// (bench/cdc-chain.bench.ts) it took 8-12 % off the CPU per row of the broker, the cdc reader and
// the worker. V8 sizes the heap at startup, so v8.setFlagsFromString() here has no effect: the
// flag must be on node's command line (this line; deploy/Dockerfile's ENTRYPOINT repeats it).
// Running `node bin/tributary.js` directly goes without it unless NODE_OPTIONS sets it.
// Thin launcher: the compiled CLI lives in dist/ (built by `npm ci` via the prepare script).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const entry = join(root, 'dist', 'cli', 'main.js');
if (!existsSync(entry)) {
  process.stderr.write('tributary: dist/ is missing; run `npm run build` (npm ci does it for you)\n');
  process.exit(1);
}
const { main, exitAfterFlush } = await import(entry);
await exitAfterFlush(await main(process.argv.slice(2)));
