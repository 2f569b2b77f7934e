/**
 * TopologyTestDriver: run a topology in a test without any service (Kafka Streams' model).
 * Feed records with event times, move the watermark, read what every sink, step, late output
 * and the dead-letter output received, checkpoint and restart to test recovery.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { readFile } from 'node:fs/promises';
import { compileTopology } from '../topology/index.js';
import { connectorCatalog } from '../connectors/registry.js';
import { stepRegistry } from '../operators/registry.js';
import type { StepCatalog } from '../topology/format.js';
import type { PlannedSink, TopologyPlan } from '../topology/plan.js';
import type { Sink, Source } from '../connectors/types.js';
import type { Row, Value } from '../core/record.js';
import { Engine } from '../runtime/engine.js';
import { silentLogger } from '../core/logger.js';
import { TributaryError } from '../core/errors.js';
import { ManualSource, MemorySink } from './memory.js';

export interface DriverOptions {
  /** Environment for ${VAR} interpolation (default: empty, so tests are hermetic). */
  env?: Record<string, string | undefined>;
  /** State directory (default: a fresh temp dir removed by close()). */
  dataDir?: string;
  /** Partitions of every source (default 1). */
  partitions?: number;
  /** File name used in error messages when compiling text. */
  file?: string;
  /** The step kinds the topology may use (default: the built-in registry); a test adds its own kind here. */
  steps?: StepCatalog;
}

export interface PipeOptions {
  /** Record (ingestion) time, used as event time when the source has no eventTime.field. */
  timestamp?: number;
  partition?: number;
  key?: Value;
}

const TAP = '__tap:';

export class TopologyTestDriver {
  private engine!: Engine;
  private readonly sources = new Map<string, ManualSource>();
  private readonly sinks = new Map<string, MemorySink>();
  private readonly plan: TopologyPlan;

  private constructor(plan: TopologyPlan, private readonly dataDir: string, private readonly ownsDir: boolean, private readonly partitions: number) {
    this.plan = withTaps(plan);
  }

  static async fromText(yaml: string, options: DriverOptions = {}): Promise<TopologyTestDriver> {
    const file = resolve(options.file ?? 'topology.yaml');
    const plan = compileTopology(yaml, file, { catalog: connectorCatalog, steps: options.steps ?? stepRegistry, env: options.env ?? {} });
    const dir = options.dataDir ?? (await mkdtemp(join(tmpdir(), 'tributary-driver-')));
    const driver = new TopologyTestDriver(plan, dir, options.dataDir === undefined, options.partitions ?? 1);
    await driver.start(false);
    return driver;
  }

  static async fromFile(file: string, options: DriverOptions = {}): Promise<TopologyTestDriver> {
    return TopologyTestDriver.fromText(await readFile(file, 'utf8'), { ...options, file });
  }

  private async start(restart: boolean): Promise<void> {
    const sources = new Map<string, Source>();
    for (const s of this.plan.sources) {
      const src = new ManualSource(s.id, this.partitions);
      this.sources.set(s.id, src);
      sources.set(s.id, src);
    }
    const sinks = new Map<string, Sink>();
    for (const k of this.plan.sinks) {
      // Outputs accumulate across restarts, like a real downstream system's.
      const sink = (restart && this.sinks.get(k.id)) || new MemorySink(k.id);
      this.sinks.set(k.id, sink);
      sinks.set(k.id, sink);
    }
    this.engine = await Engine.open(this.plan, { dataDir: this.dataDir, logger: silentLogger, sources, sinks, syncCheckpoints: false });
  }

  /** Feed one record (a row, or raw text or bytes for the source's format) and process it to the end. */
  pipe(sourceId: string, value: Row | string | Uint8Array, options: PipeOptions = {}): void {
    const src = this.engine.sources.find((s) => s.id === sourceId);
    const manual = this.sources.get(sourceId);
    if (!src || !manual) throw new TributaryError('TRIB_USAGE', `no source '${sourceId}' in topology '${this.plan.name}'`);
    const partition = options.partition ?? 0;
    const offset = manual.nextOffset(partition);
    this.engine.processRaw(src, partition, { offset, timestamp: options.timestamp ?? 0, key: options.key ?? null, value });
    this.engine.updateWatermark();
  }

  /** Move the event-time watermark forward to `time` (never back), firing due timers. */
  advanceWatermark(time: number): void {
    this.engine.advanceWatermarkTo(time);
  }

  get watermark(): number {
    return this.engine.watermark;
  }

  /** Rows a sink received (in order). */
  output(sinkId: string): Row[] {
    const sink = this.sinks.get(sinkId);
    if (!sink || sinkId.startsWith(TAP)) throw new TributaryError('TRIB_USAGE', `no sink '${sinkId}' in topology '${this.plan.name}'`);
    return sink.records.map((r) => r.value);
  }

  /** Rows a step emitted, or its side output with `<step>.late`, or every dead letter with 'dlq'. */
  stepOutput(stream: string): Row[] {
    const sink = this.sinks.get(TAP + stream);
    if (!sink) throw new TributaryError('TRIB_USAGE', `no step output '${stream}' (use a step id, '<step>.late' or 'dlq')`);
    return sink.records.map((r) => r.value);
  }

  deadLetters(): Row[] {
    return this.stepOutput('dlq');
  }

  counter(name: string): number {
    return this.engine.counters.get(name);
  }

  async checkpoint(): Promise<void> {
    await this.engine.checkpoint();
  }

  /**
   * Simulate a crash (`checkpointFirst: false`: everything since the last checkpoint is lost) or
   * a clean restart, then reopen on the same state.
   */
  async restart(options: { checkpointFirst?: boolean } = {}): Promise<void> {
    if (options.checkpointFirst ?? true) await this.engine.checkpoint();
    await this.engine.close({ checkpoint: false });
    await this.start(true);
  }

  async close(): Promise<void> {
    await this.engine.close({ checkpoint: false });
    if (this.ownsDir) await rm(this.dataDir, { recursive: true, force: true });
  }
}

/** Add a memory tap for every step output, late output and the dlq, so tests can read them. */
function withTaps(plan: TopologyPlan): TopologyPlan {
  const taps: PlannedSink[] = [];
  const tap = (from: string): void => {
    taps.push({ id: TAP + from, from, connector: 'memory', config: {}, location: plan.sources[0]?.location ?? { file: plan.file, line: 1, col: 1, path: '' } });
  };
  for (const step of plan.steps) {
    tap(step.id);
    if (step.stepModule.lateOutput) tap(`${step.id}.late`);
  }
  tap('dlq');
  return { ...plan, sinks: [...plan.sinks, ...taps] };
}
