/**
 * Engine throughput on one worker process (generator → topology → discarding sink), 100k keys:
 *   stateless filter+map (and the same with the records built beforehand: the engine alone);
 *   keyed tumbling 1m count+sum; rolling 3d count+sum+count_distinct; and the ratio
 *   rolling-3d / tumbling-1m measured in the same run: ROUNDS of each, interleaved (tumbling,
 *   rolling, tumbling, …), each figure the median of its runs and the ratio the median of the
 *   ratios of adjacent runs. One run of each swung 0.66–0.83 on this machine (2026-12), where a
 *   second or two of a stalled machine in one run moves one figure alone.
 * Event time advances 10 s per record per partition, so the 400k events span ~11 days and
 * 3-day slices really expire (a shorter span would flatter rolling: nothing would ever leave).
 * Targets on a 2-core machine: ≥150k/s stateless, ≥100k/s tumbling, rolling ≥ 0.8× tumbling.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { compileTopology } from '../src/topology/index.js';
import { connectorCatalog } from '../src/connectors/registry.js';
import { stepRegistry } from '../src/operators/registry.js';
import { Engine } from '../src/runtime/engine.js';
import { runEngine } from '../src/runtime/runner.js';
import { silentLogger } from '../src/core/logger.js';
import type { RawRecord, Sink, SinkRecord } from '../src/connectors/types.js';
import { RecordFactory } from '../src/connectors/generator/records.js';
import { generatorSpec } from '../src/connectors/generator/spec.js';
import { parseConfig } from '../src/core/spec.js';
import { median, type BenchResult } from './types.js';

const COUNT = Number(process.env.BENCH_EVENTS ?? 400_000);
const KEYS = 100_000;
/** Runs of the tumbling and the rolling pipeline each (BENCH_ENGINE_ROUNDS). */
const ROUNDS = Math.max(1, Number(process.env.BENCH_ENGINE_ROUNDS ?? 3));

const runs = (xs: readonly number[]): string => xs.map((x) => Math.round(x).toLocaleString('en-US')).join(', ');

class DiscardSink implements Sink {
  written = 0;
  constructor(readonly name: string) {}
  async open(): Promise<void> {}
  add(_record: SinkRecord): void {
    this.written++;
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

function topology(pipeline: string): string {
  return `apiVersion: tributary/v1
kind: Topology
metadata: { name: bench }
spec:
  checkpoint: { interval: 5s }
  sources:
    applications:
      generator: { preset: loan-applications, rate: 0, keys: ${KEYS}, seed: 11, count: ${COUNT}, partitions: 4, eventsPerSecond: 0.1 }
      eventTime: { field: applied_at, maxOutOfOrderness: 5s }
  pipeline:
${pipeline}
  sinks:
    out: { from: last, stdout: {} }
`;
}

const stateless = `    - id: valid
      from: applications
      filter: "amount > 0 && user_id != null"
    - id: last
      from: valid
      map: { set: { amount_yuan: "amount / 100", big: "amount > 1000000" }, drop: [ip] }`;

const keyed = (window: string, aggregates: string): string => `    - id: valid
      from: applications
      filter: "amount > 0 && user_id != null"
    - id: per_user
      from: valid
      keyBy: user_id
    - id: last
      from: per_user
      window: ${window}
      aggregate:
${aggregates}`;

const tumbling = keyed('{ tumbling: 1m }', `        cnt: count()\n        amt: sum(amount)`);
const rolling = keyed('{ rolling: 3d, resolution: 1m }', `        cnt: count()\n        amt: sum(amount)\n        devices: count_distinct(device_id)`);

async function measure(name: string, pipeline: string): Promise<number> {
  const plan = compileTopology(topology(pipeline), `bench/${name}.yaml`, { catalog: connectorCatalog, steps: stepRegistry, env: {} });
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  try {
    const sink = new DiscardSink('out');
    const engine = await Engine.open(plan, { dataDir: dir, logger: silentLogger, sinks: new Map([['out', sink]]), resetState: true });
    const result = await runEngine(engine, {
      batchSize: 1000,
      onProgress: (p) => process.stderr.write(`   ${name}: ${p.done === undefined ? '' : (p.done * 100).toFixed(0) + '% '}${Math.round(p.ratePerSec).toLocaleString('en-US')} events/s\n`),
    });
    await engine.close({ checkpoint: true });
    return result.recordsIn / (result.elapsedMs / 1000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/**
 * The stateless pipeline without its source: the generator's records are built beforehand and
 * handed to the engine one by one (engine.processRaw, as the run loop does), so the figure is the
 * engine's own per-record cost. In the figure above the generator takes about half the time, and
 * a change to the engine shows at half its size.
 */
async function engineOnly(): Promise<number> {
  const plan = compileTopology(topology(stateless), 'bench/engine-only.yaml', { catalog: connectorCatalog, steps: stepRegistry, env: {} });
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-'));
  try {
    const engine = await Engine.open(plan, { dataDir: dir, logger: silentLogger, sinks: new Map([['out', new DiscardSink('out')]]), resetState: true });
    const factory = new RecordFactory(parseConfig(generatorSpec, { preset: 'loan-applications', rate: 0, keys: KEYS, seed: 11, count: COUNT, partitions: 4, eventsPerSecond: 0.1 }));
    const src = engine.sources[0]!;
    const perPartition = COUNT / 4;
    const batch = 1_000;
    let elapsed = 0;
    // Built a batch at a time, so the records are not all held at once (that would time the GC).
    for (let from = 0; from < perPartition; from += batch) {
      for (let p = 0; p < 4; p++) {
        const records: RawRecord[] = [];
        for (let i = from; i < Math.min(from + batch, perPartition); i++) records.push(factory.record(p, i));
        const started = performance.now();
        const now = Date.now();
        for (const raw of records) engine.processRaw(src, p, raw, now);
        engine.updateWatermark(now);
        elapsed += performance.now() - started;
      }
    }
    await engine.close({ checkpoint: false });
    return COUNT / (elapsed / 1000);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

export async function bench(): Promise<BenchResult[]> {
  // Warm up the JIT on a small run so the first figure is not penalised.
  await measure('warm-up', stateless);
  const s = await measure('stateless', stateless);
  const ts: number[] = [];
  const rs: number[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    ts.push(await measure('tumbling-1m', tumbling));
    rs.push(await measure('rolling-3d', rolling));
  }
  const t = median(ts);
  const r = median(rs);
  const ratio = median(rs.map((x, i) => x / ts[i]!));
  // Last: the figures above run as they always did.
  const e = await engineOnly();
  return [
    { name: 'stateless filter+map', value: s, unit: 'events/s', note: 'target ≥ 150,000' },
    { name: 'stateless filter+map, engine only (records built beforehand)', value: e, unit: 'events/s', note: 'the engine\'s share of the figure above' },
    { name: 'keyed tumbling 1m count+sum (100k keys)', value: t, unit: 'events/s', note: `target ≥ 100,000; median of ${runs(ts)}` },
    { name: 'rolling 3d/1m count+sum+count_distinct', value: r, unit: 'events/s', note: `median of ${runs(rs)}` },
    { name: 'ratio rolling-3d / tumbling-1m', value: ratio, unit: '×', note: `target ≥ 0.8; median of ${rs.map((x, i) => (x / ts[i]!).toFixed(2)).join(', ')}` },
  ];
}

// node --cpu-prof --import tsx bench/engine.bench.ts [stateless|tumbling|rolling|engine-only]: one figure, to profile it alone.
if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const only = process.argv[2];
  const pipelines: Record<string, string> = { stateless, tumbling, rolling };
  if (only === 'engine-only') {
    await measure('warm-up', stateless);
    process.stdout.write(`engine-only: ${Math.round(await engineOnly())} events/s\n`);
  } else if (only !== undefined && pipelines[only] !== undefined) {
    await measure('warm-up', stateless);
    // CPU time beside the rate: on a shared machine it moves less than wall time does.
    const cpu = process.cpuUsage();
    const rate = await measure(only, pipelines[only]);
    const used = process.cpuUsage(cpu);
    process.stdout.write(`${only}: ${Math.round(rate)} events/s, process CPU ${Math.round((used.user + used.system) / 1000)} ms\n`);
  } else {
    for (const r of await bench()) process.stdout.write(`${r.name}: ${r.value} ${r.unit}\n`);
  }
}
