/**
 * Bringing a task's state to its committed checkpoint when the group assigns it (Kafka mode).
 * A task whose local checkpoint id equals the committed one starts at once; otherwise its local
 * state is wiped and its changelogs are replayed up to the committed end offsets (records past
 * them belong to a checkpoint that never committed), skipping writes of older generations after
 * a newer one fenced the partition. Then the tail past the committed end is fenced and overwritten.
 */
import type { Logger } from '../core/logger.js';
import type { KafkaClient } from '../kafka/client.js';
import type { StateBackend, StateChange } from '../state/backend.js';
import { changelogKeys, restoreChangelog, type ChangelogWriter } from '../state/changelog.js';

export interface TaskStatus {
  partition: number;
  state: 'restoring' | 'running';
  restored: number;
  toRestore: number;
}

export interface RestoreTask {
  partition: number;
  generation: number;
  /** The committed checkpoint id and changelog end offsets per step; undefined when the group never committed. */
  committed: { id: string; ends: Map<string, bigint> } | undefined;
  /** The checkpoint id LevelDB holds for this task, if any. */
  localId: string | undefined;
  status: TaskStatus;
  log: Logger;
}

export class TaskRestorer {
  constructor(
    private readonly client: KafkaClient,
    private readonly state: StateBackend,
    private readonly changelog: ChangelogWriter,
    private readonly appId: string,
    private readonly statefulSteps: readonly string[],
  ) {}

  /** Restores task state; returns each step's changelog end after the fence (what the next commit covers). */
  async restore(task: RestoreTask): Promise<Map<string, bigint>> {
    const { partition: p, committed, status, log } = task;
    const ends = new Map(committed?.ends ?? []);
    if (this.statefulSteps.length === 0) return ends;
    if (committed !== undefined && task.localId === committed.id) {
      log.info('task state is current: starting at once', { checkpoint: committed.id });
    } else {
      await this.state.wipePartition(p);
      if (committed !== undefined) await this.replay(p, ends, status, log);
    }
    for (const step of this.statefulSteps) ends.set(step, await this.overwriteTail(step, p, task.generation, ends.get(step) ?? 0n, log));
    return ends;
  }

  private async replay(p: number, ends: Map<string, bigint>, status: TaskStatus, log: Logger): Promise<void> {
    for (const step of this.statefulSteps) status.toRestore += Number(ends.get(step) ?? 0n);
    const consumer = await this.client.assignedConsumer();
    try {
      for (const step of this.statefulSteps) {
        const until = ends.get(step) ?? 0n;
        if (until === 0n) continue;
        const before = status.restored;
        const started = Date.now();
        const result = await restoreChangelog(consumer, this.state, {
          app: this.appId,
          stepId: step,
          partition: p,
          from: 0n,
          until,
          onProgress: (pr) => {
            status.restored = before + pr.restored;
            log.info('restoring task state', { step, restored: pr.restored, total: pr.total });
          },
        });
        status.restored = before + result.applied + result.skipped;
        log.info('restored task state from changelog', { step, applied: result.applied, skipped: result.skipped, ms: Date.now() - started });
      }
    } finally {
      await consumer.close();
    }
  }

  /**
   * Fences step `step`'s changelog partition p for `generation`, then overwrites what lies
   * between the committed end and the fence: records of an owner whose checkpoint never counted
   * (killed between its changelog write and its group commit, or its commit refused after a
   * rebalance). They precede the fence, so a later restore would apply them; instead each key
   * they touched is written again with the value this task starts from (the committed state),
   * or a tombstone, in this generation. Compaction then keeps the right value too. Zombie
   * writes after the fence carry a lower generation and are skipped on restore.
   * Returns the changelog end after the fence and the overwrites.
   */
  private async overwriteTail(step: string, p: number, generation: number, committedEnd: bigint, log: Logger): Promise<bigint> {
    const fenceEnd = await this.changelog.fence(step, p, generation);
    const fenceAt = fenceEnd - 1n;
    if (fenceAt <= committedEnd) return fenceEnd;
    const consumer = await this.client.assignedConsumer();
    let keys: Uint8Array[];
    try {
      keys = await changelogKeys(consumer, { app: this.appId, stepId: step, partition: p, from: committedEnd, until: fenceAt });
    } finally {
      await consumer.close();
    }
    if (keys.length === 0) return fenceEnd;
    const values = this.state.storedValues(step, p, keys);
    const changes: StateChange[] = keys.map((key, i) => ({ stepId: step, partition: p, key, value: values[i]! }));
    const written = await this.changelog.write(p, changes, { generation, position: JSON.stringify({ overwrites: [committedEnd.toString(), fenceAt.toString()] }) });
    log.info('overwrote changelog records of a checkpoint that never counted', { step, from: committedEnd.toString(), until: fenceAt.toString(), keys: keys.length });
    return written.get(step) ?? fenceEnd;
  }
}
