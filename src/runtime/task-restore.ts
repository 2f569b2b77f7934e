/**
 * Bringing a task's state to its committed checkpoint when the group assigns it (Kafka mode).
 * A task whose local checkpoint id equals the committed one starts at once; otherwise its local
 * state is wiped and its changelogs are replayed up to the committed end offsets (records past
 * them belong to a checkpoint that never committed), skipping writes of older generations after
 * a newer one fenced the partition. Then the tail past the committed end is fenced and overwritten.
 *
 * The generation a task writes its changelogs in (its epoch) must exceed every generation already
 * in them, or a later restore skips the task's writes as a zombie's. The group generation alone
 * does not guarantee that: a coordinator that lost the group (the dev broker restarted, a Kafka
 * group that expired or was deleted while its changelogs stayed) counts from 1 again. So the
 * epoch is the group generation raised above the committed epoch and above every generation in
 * the uncommitted tail (a zombie's fence lies there), and it stays the task's until it closes.
 */
import type { Logger } from '../core/logger.js';
import type { KafkaClient } from '../kafka/client.js';
import type { StateBackend, StateChange } from '../state/backend.js';
import { changelogKeys, changelogTopic, restoreChangelog, type ChangelogWriter } from '../state/changelog.js';

export interface TaskStatus {
  partition: number;
  state: 'restoring' | 'running';
  restored: number;
  toRestore: number;
}

export interface RestoreTask {
  partition: number;
  generation: number;
  /**
   * The committed checkpoint id, changelog end offsets per step and the epoch its writer wrote
   * them in; undefined when the group never committed.
   */
  committed: { id: string; ends: Map<string, bigint>; epoch: number } | undefined;
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

  /**
   * Restores task state; returns each step's changelog end after the fence (what the next commit
   * covers) and the epoch the task writes its changelogs in from now on.
   */
  async restore(task: RestoreTask): Promise<{ ends: Map<string, bigint>; epoch: number }> {
    const { partition: p, committed, status, log } = task;
    const ends = new Map(committed?.ends ?? []);
    if (this.statefulSteps.length === 0) return { ends, epoch: task.generation };
    if (committed !== undefined && task.localId === committed.id) {
      log.info('task state is current: starting at once', { checkpoint: committed.id });
    } else {
      await this.state.wipePartition(p);
      if (committed !== undefined) await this.replay(p, ends, status, log);
    }
    const tails = new Map<string, { keys: Uint8Array[]; end: bigint }>();
    let epoch = Math.max(task.generation, (committed?.epoch ?? -1) + 1);
    for (const step of this.statefulSteps) {
      const tail = await this.readTail(step, p, ends.get(step) ?? 0n);
      tails.set(step, tail);
      epoch = Math.max(epoch, tail.maxGeneration + 1);
    }
    if (epoch !== task.generation) log.info('changelog epoch raised above the generations it holds', { generation: task.generation, epoch });
    for (const step of this.statefulSteps) ends.set(step, await this.overwriteTail(step, p, epoch, ends.get(step) ?? 0n, tails.get(step)!, log));
    return { ends, epoch };
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
   * Records an owner wrote past the committed end and never committed (it was killed between its
   * changelog write and its group commit, or its commit was refused after a rebalance): the keys
   * they touched and the highest generation among them, up to the log end now.
   */
  private async readTail(step: string, p: number, committedEnd: bigint): Promise<{ keys: Uint8Array[]; end: bigint; maxGeneration: number }> {
    const offsets = await this.client.admin.listOffsets(changelogTopic(this.appId, step));
    const end = offsets.find((o) => o.partition === p)?.latest ?? 0n;
    if (end <= committedEnd) return { keys: [], end: committedEnd, maxGeneration: -1 };
    const consumer = await this.client.assignedConsumer();
    try {
      const found = await changelogKeys(consumer, { app: this.appId, stepId: step, partition: p, from: committedEnd, until: end });
      return { ...found, end };
    } finally {
      await consumer.close();
    }
  }

  /**
   * Fences step `step`'s changelog partition p for `epoch`, then overwrites the tail (what lies
   * between the committed end and the fence): each key written there is written again with the
   * value this task starts from (the committed state), or a tombstone, in this epoch — the tail
   * precedes the fence, so a later restore would apply it otherwise. Compaction then keeps the
   * right value too. Zombie writes after the fence carry a lower epoch and are skipped on restore.
   * Returns the changelog end after the fence and the overwrites.
   */
  private async overwriteTail(step: string, p: number, epoch: number, committedEnd: bigint, tail: { keys: Uint8Array[]; end: bigint }, log: Logger): Promise<bigint> {
    const fenceEnd = await this.changelog.fence(step, p, epoch);
    const fenceAt = fenceEnd - 1n;
    if (fenceAt <= committedEnd) return fenceEnd;
    let keys = tail.keys;
    if (fenceAt > tail.end) {
      // Written between reading the tail and the fence (a zombie still flushing): overwritten too.
      const consumer = await this.client.assignedConsumer();
      try {
        const late = await changelogKeys(consumer, { app: this.appId, stepId: step, partition: p, from: tail.end, until: fenceAt });
        keys = [...keys, ...late.keys];
      } finally {
        await consumer.close();
      }
    }
    if (keys.length === 0) return fenceEnd;
    const values = this.state.storedValues(step, p, keys);
    const changes: StateChange[] = keys.map((key, i) => ({ stepId: step, partition: p, key, value: values[i]! }));
    const written = await this.changelog.write(p, changes, { generation: epoch, position: JSON.stringify({ overwrites: [committedEnd.toString(), fenceAt.toString()] }) });
    log.info('overwrote changelog records of a checkpoint that never counted', { step, from: committedEnd.toString(), until: fenceAt.toString(), keys: keys.length });
    return written.get(step) ?? fenceEnd;
  }
}
