/**
 * A Task is (sub-topology, partition), the unit of work of DESIGN.md "Execution model" (after
 * Kafka Streams' StreamTask), the same in local mode, Kafka mode and the TopologyTestDriver:
 *   - its operators: one instance of every step of its sub-topology, over the state scope
 *     (step, partition);
 *   - its inputs: partition p of every co-partitioned input of the sub-topology (source topics,
 *     or the repartition topic of an upstream keyBy), each with its position;
 *   - its watermark (runtime/watermarks.ts): the min over its inputs, and the timers it fires;
 *   - process / prepareCommit / postCommit: a record through its operators down to the sinks;
 *     what a checkpoint keeps of it (positions, watermark); the checkpoint it reflects once durable.
 * Dispatch stays a synchronous push through GraphNode.instances (the hot path), which the task
 * fills on open and clears on close.
 */
import type { RawRecord } from '../connectors/types.js';
import type { Operator, OperatorContext } from '../operators/types.js';
import type { StreamRecord } from '../core/record.js';
import type { StateBackend } from '../state/backend.js';
import type { Counters } from './counters.js';
import type { SinkRuntime } from './sink-runtime.js';
import { stateScope, type Graph } from './graph.js';
import type { PartitionProgress, SourceRuntime } from './source-runtime.js';
import type { SourceProgress, TaskWatermarks } from './watermarks.js';

/** What every task of a worker shares: the graph, the state backend, the watermarks, the outputs. */
export interface TaskHost {
  readonly graph: Graph;
  readonly state: StateBackend;
  readonly marks: TaskWatermarks;
  readonly counters: Counters;
  /** The operator context of node i in partition p (emit, late, dead letters). */
  operatorContext(nodeIndex: number, partition: number): OperatorContext;
  /** A record through `children` and into `sinks`, in partition p. */
  fanOut(children: readonly number[], sinks: readonly SinkRuntime[], record: StreamRecord, partition: number): void;
  deadLetter(stepId: string, record: StreamRecord, reason: string, error?: unknown): void;
  /** A repartition topic's record (or marker) reached task p (Kafka mode's repartition inputs). */
  processRepartitioned?(src: SourceRuntime, partition: number, raw: RawRecord, now: number): void;
}

/** What a checkpoint keeps of one task. */
export interface TaskSnapshot {
  readonly subTopology: number;
  readonly partition: number;
  /** Per input id: the next position, max event time and resume token. */
  readonly positions: Readonly<Record<string, PartitionProgress>>;
  /** The task's watermark (null before any). */
  readonly watermark: number | null;
}

export class Task {
  private readonly operators: Array<{ node: number; op: Operator }> = [];
  /** sourceProgress's answer, reused. */
  private readonly progress: SourceProgress = { watermark: -Infinity, idle: true };
  private opened = false;
  /** The id of the last checkpoint this task's state is part of (postCommit). */
  committedId: string | undefined;

  constructor(
    readonly subTopology: number,
    readonly partition: number,
    /** The co-partitioned inputs this task reads partition `partition` of (empty: it reads an in-memory keyBy). */
    readonly inputs: readonly SourceRuntime[],
    private readonly host: TaskHost,
  ) {}

  get isOpen(): boolean {
    return this.opened;
  }

  /** Build and open the operators of this task (its state is in place), at its checkpointed watermark. */
  async open(watermark: number | null): Promise<void> {
    const { graph, state, marks } = this.host;
    marks.restore(this.subTopology, this.partition, watermark);
    for (let i = 0; i < graph.nodes.length; i++) {
      const node = graph.nodes[i]!;
      if (!node.factory || node.subTopology !== this.subTopology) continue;
      const op = await node.factory(this.host.operatorContext(i, this.partition), stateScope(state, node.id, this.partition));
      await op.open?.();
      node.instances[this.partition] = op;
      this.operators.push({ node: i, op });
    }
    this.opened = true;
  }

  /**
   * One raw record of input `src` (partition = this task's), synchronously through to the sinks;
   * the task's watermark moves with it (as Kafka Streams' stream time).
   */
  process(src: SourceRuntime, raw: RawRecord, now: number): void {
    const { host, partition } = this;
    if (src.repartition) {
      host.processRepartitioned!(src, partition, raw, now);
      return;
    }
    host.counters.add('in');
    const decoded = src.decode(raw);
    const origin = { source: src.id, partition, offset: raw.offset };
    if (!decoded.ok) {
      src.advance(partition, raw, undefined, now);
      host.deadLetter(src.id, { value: decoded.row, key: null, timestamp: raw.timestamp, origin }, decoded.reason);
      return;
    }
    src.advance(partition, raw, decoded.time, now);
    const record: StreamRecord = { value: decoded.row, key: null, timestamp: decoded.time, origin };
    const node = host.graph.nodes[src.nodeIndex]!;
    host.fanOut(node.children, node.sinks, record, partition);
    host.marks.sourceProgress(this.subTopology, partition, now);
  }

  /**
   * The watermark its inputs allow: per input, max event time − maxOutOfOrderness (the max event
   * time itself once the input ended); the min over the active inputs. Idle only when no input
   * is active and none has seen a record. Asked after every record: the answer is one object per
   * task, overwritten by the next call (its caller reads it at once), and no object per input.
   */
  sourceProgress(now: number, ended: boolean): SourceProgress {
    let watermark = Infinity;
    let idle = true;
    for (const src of this.inputs) {
      const t = src.tracker(this.partition);
      const done = ended || src.exhausted;
      const w = done ? t.maxTime : t.maxTime - src.plan.eventTime.maxOutOfOrdernessMs;
      if (w < watermark) watermark = w;
      if (idle && (done || now - t.lastActivity >= src.plan.eventTime.idleTimeoutMs) && !Number.isFinite(t.maxTime)) continue;
      idle = false;
    }
    const out = this.progress;
    out.watermark = watermark === Infinity ? -Infinity : watermark;
    out.idle = idle;
    return out;
  }

  /** At the checkpoint's snapshot instant (between two records): what it keeps of this task. */
  prepareCommit(): TaskSnapshot {
    const positions: Record<string, PartitionProgress> = {};
    for (const src of this.inputs) {
      const p = src.progress()[this.partition];
      if (p) positions[src.id] = p;
    }
    const w = this.host.marks.of(this.subTopology, this.partition);
    return { subTopology: this.subTopology, partition: this.partition, positions, watermark: Number.isFinite(w) ? w : null };
  }

  /** The checkpoint that holds this task's snapshot is durable (and, in a group, committed). */
  postCommit(checkpointId: string | undefined): void {
    if (checkpointId !== undefined) this.committedId = checkpointId;
  }

  /**
   * Close the operators and forget the input positions; the cached state is dropped by the
   * manager (uncheckpointed changes are discarded: the next owner resumes from the last checkpoint).
   */
  async close(): Promise<void> {
    if (!this.opened) return;
    this.opened = false;
    const { graph } = this.host;
    for (const { node, op } of this.operators) {
      if (graph.nodes[node]!.instances[this.partition] === op) delete graph.nodes[node]!.instances[this.partition];
      await op.close?.();
    }
    this.operators.length = 0;
    for (const src of this.inputs) src.forget(this.partition);
  }
}
