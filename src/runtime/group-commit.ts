/**
 * The checkpoint steps a consumer-group member adds to the protocol (runtime/checkpointer.ts),
 * for the tasks it owns:
 *   snapshot  each task gets a checkpoint id (member tag + sequence), repartition dedupe tokens
 *             and its watermarks are captured;
 *   2.        the snapshot's dirty state goes to `<app>.<step>.changelog` partition p, tagged with
 *             the writer's generation and source position, acknowledged;
 *   4.        source offsets are committed to the group, with metadata naming the checkpoint, the
 *             changelog end offsets it covers, the inputs' max event times and the watermarks.
 * The group commit is the commit point: on assign, a task whose local checkpoint id equals the
 * committed one starts at once (runtime/task-restore.ts), otherwise it restores.
 */
import { randomBytes } from 'node:crypto';
import type { Logger } from '../core/logger.js';
import { errorMessage } from '../core/errors.js';
import type { PreparedCheckpoint, StateChange } from '../state/backend.js';
import type { ChangelogWriter } from '../state/changelog.js';
import type { CheckpointHooks } from './checkpointer.js';
import type { CheckpointContent } from './engine.js';
import type { RepartitionInput, RepartitionWriter } from './repartition.js';
import type { SourceRuntime } from './source-runtime.js';

/** What the group commit's metadata holds for a task (on its first source topic's partition). */
export interface TaskCommit {
  v: 1;
  /** Checkpoint id: equal to the local one = local state is exactly the committed checkpoint. */
  c: string;
  /** The epoch the task's changelog records carry (task-restore.ts); the group generation before. */
  g: number;
  /** Changelog end offsets per step (decimal strings). */
  e: Record<string, string>;
  /** Max event time per source id. */
  t: Record<string, number>;
  /** The task's watermarks, one per sub-topology (older commits: one for all). */
  w: Array<number | null> | number | null;
}

/** A repartitioning keyBy in Kafka mode: its writer, its topic's input, and the sub-topology that reads it. */
export interface GroupRepartition {
  stepId: string;
  writer: RepartitionWriter;
  input: RepartitionInput;
  runtime: SourceRuntime;
  nodeIndex: number;
  reader: number;
}

/** What the commit steps read of the group member. */
export interface GroupMember {
  readonly generation: number;
  readonly kafkaSources: readonly SourceRuntime[];
  readonly repartitions: readonly GroupRepartition[];
  readonly statefulSteps: readonly string[];
  readonly changelog: ChangelogWriter;
  readonly log: Logger;
  ownedPartitions(): number[];
  watermarksOf(partition: number): Array<number | null>;
  /** The topic of a Kafka source. */
  topicOf(src: SourceRuntime): string;
  commit(offsets: Array<{ topic: string; partition: number; offset: bigint; metadata: string }>): Promise<void>;
}

export class GroupCommit implements CheckpointHooks<CheckpointContent> {
  /** Local checkpoint id per task (what LevelDB holds). */
  localTasks: Record<number, string> = {};
  /** Changelog end offsets per task and step, as far as this worker knows. */
  readonly ends = new Map<number, Map<string, bigint>>();
  /** Per open task: the epoch its changelog records carry (task-restore.ts: never below one already written). */
  readonly epochs = new Map<number, number>();
  private readonly memberTag = randomBytes(4).toString('hex');
  private seq = 0;

  constructor(private readonly member: GroupMember) {}

  /** Checkpoint ids for the tasks in this snapshot (called synchronously at snapshot time). */
  describe(meta: CheckpointContent): void {
    const tasks: Record<number, string> = {};
    for (const p of this.member.ownedPartitions()) tasks[p] = `${this.memberTag}-${++this.seq}`;
    meta.tasks = { ...this.localTasks, ...tasks };
    (meta as CheckpointContent & { generation?: number }).generation = this.member.generation;
    const rp: Record<string, Record<number, string>> = {};
    for (const r of this.member.repartitions) {
      rp[r.stepId] = {};
      for (const p of Object.keys(tasks).map(Number)) rp[r.stepId]![p] = r.input.token(p);
    }
    (meta as CheckpointContent & { repartition?: typeof rp }).repartition = rp;
    const wms: Record<number, Array<number | null>> = {};
    for (const p of Object.keys(tasks).map(Number)) wms[p] = this.member.watermarksOf(p);
    (meta as CheckpointContent & { taskWatermarks?: typeof wms }).taskWatermarks = wms;
  }

  flushes(): Array<Promise<void>> {
    return this.member.repartitions.map((r) => r.writer.flush());
  }

  /** After the sinks acked: the snapshot's state changes go to the changelogs. */
  prepared(prepared: PreparedCheckpoint, meta: CheckpointContent): () => Promise<void> {
    if (this.member.statefulSteps.length === 0) return async () => {};
    const generation = this.member.generation;
    const tasks = Object.keys(meta.tasks ?? {}).map(Number).filter((p) => this.member.ownedPartitions().includes(p));
    const epochs = new Map(tasks.map((p) => [p, this.epochs.get(p) ?? generation]));
    return async () => {
      // Built here, after the sinks acked, not at the snapshot instant: the run loop goes on meanwhile.
      const changes = prepared.changes();
      await Promise.all(
        tasks.map(async (p) => {
          const list: StateChange[] = changes.get(p) ?? [];
          if (list.length === 0) return;
          const position = JSON.stringify(Object.fromEntries(this.member.kafkaSources.map((s) => [s.id, meta.sources[s.id]?.[p]?.position ?? null])));
          const written = await this.member.changelog.write(p, list, { generation: epochs.get(p)!, position });
          const ends = this.ends.get(p);
          if (ends) for (const [step, end] of written) ends.set(step, end);
        }),
      );
    };
  }

  /** The state batch is durable: commit offsets + metadata; the group commit makes the checkpoint count. */
  async written(meta: CheckpointContent): Promise<void> {
    const tasks = meta.tasks ?? {};
    const owned = new Set(this.member.ownedPartitions());
    const offsets: Array<{ topic: string; partition: number; offset: bigint; metadata: string }> = [];
    const ext = meta as CheckpointContent & { repartition?: Record<string, Record<number, string>>; taskWatermarks?: Record<number, Array<number | null>>; generation?: number };
    for (const [ps, id] of Object.entries(tasks)) {
      const p = Number(ps);
      if (!owned.has(p) || id.split('-')[0] !== this.memberTag) continue;
      const ends = this.ends.get(p) ?? new Map<string, bigint>();
      const commit: TaskCommit = {
        v: 1,
        c: id,
        g: this.epochs.get(p) ?? ext.generation ?? -1,
        e: Object.fromEntries([...ends].map(([k, v]) => [k, v.toString()])),
        t: Object.fromEntries(this.member.kafkaSources.map((s) => [s.id, meta.sources[s.id]?.[p]?.maxTime ?? -Infinity]).filter(([, t]) => Number.isFinite(t as number))),
        w: ext.taskWatermarks?.[p] ?? null,
      };
      this.member.kafkaSources.forEach((s, i) => {
        const progress = meta.sources[s.id]?.[p];
        if (!progress) return;
        offsets.push({ topic: this.member.topicOf(s), partition: p, offset: BigInt(progress.position), metadata: i === 0 ? JSON.stringify(commit) : '' });
      });
      for (const r of this.member.repartitions) {
        const progress = meta.sources[r.runtime.id]?.[p];
        const token = ext.repartition?.[r.stepId]?.[p];
        if (progress) offsets.push({ topic: r.input.topic, partition: p, offset: BigInt(progress.position), metadata: token ?? '' });
      }
      this.localTasks[p] = id;
    }
    if (offsets.length === 0) return;
    try {
      await this.member.commit(offsets);
    } catch (err) {
      const rebalance = (err as { rebalance?: boolean }).rebalance === true;
      if (!rebalance) throw err;
      this.member.log.warn('offset commit refused (the group rebalanced): this checkpoint does not count; the tasks resume from the previous one', { error: errorMessage(err) });
    }
  }

}

export function parseCommit(metadata: string | undefined): TaskCommit | undefined {
  if (!metadata) return undefined;
  try {
    const m = JSON.parse(metadata) as TaskCommit;
    return m && m.v === 1 && typeof m.c === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}

