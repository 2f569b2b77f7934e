/**
 * Who owns which task partitions: ONE interface, two implementations (DESIGN.md "Execution
 * model"). The TaskManager (runtime/task-manager.ts) creates, restores and closes tasks when the
 * ownership says so; it does not know which implementation it runs on.
 *   - LocalInputs (below): every partition is this worker's from the start; inputs are files,
 *     generators or the test driver's; positions and watermarks come from the local checkpoint.
 *   - KafkaTasks (runtime/kafka-tasks.ts): a Kafka consumer group hands partitions out (the
 *     co-partitioning assignor, revoke before rejoin); state comes from the changelogs.
 */
import type { CheckpointHooks } from './checkpointer.js';
import type { CheckpointContent } from './engine.js';
import type { TaskStatus } from './task-restore.js';
import type { WatermarkHooks } from './watermarks.js';
import type { SourceRuntime } from './source-runtime.js';
import type { Logger } from '../core/logger.js';

/** What an ownership implementation drives: the TaskManager. */
export interface TaskOwner {
  /** Partitions became this worker's: restore each (InputOwnership.restore) and open its tasks. */
  assign(partitions: readonly number[], generation: number): Promise<void>;
  /** Partitions go away in an orderly way: checkpoint (unless told not to), then close their tasks. */
  revoke(partitions: readonly number[], options: RevokeOptions): Promise<void>;
  /** Partitions are gone already (a session timed out): close their tasks, nothing to checkpoint. */
  lost(partitions: readonly number[]): Promise<void>;
}

export interface RevokeOptions {
  /** Checkpoint the tasks before closing them. */
  checkpoint: boolean;
  /** The checkpoint failed: without this the revoke throws (after closing the tasks); with it, this decides. */
  checkpointFailed?(err: unknown): void;
}

export interface InputOwnership {
  /** Task partitions of the topology (every input's partition count agrees). */
  readonly partitions: number;
  /**
   * Whether a keyBy routes its records to another partition's task in memory (local: inputs
   * such as files say nothing of their partitioning, so every keyBy routes) or only through its
   * repartition topic (Kafka: a keyBy on the topic's partition key keeps records in their task).
   */
  readonly routesInMemory: boolean;
  /** Open the inputs and start handing partitions to `owner`. */
  start(owner: TaskOwner, checkpoint: CheckpointContent | undefined, signal: AbortSignal): Promise<void>;
  /** Bring task partition p's state and input positions to its last checkpoint; the watermarks to open it at. */
  restore(partition: number, generation: number): Promise<ReadonlyArray<number | null> | number | null>;
  /** Task partition p closed. */
  released(partition: number): void;
  /** Every assigned task restored and running, and no rebalance under way (/readyz). */
  readonly ready: boolean;
  /** Restore progress per task (/readyz, metrics); empty when tasks restore from the local disk. */
  tasks(): TaskStatus[];
  /** Set while an internal producer holds too many unacknowledged records: the run loop waits on it. */
  backpressure(): Promise<void> | undefined;
  /** Consumer lag per input topic partition, when the inputs have offsets to lag behind. */
  lag?(): Promise<Array<{ topic: string; partition: number; lag: number }>>;
  /** The checkpoint steps this ownership adds (Kafka: changelogs before the state batch, the group commit after it). */
  readonly checkpointHooks?: CheckpointHooks<CheckpointContent>;
  /** How upstream watermarks reach tasks that read a repartition topic (undefined: read directly, in memory). */
  watermarkHooks?(): Pick<WatermarkHooks, 'upstream' | 'mark'>;
  /** Stop owning: revoke every task (checkpointing each unless told not to) and release the inputs. */
  close(checkpoint: boolean): Promise<void>;
}

/** What local ownership needs of the worker. */
export interface LocalWorker {
  readonly sources: readonly SourceRuntime[];
  readonly log: Logger;
  /** The lowest task watermark (the resume log line). */
  readonly watermark: number;
  /** Resources to close again if the start fails later on. */
  opened(resource: { close(): Promise<void> }): void;
}

/** Local mode: every task partition is this worker's from the start, restored from the local checkpoint. */
export class LocalInputs implements InputOwnership {
  readonly routesInMemory = true;
  readonly ready = true;
  private checkpoint: CheckpointContent | undefined;
  private owner: TaskOwner | undefined;
  private owned: number[] = [];

  constructor(private readonly worker: LocalWorker, readonly partitions: number) {}

  async start(owner: TaskOwner, checkpoint: CheckpointContent | undefined, signal: AbortSignal): Promise<void> {
    this.owner = owner;
    this.checkpoint = checkpoint;
    for (const src of this.worker.sources) {
      await src.source.open({ logger: this.worker.log.child({ source: src.id }), signal });
      this.worker.opened(src.source);
      const saved = checkpoint?.sources?.[src.id] ?? {};
      for (const p of src.source.assignedPartitions()) {
        const progress = saved[p];
        if (progress) src.restore(p, { ...progress, maxTime: progress.maxTime ?? -Infinity });
      }
    }
    this.owned = Array.from({ length: this.partitions }, (_, p) => p);
    await owner.assign(this.owned, 0);
    if (checkpoint) {
      const w = this.worker.watermark;
      this.worker.log.info('resumed from checkpoint', { at: new Date(checkpoint.at).toISOString(), watermark: Number.isFinite(w) ? new Date(w).toISOString() : String(w) });
    }
  }

  async restore(partition: number): Promise<ReadonlyArray<number | null> | number | null> {
    const c = this.checkpoint;
    // Checkpoints before per-task watermarks kept one for all tasks.
    return c?.watermarks?.map((perTask) => perTask[partition] ?? null) ?? c?.watermark ?? null;
  }

  released(): void {}

  tasks(): TaskStatus[] {
    return [];
  }

  backpressure(): undefined {
    return undefined;
  }

  async close(checkpoint: boolean): Promise<void> {
    await this.owner?.revoke(this.owned, { checkpoint });
    this.owned = [];
  }
}
