/**
 * A sink slower than its input holds the run loop back (BatchingSink's maxBuffered), instead of
 * buffering without bound: a replay of days into a slow sink must not grow until it runs out of
 * memory. Everything still arrives, once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchingSink } from '../../src/connectors/sink-base.js';
import type { Sink, SinkRecord } from '../../src/connectors/types.js';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { Engine } from '../../src/runtime/engine.js';
import { silentLogger } from '../../src/core/logger.js';
import { runEngine } from '../../src/runtime/runner.js';
import { loadTopology } from '../../src/topology/index.js';
import { stepRegistry } from '../../src/operators/registry.js';

const RECORDS = 6_000;
const BATCH = 50;
const MAX_BUFFERED = 200;
const POLL = 100;

/** Writes 50 records per 2 ms at best: far slower than the generator. */
class SlowSink extends BatchingSink {
  outstanding = 0;
  maxOutstanding = 0;
  readonly ids = new Set<string>();
  duplicates = 0;

  constructor() {
    super('slow', { batchSize: BATCH, maxBuffered: MAX_BUFFERED });
  }

  override add(record: SinkRecord): void | Promise<void> {
    this.outstanding++;
    this.maxOutstanding = Math.max(this.maxOutstanding, this.outstanding);
    return super.add(record);
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    await new Promise((r) => setTimeout(r, 2));
    for (const r of batch) {
      const id = String(r.value.application_id);
      if (this.ids.has(id)) this.duplicates++;
      this.ids.add(id);
    }
    this.outstanding -= batch.length;
  }
}

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-backpressure-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('sink backpressure', () => {
  it('a slow sink holds the sources back: bounded buffer, every record once', async () => {
    const file = join(dir, 'topology.yaml');
    await writeFile(
      file,
      `apiVersion: tributary/v1
kind: Topology
metadata: { name: backpressure }
spec:
  checkpoint: { interval: 60s }
  sources:
    applications:
      generator: { preset: loan-applications, rate: 0, keys: 100, seed: 3, count: ${RECORDS}, partitions: 1 }
      eventTime: { field: applied_at, maxOutOfOrderness: 1m }
  pipeline:
    - { id: all, from: applications, filter: "true" }
  sinks:
    out: { from: all, file: { path: ${JSON.stringify(join(dir, 'unused.jsonl'))} } }
`,
    );
    const plan = await loadTopology(file, { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    const engine = await Engine.open(plan, { dataDir: join(dir, 'state'), logger: silentLogger });
    const slow = new SlowSink();
    await slow.open({ logger: silentLogger, deadLetter: () => undefined });
    // The file sink the topology names is swapped for the slow one (same runtime, so the graph routes to it),
    // after closing it: the engine closes only the sinks it holds, so the file's handle would leak.
    const runtime = engine.sinks.get('out') as unknown as { sink: Sink };
    await runtime.sink.close();
    runtime.sink = slow;
    try {
      const result = await runEngine(engine, { batchSize: POLL });
      expect(result.reason).toBe('end-of-input');
      await slow.flush();
    } finally {
      await engine.close({ checkpoint: false });
    }
    expect(slow.ids.size).toBe(RECORDS);
    expect(slow.duplicates).toBe(0);
    // At most one poll's worth (the runner checks between polls) plus one batch past the limit.
    expect(slow.maxOutstanding).toBeLessThanOrEqual(MAX_BUFFERED + POLL + BATCH);
  });
});
