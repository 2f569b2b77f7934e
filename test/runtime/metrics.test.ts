import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { stepRegistry } from '../../src/operators/registry.js';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { register as globalRegistry } from 'prom-client';
import { afterAll, describe, expect, it } from 'vitest';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { silentLogger } from '../../src/core/logger.js';
import { Engine } from '../../src/runtime/engine.js';
import { startHealthServer } from '../../src/runtime/health.js';
import { runEngine } from '../../src/runtime/runner.js';
import { loadTopology } from '../../src/topology/index.js';
import { parseMetrics as parse, sample as value, scrape, scrapeUntil } from '../helpers/metrics.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-metrics-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// Endless device events with bad rows (DLQ), duplicates (dedupe) and records far out of order
// (late for the tumbling window), checkpointed often so every series moves within seconds.
const topology = `
apiVersion: tributary/v1
kind: Topology
metadata: { name: metrics-probe }
spec:
  checkpoint: { interval: 200ms }
  sources:
    events:
      generator: { preset: device-events, rate: 3000, keys: 50, seed: 3, partitions: 2, outOfOrder: 0.05, maxDelay: 10m, duplicates: 0.02, badRecords: 0.01 }
      eventTime: { field: ts, maxOutOfOrderness: 1s }
  pipeline:
    - { id: per_device, from: events, keyBy: device_id }
    - { id: unique, from: per_device, dedupe: { within: 10m, by: event_id } }
    - id: per_minute
      from: unique
      window: { tumbling: 1m }
      aggregate: { n: count() }
  sinks:
    counts: { from: per_minute, file: { path: ${join(dir, 'counts.jsonl')} } }
    dlq_out: { from: dlq, file: { path: ${join(dir, 'dlq.jsonl')} } }
`;

describe('/metrics of a running worker (prom-client)', () => {
  it('exports records, late, DLQ, checkpoints, sink write stats, state metrics and latency histograms, and they move', async () => {
    const file = join(dir, 'probe.yaml');
    writeFileSync(file, topology);
    const plan = await loadTopology(file, { catalog: connectorCatalog, steps: stepRegistry, env: process.env });
    const engine = await Engine.open(plan, { dataDir: join(dir, 'state'), logger: silentLogger, syncCheckpoints: false });
    const health = await startHealthServer(() => engine, 0, '127.0.0.1');
    const controller = new AbortController();
    const running = runEngine(engine, { signal: controller.signal });
    // A second worker in the same process: its own registry, no clash, its own counts.
    const other = await Engine.open(plan, { dataDir: join(dir, 'state-2'), logger: silentLogger });
    try {
      const t = '{topology="metrics-probe"}';
      const sink = (name: string) => `{sink="${name}",topology="metrics-probe"}`;
      const first = await scrapeUntil(health.port, 'a checkpoint, a late record and a dead letter', (s) =>
        (s.get(`tributary_checkpoints_total${t}`) ?? 0) >= 1 && (s.get(`tributary_records_late_total${t}`) ?? 0) > 0 && (s.get(`tributary_records_dead_lettered_total${t}`) ?? 0) > 0);
      const second = await scrapeUntil(health.port, 'two more checkpoints', (s) => (s.get(`tributary_checkpoints_total${t}`) ?? 0) >= value(first, `tributary_checkpoints_total${t}`) + 2);

      const { text, type } = await scrape(health.port);
      expect(type).toContain('text/plain');
      for (const [name, kind] of [
        ['tributary_records_in_total', 'counter'], ['tributary_records_late_total', 'counter'], ['tributary_records_dead_lettered_total', 'counter'],
        ['tributary_records_out_total', 'counter'], ['tributary_step_events_total', 'counter'], ['tributary_checkpoints_total', 'counter'],
        ['tributary_checkpoint_duration_seconds', 'histogram'], ['tributary_checkpoint_sync_duration_seconds', 'histogram'], ['tributary_sink_write_duration_seconds', 'histogram'], ['tributary_record_latency_seconds', 'histogram'],
        ['tributary_sink_written_records_total', 'counter'], ['tributary_sink_batches_total', 'counter'], ['tributary_sink_retries_total', 'counter'], ['tributary_sink_failed_records_total', 'counter'],
        ['tributary_state_cache_hits_total', 'counter'], ['tributary_state_cache_misses_total', 'counter'], ['tributary_state_flushes_total', 'counter'],
        ['tributary_state_flushed_bytes_total', 'counter'], ['tributary_state_cached_entries', 'gauge'], ['tributary_state_timers', 'gauge'], ['tributary_ready', 'gauge'],
        ['tributary_state_presence_filter_fill', 'gauge'], ['tributary_state_presence_filter_rebuilds_total', 'counter'],
        ['process_resident_memory_bytes', 'gauge'],
      ] as const) {
        expect(text, name).toContain(`# TYPE ${name} ${kind}\n`);
      }

      // Values move between two scrapes of the running worker.
      for (const series of [
        `tributary_records_in_total${t}`, `tributary_records_out_total${sink('counts')}`, `tributary_checkpoints_total${t}`,
        `tributary_checkpoint_duration_seconds_count${t}`, `tributary_checkpoint_sync_duration_seconds_count${t}`, `tributary_sink_written_records_total${sink('counts')}`, `tributary_sink_batches_total${sink('counts')}`,
        `tributary_sink_write_duration_seconds_count${sink('counts')}`, `tributary_record_latency_seconds_count${sink('counts')}`,
        `tributary_state_puts_total${t}`, `tributary_state_gets_total${t}`, `tributary_state_flushes_total${t}`, `tributary_state_flushed_bytes_total${t}`,
      ]) {
        expect(value(second, series), series).toBeGreaterThan(value(first, series));
      }
      const after = await scrapeUntil(health.port, 'dead letters written by the dlq sink', (s) => (s.get(`tributary_sink_written_records_total${sink('dlq_out')}`) ?? 0) > 0);
      expect(value(after, `tributary_step_events_total{event="duplicates",topology="metrics-probe"}`)).toBeGreaterThan(0);
      expect(value(after, `tributary_sink_failed_records_total${sink('counts')}`)).toBe(0);
      expect(value(after, `tributary_ready${t}`)).toBe(1);
      // Every record written was counted in the latency histogram once.
      expect(value(after, `tributary_record_latency_seconds_count${sink('counts')}`)).toBe(value(after, `tributary_sink_written_records_total${sink('counts')}`));
      expect(value(after, `tributary_checkpoint_duration_seconds_bucket{le="+Inf",topology="metrics-probe"}`)).toBe(value(after, `tributary_checkpoint_duration_seconds_count${t}`));
      // Every completed checkpoint took a snapshot first (one more may be in flight); the pause is a fraction of the whole.
      expect(value(after, `tributary_checkpoint_sync_duration_seconds_count${t}`)).toBeGreaterThanOrEqual(value(after, `tributary_checkpoint_duration_seconds_count${t}`));
      expect(value(after, `tributary_checkpoint_sync_duration_seconds_sum${t}`)).toBeLessThanOrEqual(value(after, `tributary_checkpoint_duration_seconds_sum${t}`) + 0.05);

      const others = parse(await other.metrics.registry.metrics());
      expect(value(others, `tributary_records_in_total${t}`)).toBe(0);
      expect(engine.metrics.registry).not.toBe(globalRegistry);
      expect(await globalRegistry.metrics()).not.toContain('tributary_');
    } finally {
      controller.abort();
      await running;
      await engine.close({ checkpoint: false });
      await other.close({ checkpoint: false });
      await health.close();
    }
  });
});
