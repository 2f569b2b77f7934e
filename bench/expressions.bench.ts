/**
 * Expression evaluation throughput over 1M generated rows (the same rows for every figure):
 * a filter predicate, a map-like arithmetic expression, and a set lookup plus a function call;
 * and a map step's whole reshape of a row (two expressions set, a field dropped, the rest copied).
 * Several expressions are compiled before timing, as in a real topology, so call sites inside
 * the helpers are not measured in an unrealistically monomorphic state.
 */
import { compileExpression } from '../src/expr/index.js';
import type { Row, StreamRecord } from '../src/core/record.js';
import { compileTopology } from '../src/topology/index.js';
import { connectorCatalog } from '../src/connectors/registry.js';
import { stepRegistry } from '../src/operators/registry.js';
import type { OperatorContext } from '../src/operators/types.js';
import type { BenchResult } from './types.js';

const ROWS = Number(process.env.BENCH_ROWS ?? 1_000_000);
const ROUNDS = 5;

const FIGURES: ReadonlyArray<{ name: string; source: string }> = [
  { name: 'filter: amount > 0 && user_id != null', source: 'amount > 0 && user_id != null' },
  { name: 'map: amount / 100 + fee * 2', source: 'amount / 100 + fee * 2' },
  { name: "filter: channel in [..] && lower(tier) == 'gold'", source: "channel in ['app', 'web'] && lower(tier) == 'gold'" },
];

function makeRows(n: number): Row[] {
  let seed = 42;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const rows: Row[] = new Array<Row>(n);
  for (let i = 0; i < n; i++) {
    rows[i] = {
      amount: Math.floor(rnd() * 20_000) - 1_000,
      user_id: rnd() < 0.1 ? null : `u${i % 5_000}`,
      fee: Math.round(rnd() * 300) / 100,
      channel: rnd() < 0.5 ? 'app' : rnd() < 0.5 ? 'web' : 'pos',
      tier: rnd() < 0.2 ? 'GOLD' : 'basic',
    };
  }
  return rows;
}

export async function bench(): Promise<BenchResult[]> {
  const rows = makeRows(ROWS);
  const compiled = FIGURES.map((f) => ({ ...f, expr: compileExpression(f.source) }));
  const results: BenchResult[] = [];
  for (const { name, expr } of compiled) {
    let best = 0;
    let checksum = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const started = process.hrtime.bigint();
      for (let i = 0; i < rows.length; i++) {
        const v = expr.evaluate(rows[i]);
        if (v === true || typeof v === 'number') checksum++;
      }
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      best = Math.max(best, rows.length / seconds);
    }
    // The checksum keeps the loop from being optimized away and shows the work was real.
    results.push({ name, value: best, unit: 'evals/s', note: `best of ${ROUNDS} x ${rows.length.toLocaleString('en-US')} rows; ${checksum} truthy/numeric results` });
  }
  results.push(mapStepFigure(rows));
  const started = process.hrtime.bigint();
  const n = 2_000;
  for (let i = 0; i < n; i++) compileExpression(`amount / ${i} + fee * 2 > 10 && lower(channel) in ['app', 'web']`);
  results.push({ name: 'compile a 20-token expression', value: n / (Number(process.hrtime.bigint() - started) / 1e9), unit: 'compiles/s' });
  return results;
}

/** `map: { set: { yuan, big }, drop: [tier] }` over the rows, as the engine runs it (one emit per row). */
function mapStepFigure(rows: readonly Row[]): BenchResult {
  const plan = compileTopology(`apiVersion: tributary/v1
kind: Topology
metadata: { name: map-bench }
spec:
  sources:
    events: { file: { path: unused.jsonl } }
  pipeline:
    - id: shaped
      from: events
      map: { set: { yuan: "amount / 100", big: "amount > 10000" }, drop: [tier] }
  sinks:
    out: { from: shaped, stdout: {} }
`, 'bench/map.yaml', { catalog: connectorCatalog, steps: stepRegistry, env: {} });
  const step = plan.steps.find((x) => x.id === 'shaped')!;
  let fields = 0;
  const ctx: OperatorContext = {
    stepId: step.id, partition: 0, watermark: -Infinity,
    emit: (r: StreamRecord) => { fields += r.value.yuan === undefined ? 0 : 1; },
    late: () => {}, deadLetter: () => {}, count: () => {},
  };
  const op = step.stepModule.operator(step, { partitions: 1 })(ctx, {});
  const records: StreamRecord[] = rows.map((value, i) => ({ value, key: null, timestamp: i, origin: { source: 'events', partition: 0, offset: i } }));
  let best = 0;
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let i = 0; i < records.length; i++) op.process(records[i]!);
    best = Math.max(best, records.length / (Number(process.hrtime.bigint() - started) / 1e9));
  }
  return { name: 'map step: set 2 fields, drop 1, copy the rest', value: best, unit: 'rows/s', note: `best of ${ROUNDS} x ${records.length.toLocaleString('en-US')} rows; ${fields} emitted` };
}
