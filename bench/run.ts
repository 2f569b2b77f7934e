/**
 * `npm run bench [name...]`: runs bench/<name>.bench.ts files (all but the suites that start a
 * broker, by default; `npm run bench:broker`, `npm run bench -- kafka-consume` run those) and prints a table of figures.
 * `BENCH_BASELINE=<rev> npm run bench -- NAME...` runs them at <rev> too, alternating, and prints ours/baseline.
 */
import { readdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import type { BenchResult } from './types.js';

const here = dirname(fileURLToPath(import.meta.url));
// Options (--broker dev|kafka|both) are for the suites to read (bench/kafka-brokers.ts); names are the rest.
const wanted = parseArgs({ args: process.argv.slice(2), options: { broker: { type: 'string' } }, allowPositionals: true, strict: false }).positionals;
// BENCH_BASELINE=<rev>: the same suites at <rev> and here, alternating, with ratios (bench/compare.ts).
if (process.env.BENCH_BASELINE) {
  const { compare } = await import('./compare.js');
  await compare(process.env.BENCH_BASELINE, wanted);
  process.exit(process.exitCode ?? 0);
}
const all = (await readdir(here)).filter((f) => f.endsWith('.bench.ts')).map((f) => f.slice(0, -'.bench.ts'.length)).sort();
const names = wanted.length > 0 ? wanted : all.filter((n) => n !== 'broker' && n !== 'kafka-consume' && n !== 'kafka-e2e' && n !== 'cdc-latency' && n !== 'cdc-chain' && n !== 'sinks');
const results: Array<BenchResult & { suite: string }> = [];
for (const name of names) {
  if (!all.includes(name)) {
    process.stderr.write(`bench: no bench/${name}.bench.ts (have: ${all.join(', ')})\n`);
    process.exitCode = 1;
    continue;
  }
  process.stderr.write(`\n== bench/${name}.bench.ts\n`);
  const mod = (await import(pathToFileURL(join(here, `${name}.bench.ts`)).href)) as { bench: () => Promise<BenchResult[]> };
  for (const r of await mod.bench()) {
    results.push({ ...r, suite: name });
    process.stderr.write(`   ${r.name}: ${fmt(r.value)} ${r.unit}${r.note ? `  (${r.note})` : ''}\n`);
  }
}
process.stdout.write('\nsuite        figure                                               value          unit\n');
for (const r of results) {
  process.stdout.write(`${r.suite.padEnd(12)} ${r.name.padEnd(52)} ${fmt(r.value).padStart(14)} ${r.unit}${r.note ? `  ${r.note}` : ''}\n`);
}

function fmt(v: number): string {
  return Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2);
}
