/**
 * One row of bench/state-scale.bench.ts, in its own process so its peak RSS is its own:
 *   scale <keys> <events> <cacheSize>   rolling 3d / 1m count + sum + count_distinct over <keys>
 *                                       distinct keys, each seen at least once (keys cycle)
 *   loan-risk <users> <events> <cacheSize>   the shipped topologies/loan-risk-features.yaml
 *   estimate <keys> <events> <cacheSize>     the scale step, then the cache's estimated bytes
 *                                       against the heap its entries really hold (needs --expose-gc)
 * Progress goes to stderr; one JSON line with the figures to stdout.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { connectorCatalog } from '../src/connectors/registry.js';
import { stepRegistry } from '../src/operators/registry.js';
import type { Source, SourceBatch } from '../src/connectors/types.js';
import type { RawRecord } from '../src/core/record.js';
import { silentLogger } from '../src/core/logger.js';
import { parseSize } from '../src/core/size.js';
import { Engine } from '../src/runtime/engine.js';
import { runEngine } from '../src/runtime/runner.js';
import { compileTopology, loadTopology } from '../src/topology/index.js';

const [mode, keysArg, eventsArg, cacheArg] = process.argv.slice(2);
const keys = Number(keysArg);
const events = Number(eventsArg);
const cacheSize = parseSize(cacheArg ?? '256MB');
if (!(mode === 'scale' || mode === 'loan-risk' || mode === 'estimate') || !(keys > 0) || !(events >= keys) || cacheSize === undefined) {
  process.stderr.write('usage: state-scale-child.ts scale|loan-risk|estimate <keys> <events ≥ keys> <cacheSize>\n');
  process.exit(2);
}

const PARTITIONS = 4;
const T0 = Date.parse('2026-11-01T00:00:00Z');
/**
 * Event time covers four days, so the 3-day window slides and early keys expire (their timers
 * fire). STATE_SCALE_SPAN_DAYS makes it longer: with as many keys as events, keys then come and
 * go as users seen once do (the presence filter's rebuilds, presence-refresh.ts).
 */
const SPAN = Number(process.env.STATE_SCALE_SPAN_DAYS ?? 4) * 86_400_000;

/** Record i has key perm(i mod keys): every key appears once per cycle, in a scattered order. */
class CyclingSource implements Source {
  readonly partitionCount = PARTITIONS;
  private readonly next: number[] = new Array<number>(PARTITIONS).fill(0);
  private turn = 0;

  constructor(readonly name: string) {}

  async open(): Promise<void> {}

  assignedPartitions(): readonly number[] {
    return [0, 1, 2, 3];
  }

  seek(partition: number, position: number): void {
    this.next[partition] = position;
  }

  async poll(max: number): Promise<SourceBatch | null> {
    for (let tries = 0; tries < PARTITIONS; tries++) {
      const p = this.turn++ % PARTITIONS;
      // Partition p holds the records i ≡ p (mod PARTITIONS), in order.
      const records: RawRecord[] = [];
      for (let o = this.next[p]!; records.length < max; o++) {
        const i = o * PARTITIONS + p;
        if (i >= events) break;
        const k = Number((BigInt(i % keys) * 2654435761n) % BigInt(keys));
        const ts = T0 + Math.floor((i * SPAN) / events);
        records.push({ offset: o, timestamp: ts, key: null, value: { user_id: `u${k}`, device_id: `d${(i >>> 3) % 5}`, amount: i % 1000, ts } });
      }
      if (records.length > 0) {
        this.next[p]! += records.length;
        return { partition: p, records };
      }
    }
    return null;
  }

  remaining(): number {
    let done = 0;
    for (const n of this.next) done += n;
    return events - done;
  }

  async close(): Promise<void> {}
}

const SCALE_TOPOLOGY = `apiVersion: tributary/v1
kind: Topology
metadata: { name: state-scale }
spec:
  checkpoint: { interval: 5s }
  state: { cacheSize: ${cacheSize} }
  sources:
    events:
      file: { path: /dev/null }
      eventTime: { field: ts, maxOutOfOrderness: 0s }
  pipeline:
    - { id: per_user, from: events, keyBy: user_id }
    - id: rolling
      from: per_user
      window: { rolling: 3d, resolution: 1m }
      aggregate: { n: count(), amount: sum(amount), devices: count_distinct(device_id) }
  sinks:
    out: { from: rolling, file: { path: /dev/null } }
`;

/** Heap the cache's entries really hold (freed by dropping them) over the bytes it accounts. */
async function measureCache(engine: Engine): Promise<number> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('estimate needs node --expose-gc');
  await engine.checkpoint();
  const settle = async (): Promise<number> => {
    for (let i = 0; i < 3; i++) {
      gc();
      await new Promise((r) => setTimeout(r, 20));
    }
    return process.memoryUsage().heapUsed;
  };
  const held = await settle();
  const accounted = engine.stateBackend.metrics().cachedBytes;
  for (let p = 0; p < PARTITIONS; p++) engine.stateBackend.dropPartition(p);
  const freed = held - (await settle());
  process.stderr.write(`     cache accounts ${(accounted / 2 ** 20).toFixed(1)} MiB; dropping it freed ${(freed / 2 ** 20).toFixed(1)} MiB of heap\n`);
  return freed / accounted;
}

const here = dirname(fileURLToPath(import.meta.url));
const mib = (n: number): string => (n / 2 ** 20).toFixed(0);
/** Resident anonymous and file-backed memory (MiB), from /proc: LevelDB reads its tables through mmap, so RSS includes their pages. */
function rssParts(): { anon: number; file: number } {
  try {
    const status = readFileSync('/proc/self/status', 'utf8');
    const kb = (name: string): number => Number(new RegExp(`^${name}:\\s+(\\d+)`, 'm').exec(status)?.[1] ?? 0);
    return { anon: kb('RssAnon') / 1024, file: kb('RssFile') / 1024 };
  } catch {
    return { anon: 0, file: 0 };
  }
}
const dir = await mkdtemp(join(tmpdir(), 'trib-state-scale-'));
try {
  let engine: Engine;
  if (mode === 'scale' || mode === 'estimate') {
    const plan = compileTopology(SCALE_TOPOLOGY, join(dir, 'state-scale.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    engine = await Engine.open(plan, { dataDir: join(dir, 'state'), logger: silentLogger, sources: new Map([['events', new CyclingSource('events')]]) });
  } else {
    const env = { TRIBUTARY_DEMO_USERS: String(keys), TRIBUTARY_DEMO_COUNT: String(events), TRIBUTARY_DEMO_RATE: '0' };
    const plan = await loadTopology(join(here, '../topologies/loan-risk-features.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env, baseDir: dir });
    engine = await Engine.open(plan, { dataDir: join(dir, 'state'), logger: silentLogger, cacheSize });
  }
  const t0 = performance.now();
  // A row past its deadline stops (checkpointing as on SIGTERM) and reports what it did.
  const deadline = Number(process.env.STATE_SCALE_DEADLINE ?? 0);
  const stop = new AbortController();
  if (deadline > 0) setTimeout(() => stop.abort(), deadline * 1000).unref();
  // Peaks are brief (a full GC, a compaction): sampled 4× a second, apart from the progress lines.
  let maxHeapTotal = 0;
  let maxAnon = 0;
  let maxFile = 0;
  const sampler = setInterval(() => {
    maxHeapTotal = Math.max(maxHeapTotal, process.memoryUsage().heapTotal);
    const parts = rssParts();
    maxAnon = Math.max(maxAnon, parts.anon);
    maxFile = Math.max(maxFile, parts.file);
  }, 250).unref();
  const result = await runEngine(engine, {
    signal: stop.signal,
    batchSize: 500,
    progressIntervalMs: 5000,
    onProgress: (p) => {
      const m = process.memoryUsage();
      const parts = rssParts();
      const keysSeen = Math.min(p.recordsIn, keys);
      const pct = ((100 * p.recordsIn) / events).toFixed(1);
      const sm = engine.stateBackend.metrics();
      const cache = sm.cachedBytes;
      process.stderr.write(
        `     ${mode} ${keys}: ${p.recordsIn}/${events} events (${pct}%), ${keysSeen} keys seen, ${(p.elapsedMs / 1000).toFixed(0)}s, ` +
          `${Math.round(p.ratePerSec)} events/s, ${Math.round((keysSeen * 1000) / Math.max(1, p.elapsedMs))} keys/s; ` +
          `rss ${mib(m.rss)} (anon ${parts.anon.toFixed(0)}, file ${parts.file.toFixed(0)}) = heap ${mib(m.heapUsed)}/${mib(m.heapTotal)} (cache ${mib(cache)}) + external ${mib(m.external)} (arrayBuffers ${mib(m.arrayBuffers)}) MiB; ` +
          `presence filter ${(sm.presenceFill * 100).toFixed(0)}% full, ${sm.presenceRefreshes} rebuilds\n`,
      );
    },
  });
  clearInterval(sampler);
  const seconds = (performance.now() - t0) / 1000;
  const state = engine.stateBackend.metrics();
  const heapRatio = mode === 'estimate' ? await measureCache(engine) : undefined;
  await engine.close();
  process.stdout.write(
    `${JSON.stringify({ mode, keys, complete: result.reason === 'end-of-input', events: result.recordsIn, seconds, maxRssMiB: process.resourceUsage().maxRSS / 1024, maxHeapTotalMiB: maxHeapTotal / 2 ** 20, maxRssAnonMiB: maxAnon, maxRssFileMiB: maxFile, cacheBytes: state.cachedBytes, cachedEntries: state.cachedEntries, misses: state.cacheMisses, presenceFill: state.presenceFill, presenceRebuilds: state.presenceRefreshes, heapRatio })}\n`,
  );
} finally {
  await rm(dir, { recursive: true, force: true });
}
