/**
 * The engine runs one topology in this process: sources → operators → sinks, the task
 * watermarks (runtime/watermarks.ts), timers, dead letters (runtime/dead-letters.ts) and the
 * checkpoint protocol (runtime/checkpointer.ts). Local mode owns every task partition from the
 * start; Kafka mode (runtime/kafka-tasks.ts) gets them from the consumer group.
 * On start it resumes from the last checkpoint (positions, watermarks, state), so after a kill -9
 * at any moment state equals processing every input exactly once; sinks see at-least-once.
 */
import type { RawRecord, Sink, SinkContext, Source } from '../connectors/types.js';
import type { TopologyPlan } from '../topology/plan.js';
import type { OperatorContext } from '../operators/types.js';
import type { StreamRecord } from '../core/record.js';
import { StateBackend, type CheckpointMeta } from '../state/backend.js';
import { createSink, createSource } from '../connectors/registry.js';
import { TributaryError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { buildGraph, isStateful, stateScope, type Graph, type GraphNode } from './graph.js';
import { SinkRuntime } from './sink-runtime.js';
import { SourceRuntime, type PartitionProgress } from './source-runtime.js';
import { Counters } from './counters.js';
import { KafkaTasks } from './kafka-tasks.js';
import { WorkerMetrics } from './metrics.js';
import { Checkpointer, type CheckpointStats } from './checkpointer.js';
import { DeadLetters } from './dead-letters.js';
import { TaskWatermarks, type SourceProgress } from './watermarks.js';

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
  /** Bytes of memory for state (tributary run --cache-size); default the topology's spec.state.cacheSize. */
  cacheSize?: number;
  /** fsync the checkpoint batch (default true). */
  syncCheckpoints?: boolean;
  /** Kafka mode: the application id (consumer group, changelog and repartition topic prefix). */
  appId?: string;
  /** Kafka mode: where partitions the group never committed start (run --from-timestamp / --from-offsets). */
  startOverride?: StartOverride;
}

/** A replay's start for partitions the group has not committed yet. */
export type StartOverride = { kind: 'earliest' } | { kind: 'latest' } | { kind: 'timestamp'; at: number } | { kind: 'offsets'; offsets: ReadonlyArray<{ topic: string; partition: number; offset: bigint }> };

export type { CheckpointStats } from './checkpointer.js';

export interface CheckpointContent extends CheckpointMeta {
  topology: string;
  /** Keyed state lives in partition murmur2(key) % taskPartitions: it must not change under it. */
  taskPartitions?: number;
  /** The lowest task watermark (older checkpoints: the one watermark of every task). */
  watermark: number;
  /** Per sub-topology, per task partition (null: none yet). */
  watermarks?: Array<Record<number, number | null>>;
  sources: Record<string, Record<number, PartitionProgress>>;
  counters: Record<string, number>;
  /** Kafka mode: per task partition, the id of the checkpoint its local state reflects. */
  tasks?: Record<number, string>;
}

export class Engine {
  readonly plan: TopologyPlan;
  readonly counters = new Counters();
  readonly sources: SourceRuntime[] = [];
  readonly sinks = new Map<string, SinkRuntime>();
  /** This worker's Prometheus registry (/metrics). */
  readonly metrics: WorkerMetrics;
  private graph!: Graph;
  private state!: StateBackend;
  private readonly logger: Logger;
  private partitions: number;
  /** Kafka mode: tasks come and go with the consumer group (null in local mode: every partition is owned). */
  private kafka: KafkaTasks | undefined;
  /** Each task's (sub-topology × partition) watermark, the same model in local and Kafka mode. */
  private marks!: TaskWatermarks;
  private readonly owned = new Set<number>();
  private ended = false;
  private deadLetters!: DeadLetters;
  private checkpointer!: Checkpointer<CheckpointContent>;

  private constructor(plan: TopologyPlan, private readonly options: EngineOptions, logger: Logger) {
    this.plan = plan;
    this.logger = logger;
    this.metrics = new WorkerMetrics(this);
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
    try {
      await engine.start();
    } catch (err) {
      // A connector or state that fails to open must not leave the ones opened before it open (file handles, sockets).
      await engine.releaseOpened();
      throw err;
    }
    return engine;
  }

  /** The lowest task watermark this worker holds (progress lines and the summary). */
  get watermark(): number {
    return this.marks.low(this.owned);
  }

  get taskPartitions(): number {
    return this.partitions;
  }

  get checkpointCount(): number {
    return this.checkpointer.count;
  }

  get stateBackend(): StateBackend {
    return this.state;
  }

  /** The state backend once start() opened it (metrics may be scraped before). */
  get stateBackendIfOpen(): StateBackend | undefined {
    return this.state as StateBackend | undefined;
  }

  get isDistributed(): boolean {
    return this.kafka !== undefined;
  }

  get kafkaTasks(): KafkaTasks | undefined {
    return this.kafka;
  }

  /** Task partitions this worker owns now. */
  ownedPartitions(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  get log(): Logger {
    return this.logger;
  }

  private async start(): Promise<void> {
    if (this.sources.some((s) => s.source.asKafkaInput !== undefined)) {
      this.kafka = await KafkaTasks.create(this, this.plan, this.options);
      this.partitions = this.kafka.partitions;
    }
    const steps = this.plan.steps.filter(isStateful).map((s) => ({ id: s.id, fingerprint: s.fingerprint }));
    this.state = await StateBackend.open(this.options.dataDir, {
      steps,
      resetState: this.options.resetState ?? false,
      logger: this.logger,
      sync: this.options.syncCheckpoints ?? true,
      cacheSize: this.options.cacheSize ?? this.plan.stateCacheSize,
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
    if (checkpoint) this.counters.restore(checkpoint.counters ?? {});
    this.graph = buildGraph(this.plan, this.sinks, this.partitions);
    for (const src of this.sources) src.nodeIndex = this.graph.byId.get(src.id)!;
    this.marks = this.taskWatermarks();
    this.deadLetters = new DeadLetters(this.graph.dlqSinks, this.counters, this.logger, (id) => {
      const input = this.sources.find((s) => s.id === id)?.source;
      return input?.asKafkaInput?.().topic;
    });
    this.checkpointer = this.createCheckpointer();
    if (this.kafka) {
      // Sources (and repartition inputs) start when the group assigns their tasks.
      for (const sink of this.sinks.values()) {
        await sink.sink.open(this.sinkContext(sink.id));
        this.opened.push(sink.sink);
      }
      this.abort = new AbortController();
      await this.kafka.start(this.graph, checkpoint, this.abort.signal);
      return;
    }
    for (const sink of this.sinks.values()) {
      await sink.sink.open(this.sinkContext(sink.id));
      this.opened.push(sink.sink);
    }
    const controller = new AbortController();
    this.abort = controller;
    for (const src of this.sources) {
      await src.source.open({ logger: this.logger.child({ source: src.id }), signal: controller.signal });
      this.opened.push(src.source);
      const saved = checkpoint?.sources?.[src.id] ?? {};
      for (const p of src.source.assignedPartitions()) {
        const progress = saved[p];
        if (progress) src.restore(p, { ...progress, maxTime: progress.maxTime ?? -Infinity });
      }
    }
    await this.openInstances(checkpoint);
    if (checkpoint) {
      this.logger.info('resumed from checkpoint', { at: new Date(checkpoint.at).toISOString(), watermark: fmtTime(this.watermark) });
    }
  }

  private abort?: AbortController;
  /** Connectors opened by start(), closed again if start() fails later on. */
  private readonly opened: Array<{ close(): Promise<void> }> = [];

  private async releaseOpened(): Promise<void> {
    this.abort?.abort();
    for (const c of this.opened.reverse()) await c.close().catch(() => undefined);
    this.opened.length = 0;
    if (this.state !== undefined) await this.state.close().catch(() => undefined);
  }

  private async openInstances(checkpoint: CheckpointContent | undefined): Promise<void> {
    for (let p = 0; p < this.partitions; p++) {
      // Checkpoints before per-task watermarks kept one for all tasks.
      await this.openTask(p, checkpoint?.watermarks?.map((perTask) => perTask[p] ?? null) ?? checkpoint?.watermark ?? null);
    }
  }

  private taskWatermarks(): TaskWatermarks {
    const { nodes, subTopologies } = this.graph;
    const inputs = subTopologies.map((sub) => this.sources.find((s) => s.id === sub.source));
    return new TaskWatermarks(subTopologies, this.partitions, {
      source: (sub, p, now, ended) => sourceProgress(inputs[sub]!, p, now, ended),
      advanced: (sub, p, watermark) => {
        for (const i of subTopologies[sub]!.stateful) nodes[i]!.instances[p]?.onWatermark?.(watermark);
      },
      ...(this.kafka ? this.kafka.watermarkHooks() : {}),
    });
  }

  /**
   * Build and open every operator instance of task partition p (its state is in place), at its
   * checkpointed watermarks (one per sub-topology, or one for all).
   */
  async openTask(partition: number, watermarks: ReadonlyArray<number | null> | number | null = null): Promise<void> {
    const { nodes } = this.graph;
    for (const sub of this.graph.subTopologies) {
      this.marks.restore(sub.index, partition, typeof watermarks === 'number' || watermarks === null ? watermarks : watermarks[sub.index]);
    }
    for (let i = 0; i < nodes.length; i++) {
      const node = nodes[i]!;
      if (!node.factory) continue;
      const op = await node.factory(this.operatorContext(i, partition), stateScope(this.state, node.id, partition));
      await op.open?.();
      node.instances[partition] = op;
    }
    this.owned.add(partition);
  }

  /**
   * Close task partition p: its operators close and its cached state is dropped (uncheckpointed
   * changes are discarded: whoever owns p next resumes from the last checkpoint).
   */
  async closeTask(partition: number): Promise<void> {
    if (!this.owned.has(partition)) return;
    this.owned.delete(partition);
    for (const node of this.graph.nodes) {
      const op = node.instances[partition];
      if (!op) continue;
      delete node.instances[partition];
      await op.close?.();
    }
    for (const src of this.sources) src.forget(partition);
    this.marks.reset(partition);
    this.state.dropPartition(partition);
  }

  /** The watermarks of task partition p, one per sub-topology. */
  watermarksOf(partition: number): Array<number | null> {
    return this.marks.snapshot([partition]).map((perTask) => perTask[partition] ?? null);
  }

  /** Task watermarks, for Kafka mode's repartition inputs and markers. */
  get taskMarks(): TaskWatermarks {
    return this.marks;
  }

  private operatorContext(nodeIndex: number, partition: number): OperatorContext {
    const node = this.graph.nodes[nodeIndex]!;
    const engine = this;
    return {
      stepId: node.id,
      partition,
      get watermark() {
        return engine.marks.of(node.subTopology, partition);
      },
      // Kafka mode: a task is one input partition and its records stay in it. A keyBy on the key
      // the topic is partitioned by trusts the topic's partitioning (whatever partitioner wrote
      // it), as Kafka Streams does; another key goes through a repartition topic.
      emit: node.repartition
        ? (record, toPartition) => node.repartition!.add(record, toPartition ?? partition, partition, this.marks.of(node.subTopology, partition))
        : this.kafka
          ? (record) => this.fanOut(node.children, node.sinks, record, partition)
          : (record, toPartition) => this.fanOut(node.children, node.sinks, record, toPartition ?? partition),
      routes: node.repartition !== undefined || !this.kafka,
      late: (record, reason) => this.sideOutput(node, record, reason, partition),
      deadLetter: (record, reason, error) => this.deadLetter(node.id, record, reason, error),
      count: (metric, n = 1) => this.counters.add(metric, n),
    };
  }

  fanOut(children: readonly number[], sinks: readonly SinkRuntime[], record: StreamRecord, partition: number): void {
    for (let i = 0; i < children.length; i++) this.graph.nodes[children[i]!]!.instances[partition]!.process(record);
    for (let i = 0; i < sinks.length; i++) sinks[i]!.add({ key: record.key, value: record.value, timestamp: record.timestamp, origin: record.origin });
  }

  private sideOutput(node: GraphNode, record: StreamRecord, reason: string, partition: number): void {
    const row = this.deadLetters.lateRow(node.id, record, reason, this.marks.of(node.subTopology, partition));
    this.fanOut(node.lateChildren, node.lateSinks, { ...record, value: row }, partition);
  }

  private deadLetter(stepId: string, record: StreamRecord, reason: string, error?: unknown): void {
    this.deadLetters.record(stepId, record, reason, error);
  }

  private sinkContext(sinkId: string): SinkContext {
    return { logger: this.logger.child({ sink: sinkId }), deadLetter: (record, reason) => this.deadLetters.refused(sinkId, record, reason), observeWrite: this.metrics.sinkObserver(sinkId) };
  }

  /** Process one raw record from a source partition, synchronously, through to the sinks. */
  processRaw(src: SourceRuntime, partition: number, raw: RawRecord, now = Date.now()): void {
    // A batch polled just before its task was revoked: the next owner reads it again.
    if (this.kafka && !this.owned.has(partition)) return;
    if (src.repartition) {
      this.kafka!.processRepartitioned(src, partition, raw, now);
      return;
    }
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
    // The task's watermark moves with each of its records (runtime/watermarks.ts).
    this.marks.sourceProgress(node.subTopology, partition, now);
  }

  /** Recompute every task's watermark (idle inputs, ended inputs, upstream markers); fire timers when one advanced. */
  updateWatermark(now = Date.now()): void {
    this.marks.refresh([...this.owned], now, this.ended);
  }

  /** Move every task's watermark to at least `watermark` and fire due timers (the test driver). */
  advanceWatermarkTo(watermark: number): void {
    this.marks.forceAll([...this.owned], watermark, Date.now());
  }

  /** Bounded inputs are done: nothing can be out of order any more. */
  endOfInput(): void {
    this.ended = true;
    this.updateWatermark();
  }

  private createCheckpointer(): Checkpointer<CheckpointContent> {
    let refusedBefore = 0;
    return new Checkpointer<CheckpointContent>({
      state: this.state,
      content: (at) => {
        const sources: CheckpointContent['sources'] = {};
        for (const src of this.sources) sources[src.id] = src.progress();
        refusedBefore = this.deadLetters.refusalCount;
        return {
          version: 1,
          at,
          topology: this.plan.name,
          taskPartitions: this.partitions,
          watermark: this.watermark,
          watermarks: this.marks.snapshot(this.owned),
          sources,
          counters: this.counters.snapshot(),
        };
      },
      flushSinks: () => [...this.sinks.values()].map((sink) => sink.sink.flush()),
      flushLateDeadLetters: () => this.deadLetters.flushLate(refusedBefore),
      observer: { done: (ms) => this.metrics.checkpointDone(ms), failed: () => this.metrics.checkpointFailed() },
      ...(this.kafka ? { hooks: this.kafka } : {}),
    });
  }

  /** An asynchronous checkpoint (runtime/checkpointer.ts); one in flight at a time. */
  beginCheckpoint(): Promise<CheckpointStats> {
    return this.checkpointer.begin();
  }

  /** Checkpoint now and wait until it is durable (after any checkpoint already in flight). */
  checkpoint(): Promise<CheckpointStats> {
    return this.checkpointer.checkpoint();
  }

  /** Wait until no checkpoint is in flight (whether it succeeds or not). */
  waitForCheckpoint(): Promise<void> {
    return this.checkpointer.settled();
  }

  get checkpointInFlight(): boolean {
    return this.checkpointer.inFlight;
  }

  /** Runs `fn` with periodic checkpoints held back (task changes: runtime/checkpointer.ts). */
  withCheckpointsHeld<T>(fn: () => Promise<T>): Promise<T> {
    return this.checkpointer.hold(fn);
  }

  /** Whether periodic checkpoints are held back (a task is being opened or closed). */
  get checkpointsHeld(): boolean {
    return this.checkpointer.held;
  }

  /**
   * Whether the worker is between states in a way that says nothing about its input: tasks
   * being assigned, restored or revoked. An idle timer must not count such time as "no input".
   */
  get settling(): boolean {
    return this.checkpointer.held || (this.kafka !== undefined && !this.kafka.ready);
  }

  async close(options: { checkpoint?: boolean } = {}): Promise<void> {
    try {
      if (this.kafka) {
        // Leaving the group revokes every task: each is checkpointed (unless told not to) and closed.
        await this.kafka.close(options.checkpoint ?? true);
      } else if (options.checkpoint ?? true) await this.checkpoint();
      else await this.checkpointer.settled();
    } finally {
      // A failed last checkpoint still releases every connector and the state directory.
      this.abort?.abort();
      for (const node of this.graph.nodes) for (const op of node.instances) await op?.close?.();
      for (const src of this.sources) await src.source.close();
      for (const sink of this.sinks.values()) await sink.sink.close();
      await this.state.close();
    }
  }
}

export function fmtTime(t: number): string {
  return Number.isFinite(t) ? new Date(t).toISOString() : String(t);
}

/** A source-reading task's progress: max event time − maxOutOfOrderness, or max event time once ended. */
function sourceProgress(src: SourceRuntime | undefined, partition: number, now: number, ended: boolean): SourceProgress {
  if (src === undefined) return { watermark: -Infinity, idle: true };
  const t = src.tracker(partition);
  const done = ended || src.exhausted;
  const active = !done && now - t.lastActivity < src.plan.eventTime.idleTimeoutMs;
  return { watermark: done ? t.maxTime : t.maxTime - src.plan.eventTime.maxOutOfOrdernessMs, idle: !active && !Number.isFinite(t.maxTime) };
}
