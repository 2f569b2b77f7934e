/**
 * The engine runs one topology in this process: its connectors, its state backend, its tasks
 * (runtime/task.ts, created and closed by runtime/task-manager.ts over whichever input ownership
 * applies: runtime/input-ownership.ts, every partition at start; runtime/kafka-tasks.ts, the
 * consumer group's), dead letters (runtime/dead-letters.ts) and the checkpoint protocol
 * (runtime/checkpointer.ts). Nothing here depends on the mode.
 * On start it resumes from the last checkpoint (positions, watermarks, state), so after a kill -9
 * at any moment state equals processing every input exactly once; sinks see at-least-once.
 */
import type { RawRecord, Sink, SinkContext, Source } from '../connectors/types.js';
import type { TopologyPlan } from '../topology/plan.js';
import { StateBackend, type CheckpointMeta } from '../state/backend.js';
import { createSink, createSource } from '../connectors/registry.js';
import { TributaryError } from '../core/errors.js';
import { createLogger, type Logger } from '../core/logger.js';
import { buildGraph, isStateful, type Graph } from './graph.js';
import { SinkRuntime } from './sink-runtime.js';
import { SourceRuntime, type PartitionProgress } from './source-runtime.js';
import { Counters } from './counters.js';
import { KafkaTasks } from './kafka-tasks.js';
import { WorkerMetrics } from './metrics.js';
import { Checkpointer, type CheckpointStats } from './checkpointer.js';
import { DeadLetters } from './dead-letters.js';
import { LocalInputs, type InputOwnership } from './input-ownership.js';
import { TaskManager } from './task-manager.js';
import { openWithRetry } from './open-retry.js';

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
  graph!: Graph;
  private state!: StateBackend;
  private readonly logger: Logger;
  private _partitions: number;
  /** Who owns which task partitions: every one (local) or the consumer group's share (Kafka). */
  private ownership!: InputOwnership;
  /** The tasks of the owned partitions. */
  private manager!: TaskManager;
  deadLetters!: DeadLetters;
  private checkpointer!: Checkpointer<CheckpointContent>;

  private constructor(plan: TopologyPlan, private readonly options: EngineOptions, logger: Logger) {
    this.plan = plan;
    this.logger = logger;
    this.metrics = new WorkerMetrics(this);
    for (const ps of plan.sources) {
      const source = options.sources?.get(ps.id);
      if (!source) throw new Error(`engine: no source '${ps.id}' (Engine.open creates them)`);
      this.sources.push(new SourceRuntime(ps, source));
    }
    this._partitions = options.partitions ?? Math.max(1, ...this.sources.map((s) => s.source.partitionCount));
    for (const pk of plan.sinks) {
      const sink = options.sinks?.get(pk.id);
      if (!sink) throw new Error(`engine: no sink '${pk.id}' (Engine.open creates them)`);
      this.sinks.set(pk.id, new SinkRuntime(pk.id, sink));
    }
  }

  static async open(plan: TopologyPlan, options: EngineOptions): Promise<Engine> {
    const logger = options.logger ?? createLogger().child({ topology: plan.name });
    // Connectors the caller did not pass in come from the registry (each loads its module now).
    const sources = new Map(options.sources);
    for (const ps of plan.sources) if (!sources.has(ps.id)) sources.set(ps.id, await createSource(ps.id, ps.connector, ps.config));
    const sinks = new Map(options.sinks);
    for (const pk of plan.sinks) if (!sinks.has(pk.id)) sinks.set(pk.id, await createSink(pk.id, pk.connector, pk.config));
    const engine = new Engine(plan, { ...options, sources, sinks }, logger);
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
    return this.manager.watermark;
  }

  get partitions(): number {
    return this._partitions;
  }

  get taskPartitions(): number {
    return this._partitions;
  }

  get checkpointCount(): number {
    return this.checkpointer.count;
  }

  /** The longest pause a checkpoint's synchronous snapshot made in this process, in ms. */
  get longestSnapshotMs(): number {
    return this.checkpointer.longestSnapshotMs;
  }

  get stateBackend(): StateBackend {
    return this.state;
  }

  /** The state backend once start() opened it (metrics may be scraped before). */
  get stateBackendIfOpen(): StateBackend | undefined {
    return this.state as StateBackend | undefined;
  }

  /** Who owns this worker's task partitions (readiness, restore progress, lag). */
  get inputs(): InputOwnership | undefined {
    return this.ownership as InputOwnership | undefined;
  }

  /** The tasks of this worker's partitions. */
  get tasks(): TaskManager {
    return this.manager;
  }

  /** Task partitions this worker owns now. */
  ownedPartitions(): number[] {
    return this.manager?.ownedPartitions() ?? [];
  }

  get log(): Logger {
    return this.logger;
  }

  private async start(): Promise<void> {
    // A topology that reads Kafka gets its partitions from the consumer group; any other owns them all.
    this.ownership = this.sources.some((s) => s.source.asKafkaInput !== undefined)
      ? await KafkaTasks.create(this, this.plan, this.options)
      : new LocalInputs(this, this._partitions);
    this._partitions = this.ownership.partitions;
    const steps = this.plan.steps.filter(isStateful).map((s) => ({ id: s.id, fingerprint: s.fingerprint }));
    this.state = await StateBackend.open(this.options.dataDir, {
      steps,
      resetState: this.options.resetState ?? false,
      logger: this.logger,
      sync: this.options.syncCheckpoints ?? true,
      cacheSize: this.options.cacheSize ?? this.plan.stateCacheSize,
    });
    const checkpoint = this.state.readCheckpoint() as CheckpointContent | undefined;
    if (checkpoint?.taskPartitions !== undefined && checkpoint.taskPartitions !== this._partitions) {
      await this.state.close();
      throw new TributaryError(
        'TRIB_STATE_INCOMPATIBLE',
        `state in ${this.options.dataDir} was built with ${checkpoint.taskPartitions} task partitions, this topology has ${this._partitions}: ` +
          'keyed state is placed by murmur2(key) % partitions, so every key would lose its state. ' +
          'Keep the partition count, or start over with --reset-state.',
      );
    }
    if (checkpoint) this.counters.restore(checkpoint.counters ?? {});
    this.graph = buildGraph(this.plan, this.sinks, this._partitions);
    for (const src of this.sources) src.nodeIndex = this.graph.byId.get(src.id)!;
    this.deadLetters = new DeadLetters(this.graph.dlqSinks, this.counters, this.logger, (id) => {
      const input = this.sources.find((s) => s.id === id)?.source;
      return input?.asKafkaInput?.().topic;
    });
    this.manager = new TaskManager(this, this.ownership);
    this.checkpointer = this.createCheckpointer();
    for (const sink of this.sinks.values()) {
      // A store that is down when the worker starts pauses the start, as an outage pauses a run.
      await openWithRetry(`sink '${sink.id}'`, () => sink.sink.open(this.sinkContext(sink.id)), { logger: this.logger });
      this.opened(sink.sink);
    }
    this.abort = new AbortController();
    // Inputs open and tasks are assigned (local: all of them now; Kafka: as the group assigns them).
    await this.ownership.start(this.manager, checkpoint, this.abort.signal);
  }

  private abort?: AbortController;
  /** Connectors opened by start(), closed again if start() fails later on. */
  private readonly openedResources: Array<{ close(): Promise<void> }> = [];

  opened(resource: { close(): Promise<void> }): void {
    this.openedResources.push(resource);
  }

  private async releaseOpened(): Promise<void> {
    this.abort?.abort();
    for (const c of this.openedResources.reverse()) await c.close().catch(() => undefined);
    this.openedResources.length = 0;
    if (this.state !== undefined) await this.state.close().catch(() => undefined);
  }

  private sinkContext(sinkId: string): SinkContext {
    return { logger: this.logger.child({ sink: sinkId }), deadLetter: (record, reason) => this.deadLetters.refused(sinkId, record, reason), observeWrite: this.metrics.sinkObserver(sinkId) };
  }

  /** Process one raw record from a source partition, synchronously, through its task to the sinks. */
  processRaw(src: SourceRuntime, partition: number, raw: RawRecord, now = Date.now()): void {
    this.manager.processRaw(src, partition, raw, now);
  }

  /** Recompute every task's watermark (idle inputs, ended inputs, upstream markers); fire timers when one advanced. */
  updateWatermark(now = Date.now()): void {
    this.manager.updateWatermark(now);
  }

  /** Move every task's watermark to at least `watermark` and fire due timers (the test driver). */
  advanceWatermarkTo(watermark: number): void {
    this.manager.advanceWatermarkTo(watermark);
  }

  /** Bounded inputs are done: nothing can be out of order any more. */
  endOfInput(): void {
    this.manager.endOfInput();
  }

  private createCheckpointer(): Checkpointer<CheckpointContent> {
    let refusedBefore = 0;
    return new Checkpointer<CheckpointContent>({
      state: this.state,
      content: (at) => {
        // Every task's positions and watermark, at one instant (between two records).
        const sources: CheckpointContent['sources'] = {};
        for (const src of this.sources) sources[src.id] = {};
        const watermarks: Array<Record<number, number | null>> = this.graph.subTopologies.map(() => ({}));
        for (const task of this.manager.prepareCommit()) {
          for (const [id, progress] of Object.entries(task.positions)) sources[id]![task.partition] = progress;
          watermarks[task.subTopology]![task.partition] = task.watermark;
        }
        refusedBefore = this.deadLetters.refusalCount;
        return {
          version: 1,
          at,
          topology: this.plan.name,
          taskPartitions: this._partitions,
          watermark: this.watermark,
          watermarks,
          sources,
          counters: this.counters.snapshot(),
        };
      },
      flushSinks: () => [...this.sinks.values()].map((sink) => sink.sink.flush()),
      flushLateDeadLetters: () => this.deadLetters.flushLate(refusedBefore),
      observer: {
        snapshotted: (syncMs) => this.metrics.checkpointSnapshotted(syncMs),
        done: (ms, meta) => {
          // Kafka mode names a checkpoint id per task; locally the checkpoint is its time.
          this.manager.postCommit(meta.tasks ?? String(meta.at));
          this.metrics.checkpointDone(ms);
        },
        failed: () => this.metrics.checkpointFailed(),
      },
      ...(this.ownership.checkpointHooks ? { hooks: this.ownership.checkpointHooks } : {}),
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
    return this.checkpointer.held || !this.ownership.ready;
  }

  async close(options: { checkpoint?: boolean } = {}): Promise<void> {
    try {
      // Every task is revoked: each is checkpointed (unless told not to) and closed.
      await this.ownership.close(options.checkpoint ?? true);
    } finally {
      // A failed last checkpoint still releases every connector and the state directory.
      this.abort?.abort();
      await this.manager.closeAll().catch(() => undefined);
      for (const src of this.sources) await src.source.close();
      for (const sink of this.sinks.values()) await sink.sink.close();
      await this.state.close();
    }
  }
}

export function fmtTime(t: number): string {
  return Number.isFinite(t) ? new Date(t).toISOString() : String(t);
}

