/**
 * A worker's Prometheus metrics (prom-client), in a registry of its own: several engines in one
 * process (tests, the demo) never share or clash over series. Counts the runtime keeps anyway
 * (records, checkpoints, state and sink counters) are read at scrape time by `collect`, so the hot
 * path pays nothing for them; only the latency histograms are observed as things happen.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics, type Metric } from 'prom-client';
import { kafkaRetryStats } from '../kafka/retry.js';
import type { SinkWriteObserver } from '../connectors/types.js';
import type { StateMetrics } from '../state/metrics.js';
import type { Engine } from './engine.js';

/** Seconds; from a sub-millisecond Redis pipeline to a sink stuck behind retries. */
const WRITE_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
/** Seconds from read to ack: a record may wait for a checkpoint (default 5 s) before its sink writes. */
const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const CHECKPOINT_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
/** The synchronous snapshot is a pause of the run loop: milliseconds matter (a record waits behind it). */
const SNAPSHOT_BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1];

/** Engine counters with a series of their own; any other (e.g. duplicates) is tributary_step_events_total{event}. */
const RECORD_COUNTERS: ReadonlyArray<readonly [name: string, counter: string, help: string]> = [
  ['tributary_records_in_total', 'in', 'Records read from the inputs (since the state began)'],
  ['tributary_records_late_total', 'late', 'Records later than allowed lateness, sent to <step>.late'],
  ['tributary_records_dead_lettered_total', 'deadLettered', 'Records sent to the dead-letter output'],
];

type StateGauge = 'cachedEntries' | 'dirtyEntries' | 'timers' | 'presenceFill';
type StateCounter = Exclude<keyof StateMetrics, 'lastCheckpointMs' | StateGauge>;

const STATE_COUNTERS: ReadonlyArray<readonly [name: string, field: StateCounter, help: string]> = [
  ['tributary_state_gets_total', 'gets', 'State reads'],
  ['tributary_state_cache_hits_total', 'cacheHits', 'State reads answered by the write-back cache'],
  ['tributary_state_cache_misses_total', 'cacheMisses', 'State reads that went to LevelDB'],
  ['tributary_state_puts_total', 'puts', 'State writes'],
  ['tributary_state_deletes_total', 'deletes', 'State deletes'],
  ['tributary_state_flushes_total', 'checkpoints', 'Checkpoint batches written to LevelDB'],
  ['tributary_state_flushed_entries_total', 'entriesFlushed', 'Entries written to LevelDB by checkpoints'],
  ['tributary_state_flushed_bytes_total', 'bytesFlushed', 'Bytes written to LevelDB by checkpoints'],
  ['tributary_state_presence_filter_rebuilds_total', 'presenceRefreshes', 'Presence filter rebuilds from the keys LevelDB holds'],
];
const STATE_GAUGES: ReadonlyArray<readonly [name: string, field: StateGauge, help: string]> = [
  ['tributary_state_cached_entries', 'cachedEntries', 'Entries in the write-back cache'],
  ['tributary_state_dirty_entries', 'dirtyEntries', 'Cached entries changed since the last checkpoint'],
  ['tributary_state_timers', 'timers', 'Event-time timers loaded in memory'],
  ['tributary_state_presence_filter_fill', 'presenceFill', 'Share of the presence filter set; a new key reads LevelDB with probability fill^4'],
];

type SinkStat = 'written' | 'batches' | 'retries' | 'failures';
const SINK_COUNTERS: ReadonlyArray<readonly [name: string, field: SinkStat, help: string]> = [
  ['tributary_sink_written_records_total', 'written', 'Records the sink target acknowledged'],
  ['tributary_sink_batches_total', 'batches', 'Batches written'],
  ['tributary_sink_retries_total', 'retries', 'Write attempts retried (failures and backpressure)'],
  ['tributary_sink_failed_records_total', 'failures', 'Records the target refused for good (dead-lettered)'],
];

type Labels<L extends string> = Partial<Record<L, string | number>>;
type Read<L extends string> = (set: (value: number, labels?: Labels<L>) => void) => void | Promise<void>;

/** A counter or gauge whose values are read from elsewhere at scrape time (counters only grow there). */
function mirrored<L extends string>(registry: Registry, kind: 'counter' | 'gauge', name: string, help: string, labelNames: readonly L[], read: Read<L>): void {
  const common = { name, help, labelNames, registers: [registry] };
  if (kind === 'gauge') {
    new Gauge<L>({ ...common, async collect() { this.reset(); await read((v, l) => (l ? this.set(l, v) : this.set(v))); } });
  } else {
    new Counter<L>({ ...common, async collect() { this.reset(); await read((v, l) => (l ? this.inc(l, v) : this.inc(v))); } });
  }
}

/**
 * A latency histogram in seconds fed a whole batch at once (each record's start time, one end
 * time), exported as prom-client's Histogram would be
 * (`_bucket{le}`, `_sum`, `_count`). Why not prom-client's own: its observe() validates and
 * hashes the labels and allocates on every call (measured ~5x a plain bucket loop), and record
 * latency is one observation per record per sink on the hot path; it has no bulk observe.
 */
class BatchLatencyHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private series = new Map<string, { counts: Float64Array; sum: number; count: number }>();

  constructor(registry: Registry, readonly name: string, readonly help: string, private readonly label: string, private readonly bounds: readonly number[]) {
    // The registry only calls get()/reset(); its typings know only prom-client's own classes.
    registry.registerMetric(this as unknown as Metric);
  }

  /** Observes (endMs - startedAtMs[i]) / 1000 for each record, in the series of `labelValue`. */
  child(labelValue: string): (startedAtMs: readonly number[], endMs: number) => void {
    return (startedAtMs, endMs) => {
      let s = this.series.get(labelValue);
      if (!s) this.series.set(labelValue, (s = { counts: new Float64Array(this.bounds.length + 1), sum: 0, count: 0 }));
      const { bounds } = this;
      for (let i = 0; i < startedAtMs.length; i++) {
        const v = (endMs - startedAtMs[i]!) / 1000;
        let b = 0;
        while (b < bounds.length && v > bounds[b]!) b++;
        s.counts[b]!++;
        s.sum += v;
      }
      s.count += startedAtMs.length;
    };
  }

  reset(): void {
    this.series = new Map();
  }

  async get(): Promise<{ name: string; help: string; type: 'histogram'; aggregator: 'sum'; values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> }> {
    const values: Array<{ metricName: string; labels: Record<string, string | number>; value: number }> = [];
    for (const [labelValue, s] of this.series) {
      let cumulative = 0;
      this.bounds.forEach((le, b) => {
        cumulative += s.counts[b]!;
        values.push({ metricName: `${this.name}_bucket`, labels: { le, [this.label]: labelValue }, value: cumulative });
      });
      values.push({ metricName: `${this.name}_bucket`, labels: { le: '+Inf', [this.label]: labelValue }, value: s.count });
      values.push({ metricName: `${this.name}_sum`, labels: { [this.label]: labelValue }, value: s.sum });
      values.push({ metricName: `${this.name}_count`, labels: { [this.label]: labelValue }, value: s.count });
    }
    return { name: this.name, help: this.help, type: this.type, aggregator: this.aggregator, values };
  }
}

let processMetrics: Registry | undefined;

/**
 * prom-client's process metrics, once per process and only once something is scraped: they
 * install observers (GC, event-loop delay) that are never removed, so not one per engine (the
 * test driver opens many).
 */
function processRegistry(): Registry {
  if (!processMetrics) {
    processMetrics = new Registry();
    collectDefaultMetrics({ register: processMetrics });
  }
  return processMetrics;
}

export class WorkerMetrics {
  readonly registry = new Registry();
  private readonly checkpointSeconds: Histogram;
  private readonly snapshotSeconds: Histogram;
  private readonly sinkWriteSeconds: Histogram<'sink'>;
  private readonly recordLatencySeconds: BatchLatencyHistogram;
  private readonly checkpointFailures: Counter;

  constructor(private readonly engine: Engine) {
    const r = this.registry;
    r.setDefaultLabels({ topology: engine.plan.name });
    this.checkpointSeconds = new Histogram({ name: 'tributary_checkpoint_duration_seconds', help: 'Checkpoint duration: sinks acked, changelogs acked, state batch written, offsets committed', buckets: CHECKPOINT_BUCKETS, registers: [r] });
    this.snapshotSeconds = new Histogram({ name: 'tributary_checkpoint_sync_duration_seconds', help: 'The synchronous part of a checkpoint (positions, watermarks and dirty state captured, timers and state encoded): processing stands still meanwhile', buckets: SNAPSHOT_BUCKETS, registers: [r] });
    this.checkpointFailures = new Counter({ name: 'tributary_checkpoint_failures_total', help: 'Checkpoints that failed (the next start resumes from the previous one)', registers: [r] });
    this.sinkWriteSeconds = new Histogram({ name: 'tributary_sink_write_duration_seconds', help: 'Duration of one successful batch write', labelNames: ['sink'], buckets: WRITE_BUCKETS, registers: [r] });
    this.recordLatencySeconds = new BatchLatencyHistogram(r, 'tributary_record_latency_seconds',
      'Per record: read from its input (the sink receives it in the same synchronous pass) until the sink target acknowledged it', 'sink', LATENCY_BUCKETS);

    for (const [name, key, help] of RECORD_COUNTERS) mirrored(r, 'counter', name, help, [], (set) => set(engine.counters.get(key)));
    mirrored(r, 'counter', 'tributary_kafka_outages_total', 'Kafka outages ridden out or failed (runs of retriable errors; --kafka-retry-timeout)', [], (set) => set(kafkaRetryStats.outages));
    mirrored(r, 'counter', 'tributary_kafka_retries_total', 'Kafka calls tried again after a retriable error', [], (set) => set(kafkaRetryStats.retries));
    const own = new Set(RECORD_COUNTERS.map(([, key]) => key));
    mirrored(r, 'counter', 'tributary_step_events_total', 'Events steps count (e.g. duplicates dropped by dedupe)', ['event'], (set) => {
      for (const [event, value] of Object.entries(engine.counters.snapshot())) if (!own.has(event)) set(value, { event });
    });
    mirrored(r, 'counter', 'tributary_records_out_total', 'Records handed to each sink', ['sink'], (set) => {
      for (const s of engine.sinks.values()) set(s.emitted, { sink: s.id });
    });
    mirrored(r, 'counter', 'tributary_checkpoints_total', 'Checkpoints completed', [], (set) => set(engine.checkpointCount));
    this.sinkSeries();
    this.stateSeries();
    this.taskSeries();
  }

  /** For SinkContext.observeWrite: the sink's batch write and its records' latency. */
  sinkObserver(sinkId: string): SinkWriteObserver {
    const write = this.sinkWriteSeconds.labels(sinkId);
    const latency = this.recordLatencySeconds.child(sinkId);
    return (writeSeconds, addedAtMs, ackedAtMs) => {
      write.observe(writeSeconds);
      latency(addedAtMs, ackedAtMs);
    };
  }

  checkpointSnapshotted(ms: number): void {
    this.snapshotSeconds.observe(ms / 1000);
  }

  checkpointDone(ms: number): void {
    this.checkpointSeconds.observe(ms / 1000);
  }

  checkpointFailed(): void {
    this.checkpointFailures.inc();
  }

  /** The Prometheus text exposition: this worker's series, then the process's (memory, CPU, event loop). */
  async text(): Promise<{ contentType: string; body: string }> {
    const body = (await this.registry.metrics()) + (await processRegistry().metrics());
    return { contentType: this.registry.contentType, body };
  }

  private sinkSeries(): void {
    const { engine } = this;
    for (const [name, field, help] of SINK_COUNTERS) {
      mirrored(this.registry, 'counter', name, help, ['sink'], (set) => {
        for (const s of engine.sinks.values()) if (s.sink.stats) set(s.sink.stats[field], { sink: s.id });
      });
    }
    mirrored(this.registry, 'gauge', 'tributary_sink_buffered_records', 'Records buffered in the sink, not yet handed to a write', ['sink'], (set) => {
      for (const s of engine.sinks.values()) if (s.sink.buffered !== undefined) set(s.sink.buffered, { sink: s.id });
    });
  }

  private stateSeries(): void {
    const state = (): StateMetrics | undefined => this.engine.stateBackendIfOpen?.metrics();
    for (const [name, field, help] of STATE_COUNTERS) {
      mirrored(this.registry, 'counter', name, help, [], (set) => {
        const m = state();
        if (m) set(m[field]);
      });
    }
    for (const [name, field, help] of STATE_GAUGES) {
      mirrored(this.registry, 'gauge', name, help, [], (set) => {
        const m = state();
        if (m) set(m[field]);
      });
    }
  }

  /** Readiness, consumer lag and restore progress per task partition (Kafka mode has lag and restores). */
  private taskSeries(): void {
    const { engine } = this;
    mirrored(this.registry, 'gauge', 'tributary_ready', '1 when every assigned task is restored and running (/readyz)', [], (set) => set(engine.inputs?.ready === false ? 0 : 1));
    mirrored(this.registry, 'gauge', 'tributary_consumer_lag_records', 'Input records not yet read: end offset - position, per input topic partition', ['topic', 'partition'], async (set) => {
      const tasks = engine.inputs;
      if (!tasks?.lag) return;
      try {
        for (const l of await tasks.lag()) set(l.lag, { topic: l.topic, partition: l.partition });
      } catch {
        // Lag needs the cluster; while it is unreachable the series is absent, the scrape still answers.
      }
    });
    mirrored(this.registry, 'gauge', 'tributary_restore_restored_records', 'Changelog records restored into a task so far', ['partition'], (set) => {
      for (const t of engine.inputs?.tasks() ?? []) set(t.restored, { partition: t.partition });
    });
    mirrored(this.registry, 'gauge', 'tributary_restore_target_records', 'Changelog end offsets a task restores up to before it runs (offsets: transaction markers count, so a complete restore may stay a little below)', ['partition'], (set) => {
      for (const t of engine.inputs?.tasks() ?? []) set(t.toRestore, { partition: t.partition });
    });
  }
}
