/**
 * The engine runs one topology in this process: sources → operators → sinks, event-time
 * watermarks, timers, and atomic checkpoints:
 *   1. flush every sink and wait for its acks;
 *   2. write dirty state + source positions + watermark in ONE LevelDB batch.
 * On start it resumes from the last checkpoint (positions, watermark, state), so after a kill -9
 * at any moment state equals processing every input exactly once; sinks see at-least-once.
 */
import type { RawRecord, Sink, Source } from '../connectors/types.js';
import type { TopologyPlan } from '../topology/plan.js';
import type { OperatorContext } from '../operators/types.js';
import type { Row, StreamRecord } from './record.js';
import { StateBackend, type CheckpointMeta, type PreparedCheckpoint } from '../state/backend.js';
import { createSink, createSource } from '../connectors/registry.js';
import { errorMessage, TributaryError } from '../errors.js';
import { createLogger, type Logger } from './logger.js';
import { buildGraph, isStateful, type Graph, type GraphNode } from './graph.js';
import { SinkRuntime } from './sink-runtime.js';
import { SourceRuntime, type PartitionProgress } from './source-runtime.js';
import { Counters } from './counters.js';

export interface EngineOptions {
  /** Where state (LevelDB) lives. */
  dataDir: string;
  resetState?: boolean;
  logger?: Logger;
  /** Replace connectors by id (the test driver feeds its own sources and reads its own sinks). */
  sources?: ReadonlyMap<string, Source>;
  sinks?: ReadonlyMap<string, Sink>;
  /** Task partitions after keyBy; default: the largest source partition count. */
  partitions?: number;
  /** Clean state entries kept decoded in memory (dirty ones are always kept until the checkpoint). */
  maxCachedEntries?: number;
  /** fsync the checkpoint batch (default true). */
  syncCheckpoints?: boolean;
}

export interface CheckpointStats {
  ms: number;
  entries: number;
}

interface CheckpointContent extends CheckpointMeta {
  topology: string;
  /** Keyed state lives in partition murmur2(key) % taskPartitions: it must not change under it. */
  taskPartitions?: number;
  watermark: number;
  sources: Record<string, Record<number, PartitionProgress>>;
  counters: Record<string, number>;
}

export class Engine {
  readonly plan: TopologyPlan;
  readonly counters = new Counters();
  readonly sources: SourceRuntime[] = [];
  readonly sinks = new Map<string, SinkRuntime>();
  private graph!: Graph;
  private state!: StateBackend;
  private readonly logger: Logger;
  private readonly partitions: number;
  private watermarkValue = -Infinity;
  private ended = false;
  private checkpoints = 0;
  private lastDlqLog = 0;
  private inflight?: Promise<CheckpointStats>;

  private constructor(plan: TopologyPlan, private readonly options: EngineOptions, logger: Logger) {
    this.plan = plan;
    this.logger = logger;
    for (const ps of plan.sources) {
      const source = options.sources?.get(ps.id) ?? createSource(ps.id, ps.connector, ps.config);
      this.sources.push(new SourceRuntime(ps, source));
    }
    this.partitions = options.partitions ?? Math.max(1, ...this.sources.map((s) => s.source.partitionCount));
    for (const pk of plan.sinks) {
      const sink = options.sinks?.get(pk.id) ?? createSink(pk.id, pk.connector, pk.config);
      this.sinks.set(pk.id, new SinkRuntime(pk.id, sink));
    }
  }

  static async open(plan: TopologyPlan, options: EngineOptions): Promise<Engine> {
    const logger = options.logger ?? createLogger().child({ topology: plan.name });
    const engine = new Engine(plan, options, logger);
    await engine.start();
    return engine;
  }

  get watermark(): number {
    return this.watermarkValue;
  }

  get taskPartitions(): number {
    return this.partitions;
  }

  get checkpointCount(): number {
    return this.checkpoints;
  }

  get stateBackend(): StateBackend {
    return this.state;
  }

  private async start(): Promise<void> {
    const steps = this.plan.steps.filter(isStateful).map((s) => ({ id: s.id, fingerprint: s.fingerprint }));
    this.state = await StateBackend.open(this.options.dataDir, {
      steps,
      resetState: this.options.resetState ?? false,
      logger: this.logger,
      sync: this.options.syncCheckpoints ?? true,
      maxCachedEntries: this.options.maxCachedEntries ?? 2_000_000,
    });
    const checkpoint = this.state.readCheckpoint() as CheckpointContent | undefined;
    if (checkpoint?.taskPartitions !== undefined && checkpoint.taskPartitions !== this.partitions) {
      await this.state.close();
      throw new TributaryError(
        'TRIB_STATE_INCOMPATIBLE',
        `state in ${this.options.dataDir} was built with ${checkpoint.taskPartitions} task partitions, this topology has ${this.partitions}: ` +
          'keyed state is placed by murmur2(key) % partitions, so every key would lose its state. ' +
          'Keep the partition count, or start over with --reset-state.',
      );
    }
    if (checkpoint) {
      this.watermarkValue = checkpoint.watermark ?? -Infinity;
      this.counters.restore(checkpoint.counters ?? {});
    }
    this.graph = buildGraph(this.plan, this.sinks, this.partitions);
    for (const src of this.sources) src.nodeIndex = this.graph.byId.get(src.id)!;
    for (const sink of this.sinks.values()) {
      await sink.sink.open({ logger: this.logger.child({ sink: sink.id }), deadLetter: (record, reason) => this.sinkDeadLetter(sink.id, record.value, reason) });
    }
    const controller = new AbortController();
    this.abort = controller;
    for (const src of this.sources) {
      await src.source.open({ logger: this.logger.child({ source: src.id }), signal: controller.signal });
      const saved = checkpoint?.sources?.[src.id] ?? {};
      for (const p of src.source.assignedPartitions()) {
        const progress = saved[p];
        if (progress) src.restore(p, { ...progress, maxTime: progress.maxTime ?? -Infinity });
      }
    }
    await this.openInstances();
    if (checkpoint) {
      this.logger.info('resumed from checkpoint', { at: new Date(checkpoint.at).toISOString(), watermark: fmtTime(this.watermarkValue) });
    }
  }

  private abort?: AbortController;

  private async openInstances(): Promise<void> {
    const { nodes } = this.graph;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (!node.factory) continue;
      for (let p = 0; p < this.partitions; p++) {
        const op = node.factory({ ctx: this.operatorContext(i, p), state: this.state });
        await op.open?.();
        node.instances[p] = op;
      }
    }
  }

  private operatorContext(nodeIndex: number, partition: number): OperatorContext {
    const node = this.graph.nodes[nodeIndex]!;
    const engine = this;
    return {
      stepId: node.id,
      partition,
      get watermark() {
        return engine.watermarkValue;
      },
      emit: (record, toPartition) => this.fanOut(node.children, node.sinks, record, toPartition ?? partition),
      late: (record, reason) => this.sideOutput(node, record, reason, partition),
      deadLetter: (record, reason, error) => this.deadLetter(node.id, record, reason, error),
      count: (metric, n = 1) => this.counters.add(metric, n),
    };
  }

  private fanOut(children: readonly number[], sinks: readonly SinkRuntime[], record: StreamRecord, partition: number): void {
    for (let i = 0; i < children.length; i++) this.graph.nodes[children[i]!]!.instances[partition]!.process(record);
    for (let i = 0; i < sinks.length; i++) sinks[i]!.add({ key: record.key, value: record.value, timestamp: record.timestamp });
  }

  private sideOutput(node: GraphNode, record: StreamRecord, reason: string, partition: number): void {
    this.counters.add('late');
    const row: Row = { reason, step: node.id, ...originFields(record), event_time: record.timestamp, watermark: finiteOrNull(this.watermarkValue), record: record.value };
    const out: StreamRecord = { ...record, value: row };
    this.fanOut(node.lateChildren, node.lateSinks, out, partition);
  }

  private deadLetter(stepId: string, record: StreamRecord, reason: string, error?: unknown): void {
    this.counters.add('deadLettered');
    const code = error instanceof TributaryError ? error.code : error === undefined ? 'TRIB_RECORD_INVALID' : 'TRIB_USER_OPERATOR';
    const row: Row = { reason, error_code: code, step: stepId, ...originFields(record), record: record.value };
    const now = Date.now();
    if (now - this.lastDlqLog > 5000) {
      this.lastDlqLog = now;
      this.logger.warn('record dead-lettered (further ones logged at most every 5 s; all are counted)', { reason, step: stepId, ...record.origin });
    }
    for (const sink of this.graph.dlqSinks) sink.add({ key: record.key, value: row, timestamp: record.timestamp });
  }

  private sinkDeadLetter(sinkId: string, value: Row, reason: string): void {
    this.counters.add('deadLettered');
    const row: Row = { reason, error_code: 'TRIB_SINK', step: sinkId, record: value };
    for (const sink of this.graph.dlqSinks) if (sink.id !== sinkId) sink.add({ key: null, value: row, timestamp: Date.now() });
  }

  /** Process one raw record from a source partition, synchronously, through to the sinks. */
  processRaw(src: SourceRuntime, partition: number, raw: RawRecord, now = Date.now()): void {
    this.counters.add('in');
    const decoded = src.decode(raw);
    const origin = { source: src.id, partition, offset: raw.offset };
    if (!decoded.ok) {
      src.advance(partition, raw, undefined, now);
      this.deadLetter(src.id, { value: decoded.row, key: null, timestamp: raw.timestamp, origin }, decoded.reason);
      return;
    }
    src.advance(partition, raw, decoded.time, now);
    const record: StreamRecord = { value: decoded.row, key: null, timestamp: decoded.time, origin };
    const node = this.graph.nodes[src.nodeIndex]!;
    this.fanOut(node.children, node.sinks, record, partition);
  }

  /** Recompute the watermark from the sources; fire timers when it advanced. */
  updateWatermark(now = Date.now()): void {
    let min: number | undefined;
    let max = -Infinity;
    for (const src of this.sources) {
      const w = src.watermark(now, this.ended);
      if (w.min !== undefined && (min === undefined || w.min < min)) min = w.min;
      if (w.max > max) max = w.max;
    }
    // No active input: every input is idle or ended; the furthest one defines progress.
    const candidate = min ?? max;
    if (candidate > this.watermarkValue) this.advanceWatermarkTo(candidate);
  }

  /** Move the watermark forward (never back) and fire due timers, upstream steps first. */
  advanceWatermarkTo(watermark: number): void {
    if (!(watermark > this.watermarkValue)) return;
    this.watermarkValue = watermark;
    const { nodes } = this.graph;
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (!node.stateful) continue;
      for (const op of node.instances) op.onWatermark?.(watermark);
    }
  }

  /** Bounded inputs are done: nothing can be out of order any more. */
  endOfInput(): void {
    this.ended = true;
    this.updateWatermark();
  }

  /**
   * An asynchronous checkpoint (Flink's model). Synchronously, at one instant between records:
   * positions, watermark, counters and every dirty state entry are captured and each sink is asked
   * to flush what it holds so far. Then, while processing may go on: sinks' acks are awaited
   * first, and only then is the snapshot written in ONE LevelDB batch. A crash before the batch
   * lands resumes from the previous checkpoint (outputs repeat: at least once); state never
   * includes an input twice. One checkpoint in flight at a time.
   */
  beginCheckpoint(): Promise<CheckpointStats> {
    if (this.inflight) return Promise.reject(new TributaryError('TRIB_INTERNAL', 'a checkpoint is already in flight'));
    const started = Date.now();
    const sources: CheckpointContent['sources'] = {};
    for (const src of this.sources) sources[src.id] = src.progress();
    const meta: CheckpointContent = {
      version: 1,
      at: started,
      topology: this.plan.name,
      taskPartitions: this.partitions,
      watermark: this.watermarkValue,
      sources,
      counters: this.counters.snapshot(),
    };
    const flushes = [...this.sinks.values()].map((sink) => sink.sink.flush());
    let prepared: PreparedCheckpoint;
    try {
      prepared = this.state.prepareCheckpoint(meta);
    } catch (err) {
      void Promise.allSettled(flushes);
      return Promise.reject(new TributaryError('TRIB_CHECKPOINT', `checkpoint failed: ${errorMessage(err)}`, { cause: err }));
    }
    const run = (async (): Promise<CheckpointStats> => {
      const settled = await Promise.allSettled(flushes);
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) {
        prepared.abort();
        throw new TributaryError('TRIB_CHECKPOINT', `checkpoint failed: ${errorMessage(failed.reason)}`, { cause: failed.reason });
      }
      try {
        const result = await prepared.write();
        this.checkpoints++;
        return { ms: Date.now() - started, entries: result.entries };
      } catch (err) {
        throw new TributaryError('TRIB_CHECKPOINT', `checkpoint failed: ${errorMessage(err)}`, { cause: err });
      }
    })().finally(() => {
      this.inflight = undefined;
    });
    this.inflight = run;
    return run;
  }

  /** Checkpoint now and wait until it is durable (after any checkpoint already in flight). */
  async checkpoint(): Promise<CheckpointStats> {
    if (this.inflight) await this.inflight.catch(() => undefined);
    return this.beginCheckpoint();
  }

  get checkpointInFlight(): boolean {
    return this.inflight !== undefined;
  }

  async close(options: { checkpoint?: boolean } = {}): Promise<void> {
    if (options.checkpoint ?? true) await this.checkpoint();
    else if (this.inflight) await this.inflight.catch(() => undefined);
    this.abort?.abort();
    for (const node of this.graph.nodes) for (const op of node.instances) await op.close?.();
    for (const src of this.sources) await src.source.close();
    for (const sink of this.sinks.values()) await sink.sink.close();
    await this.state.close();
  }
}

function originFields(record: StreamRecord): Row {
  return { source: record.origin.source, partition: record.origin.partition, offset: record.origin.offset };
}

function finiteOrNull(n: number): number | null {
  return Number.isFinite(n) ? n : null;
}

export function fmtTime(t: number): string {
  return Number.isFinite(t) ? new Date(t).toISOString() : String(t);
}
