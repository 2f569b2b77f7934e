/**
 * The TaskManager (after Kafka Streams' TaskManager): creates, restores and closes the tasks of
 * the partitions an InputOwnership (runtime/input-ownership.ts) hands this worker — every
 * partition at start in local mode, the consumer group's assignment in Kafka mode — and routes
 * records, watermarks and outputs between them. One instance per worker; it does not know which
 * ownership it runs on beyond `routesInMemory`.
 *
 * Task changes never interleave with a periodic checkpoint (its snapshot holds the tasks'
 * cached state): assign, revoke and lost run with checkpoints held, after the one in flight.
 */
import type { RawRecord } from '../connectors/types.js';
import type { OperatorContext } from '../operators/types.js';
import type { StreamRecord } from '../core/record.js';
import type { StateBackend } from '../state/backend.js';
import type { Logger } from '../core/logger.js';
import type { Counters } from './counters.js';
import type { DeadLetters } from './dead-letters.js';
import type { Graph, GraphNode } from './graph.js';
import type { InputOwnership, RevokeOptions, TaskOwner } from './input-ownership.js';
import type { SinkRuntime } from './sink-runtime.js';
import type { SourceRuntime } from './source-runtime.js';
import { Task, type TaskHost, type TaskSnapshot } from './task.js';
import { TaskWatermarks } from './watermarks.js';

/** What the manager needs of the worker around it. */
export interface TaskManagerWorker {
  readonly graph: Graph;
  readonly stateBackend: StateBackend;
  readonly counters: Counters;
  readonly deadLetters: DeadLetters;
  /** Every input runtime, repartition inputs included (read when a task opens). */
  readonly sources: readonly SourceRuntime[];
  readonly partitions: number;
  readonly log: Logger;
  /** Runs `fn` with periodic checkpoints held back. */
  withCheckpointsHeld<T>(fn: () => Promise<T>): Promise<T>;
  /** Checkpoint now and wait until it is durable. */
  checkpoint(): Promise<unknown>;
}

export class TaskManager implements TaskHost, TaskOwner {
  readonly marks: TaskWatermarks;
  /** tasks[sub][p]: the open task of sub-topology `sub` in partition p. */
  private readonly tasks: Array<Array<Task | undefined>>;
  private readonly owned = new Set<number>();
  private ended = false;
  /** Set by Kafka mode: where a repartition topic's records go. */
  processRepartitioned?: TaskHost['processRepartitioned'];

  constructor(private readonly worker: TaskManagerWorker, private readonly ownership: InputOwnership) {
    const { graph, partitions } = worker;
    this.tasks = graph.subTopologies.map(() => new Array<Task | undefined>(partitions));
    const { nodes, subTopologies } = graph;
    this.marks = new TaskWatermarks(subTopologies, partitions, {
      source: (sub, p, now, ended) => this.tasks[sub]![p]?.sourceProgress(now, ended) ?? { watermark: -Infinity, idle: true },
      advanced: (sub, p, watermark) => {
        for (const i of subTopologies[sub]!.stateful) nodes[i]!.instances[p]?.onWatermark?.(watermark);
      },
      ...(ownership.watermarkHooks?.() ?? {}),
    });
  }

  get graph(): Graph {
    return this.worker.graph;
  }

  get state(): StateBackend {
    return this.worker.stateBackend;
  }

  get counters(): Counters {
    return this.worker.counters;
  }

  /** Task partitions this worker owns now (ascending). */
  ownedPartitions(): number[] {
    return [...this.owned].sort((a, b) => a - b);
  }

  isOwned(partition: number): boolean {
    return this.owned.has(partition);
  }

  /** The open tasks (every sub-topology) of partition p. */
  tasksOf(partition: number): Task[] {
    const out: Task[] = [];
    for (const row of this.tasks) if (row[partition]) out.push(row[partition]!);
    return out;
  }

  /** The lowest task watermark this worker holds. */
  get watermark(): number {
    return this.marks.low(this.owned);
  }

  async assign(partitions: readonly number[], generation: number): Promise<void> {
    await this.worker.withCheckpointsHeld(async () => {
      for (const p of partitions) await this.openPartition(p, await this.ownership.restore(p, generation));
    });
  }

  async revoke(partitions: readonly number[], options: RevokeOptions): Promise<void> {
    await this.worker.withCheckpointsHeld(async () => {
      let failure: unknown;
      try {
        if (options.checkpoint && partitions.length > 0) await this.worker.checkpoint();
      } catch (err) {
        if (options.checkpointFailed) options.checkpointFailed(err);
        else failure = err;
      }
      for (const p of partitions) await this.closePartition(p);
      if (failure !== undefined) throw failure;
    });
  }

  async lost(partitions: readonly number[]): Promise<void> {
    await this.worker.withCheckpointsHeld(async () => {
      for (const p of partitions) await this.closePartition(p);
      this.worker.log.warn('tasks lost without revoke (session timed out?); their uncheckpointed work is redone by the next owner', { partitions: [...partitions] });
    });
  }

  /** Open the tasks of partition p (one per sub-topology; its state is in place) at its checkpointed watermarks. */
  private async openPartition(p: number, watermarks: ReadonlyArray<number | null> | number | null): Promise<void> {
    const opened: Task[] = [];
    for (const sub of this.worker.graph.subTopologies) {
      const task = new Task(sub.index, p, this.inputsOf(sub.index), this);
      await task.open(typeof watermarks === 'number' || watermarks === null ? watermarks : (watermarks[sub.index] ?? null));
      opened.push(task);
    }
    // Records reach the partition only once every task of it is open (a keyBy may route into any of them).
    for (const task of opened) this.tasks[task.subTopology]![p] = task;
    this.owned.add(p);
  }

  /** Close the tasks of partition p and drop its cached state (the next owner resumes from the last checkpoint). */
  private async closePartition(p: number): Promise<void> {
    if (!this.owned.has(p)) return;
    this.owned.delete(p);
    for (const row of this.tasks) {
      const task = row[p];
      row[p] = undefined;
      await task?.close();
    }
    this.marks.reset(p);
    this.worker.stateBackend.dropPartition(p);
    this.ownership.released(p);
  }

  /** The co-partitioned inputs of a sub-topology: its sources, or the repartition topic it reads. */
  private inputsOf(sub: number): SourceRuntime[] {
    const { graph } = this.worker;
    const info = graph.subTopologies[sub]!;
    return this.worker.sources.filter((s) => (s.repartition ? info.keyBy === s.nodeIndex : info.keyBy === undefined && graph.nodes[s.nodeIndex]?.subTopology === sub));
  }

  /** The sub-topology that reads each input (a repartition input's is the one after its keyBy). */
  private readonly readers = new Map<SourceRuntime, number>();

  /** The task of partition p that reads `src`. */
  private readerOf(src: SourceRuntime, partition: number): Task | undefined {
    let sub = this.readers.get(src);
    if (sub === undefined) {
      const { graph } = this.worker;
      sub = src.repartition ? graph.subTopologies.find((s) => s.keyBy === src.nodeIndex)?.index : graph.nodes[src.nodeIndex]?.subTopology;
      if (sub === undefined) return undefined;
      this.readers.set(src, sub);
    }
    return this.tasks[sub]?.[partition];
  }

  /** One raw record of `src` partition p, synchronously through its task to the sinks. */
  processRaw(src: SourceRuntime, partition: number, raw: RawRecord, now = Date.now()): void {
    // A batch polled just before its task was revoked (or before it finished opening): the
    // next owner, or the restored position, reads it again.
    if (!this.owned.has(partition)) return;
    const task = this.readerOf(src, partition);
    if (task === undefined) return;
    task.process(src, raw, now);
  }

  operatorContext(nodeIndex: number, partition: number): OperatorContext {
    const node = this.worker.graph.nodes[nodeIndex]!;
    const marks = this.marks;
    const inMemory = this.ownership.routesInMemory;
    return {
      stepId: node.id,
      partition,
      get watermark() {
        return marks.of(node.subTopology, partition);
      },
      // Kafka mode: a task is one input partition and its records stay in it. A keyBy on the key
      // the topic is partitioned by trusts the topic's partitioning (whatever partitioner wrote
      // it), as Kafka Streams does; another key goes through a repartition topic.
      emit: node.repartition
        ? (record, toPartition) => node.repartition!.add(record, toPartition ?? partition, partition, marks.of(node.subTopology, partition))
        : inMemory
          ? (record, toPartition) => this.fanOut(node.children, node.sinks, record, toPartition ?? partition)
          : (record) => this.fanOut(node.children, node.sinks, record, partition),
      routes: node.repartition !== undefined || inMemory,
      late: (record, reason) => this.sideOutput(node, record, reason, partition),
      deadLetter: (record, reason, error) => this.deadLetter(node.id, record, reason, error),
      count: (metric, n = 1) => this.worker.counters.add(metric, n),
    };
  }

  fanOut(children: readonly number[], sinks: readonly SinkRuntime[], record: StreamRecord, partition: number): void {
    const nodes = this.worker.graph.nodes;
    for (let i = 0; i < children.length; i++) nodes[children[i]!]!.instances[partition]!.process(record);
    for (let i = 0; i < sinks.length; i++) sinks[i]!.add({ key: record.key, value: record.value, timestamp: record.timestamp, origin: record.origin });
  }

  private sideOutput(node: GraphNode, record: StreamRecord, reason: string, partition: number): void {
    const row = this.worker.deadLetters.lateRow(node.id, record, reason, this.marks.of(node.subTopology, partition));
    this.fanOut(node.lateChildren, node.lateSinks, { ...record, value: row }, partition);
  }

  deadLetter(stepId: string, record: StreamRecord, reason: string, error?: unknown): void {
    this.worker.deadLetters.record(stepId, record, reason, error);
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

  /** The watermarks of task partition p, one per sub-topology. */
  watermarksOf(partition: number): Array<number | null> {
    return this.marks.snapshot([partition]).map((perTask) => perTask[partition] ?? null);
  }

  /** Every open task's part of a checkpoint, taken at one instant. */
  prepareCommit(): TaskSnapshot[] {
    const out: TaskSnapshot[] = [];
    for (const row of this.tasks) for (const task of row) if (task) out.push(task.prepareCommit());
    return out;
  }

  /** A checkpoint is durable: `ids` names the checkpoint the tasks are now part of (one for all, or per partition). */
  postCommit(ids: string | Readonly<Record<number, string>>): void {
    for (const row of this.tasks) for (const task of row) if (task) task.postCommit(typeof ids === 'string' ? ids : ids[task.partition]);
  }

  /** Close every open task's operators (shutdown after a failure: nothing is checkpointed). */
  async closeAll(): Promise<void> {
    for (const p of this.ownedPartitions()) await this.closePartition(p);
  }
}
