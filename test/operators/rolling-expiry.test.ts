/**
 * A rolling window over many sparse keys, through the engine with a cache far smaller than the
 * state: each key is seen once, is evicted to LevelDB, and expires days later. The expiry of a
 * key's last slice needs nothing from its head (the key empties), so it must not read it back:
 * that read was most of what such an expiry cost (bench/state-scale.bench.ts, the 10M-key row).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { connectorCatalog } from '../../src/connectors/registry.js';
import type { Sink, SinkRecord, Source, SourceBatch } from '../../src/connectors/types.js';
import { silentLogger } from '../../src/core/logger.js';
import type { RawRecord, Row } from '../../src/core/record.js';
import { stepRegistry } from '../../src/operators/registry.js';
import { rollingLeaveTime } from '../../src/operators/windows/slices.js';
import { Engine } from '../../src/runtime/engine.js';
import { runEngine } from '../../src/runtime/runner.js';
import { compileTopology } from '../../src/topology/index.js';

const KEYS = 60_000;
const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T0 = Date.parse('2026-11-01T00:00:00Z');
const SPAN = 4 * DAY;
const ts = (i: number): number => T0 + Math.floor((i * SPAN) / KEYS);

/** Key i once, at ts(i), in one partition. */
class SparseKeys implements Source {
  readonly partitionCount = 1;
  private next = 0;
  constructor(readonly name: string) {}
  async open(): Promise<void> {}
  assignedPartitions(): readonly number[] {
    return [0];
  }
  seek(_partition: number, position: number): void {
    this.next = position;
  }
  async poll(max: number): Promise<SourceBatch | null> {
    const records: RawRecord[] = [];
    for (; this.next < KEYS && records.length < max; this.next++) {
      const i = this.next;
      records.push({ offset: i, timestamp: ts(i), key: null, value: { user_id: `u${i}`, device_id: `d${i % 7}`, amount: i % 100, ts: ts(i) } });
    }
    return records.length > 0 ? { partition: 0, records } : null;
  }
  async close(): Promise<void> {}
}

class Rows implements Sink {
  readonly rows: Row[] = [];
  written = 0;
  constructor(readonly name: string) {}
  async open(): Promise<void> {}
  add(record: SinkRecord): void {
    this.rows.push(record.value);
    this.written++;
  }
  async flush(): Promise<void> {}
  async close(): Promise<void> {}
}

/** Sparse keys into a rolling 3d/1m step with `aggregates`, in a 16MB cache. */
const topology = (aggregates: string): string => `apiVersion: tributary/v1
kind: Topology
metadata: { name: sparse-rolling }
spec:
  state: { cacheSize: 16MB }
  sources:
    events: { file: { path: /dev/null }, eventTime: { field: ts, maxOutOfOrderness: 0s } }
  pipeline:
    - { id: by_user, from: events, keyBy: user_id }
    - { id: features, from: by_user, window: { rolling: 3d, resolution: 1m }, aggregate: { ${aggregates} } }
  sinks:
    out: { from: features, file: { path: /dev/null } }
`;

describe('a rolling window over sparse keys evicted to LevelDB', () => {
  let dir = '';
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'trib-rolling-expiry-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it.each([
    ['flat slices (count, sum, count_distinct)', 'n: count(), amount: sum(amount), devices: count_distinct(device_id)', { n: 0, amount: 0, devices: 0 }],
    ['accumulators (max needs them)', 'n: count(), biggest: max(amount)', { n: 0, biggest: null }],
  ] as const)('expires each key whose only slice left without reading its head back, with the values a read would give: %s', async (_name, aggregates, emptied) => {
    const plan = compileTopology(topology(aggregates), join(dir, 'sparse.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    const sink = new Rows('out');
    const engine = await Engine.open(plan, { dataDir: join(dir, 'state'), logger: silentLogger, sources: new Map([['events', new SparseKeys('events')]]), sinks: new Map([['out', sink]]) });
    try {
      await runEngine(engine, { batchSize: 500 });
      const m = engine.stateBackend.metrics();
      // Most keys were evicted: the cache holds a fraction of them.
      expect(m.cachedEntries).toBeLessThan(KEYS / 2);

      const updates = sink.rows.filter((r) => r.emit === 'update');
      const expires = sink.rows.filter((r) => r.emit === 'expire');
      expect(updates).toHaveLength(KEYS);
      // The watermark ends at the furthest event time: every key whose slice left by then expired, once.
      const end = ts(KEYS - 1);
      let due = 0;
      for (let i = 0; i < KEYS; i++) if (rollingLeaveTime(Math.floor(ts(i) / MIN) * MIN, 3 * DAY, MIN) <= end) due++;
      expect(due).toBeGreaterThan(KEYS / 5);
      expect(expires).toHaveLength(due);
      expect(new Set(expires.map((r) => r.key)).size).toBe(due);
      for (const r of expires) {
        expect(r).toMatchObject(emptied);
        expect(r.window_end as number).toBeGreaterThan(r.as_of as number);
        expect(r.window_start).toBe((r.window_end as number) - 3 * DAY);
      }
      // Without the tag, every expiry of an evicted key was a LevelDB read (a cache miss).
      expect(m.cacheMisses).toBeLessThan(due / 100);
      // And the keys are gone: nothing left for them in the state.
      expect(engine.stateBackend.metrics().cachedEntries).toBeLessThanOrEqual(KEYS - due);
    } finally {
      await engine.close();
    }
  }, 60_000);
});
