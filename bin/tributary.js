#!/usr/bin/env node
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
