/**
 * The consumer-group implementation of InputOwnership (runtime/input-ownership.ts), Kafka
 * Streams' deployment model: the worker joins the consumer group `<app>`; a task partition is
 * partition number p of every input topic (the co-partitioning assignor keeps them together).
 * The group's assignments and revocations drive the TaskManager; on assign, this restores a
 * task's state from its changelogs and its positions from the committed offsets.
 *
 * Checkpoints: the group member's steps (changelogs, the group commit) are runtime/group-commit.ts.
 * The group commit is the commit point. On assign, a task whose local checkpoint id equals the
 * committed one starts at once; otherwise its local state is wiped and the changelogs are
 * replayed up to the committed end offsets (records past them belong to a checkpoint that never
 * committed), skipping writes of older generations after a newer one fenced the partition.
 */
import type { TopologyPlan, PlannedSource } from '../topology/plan.js';
import type { Engine, EngineOptions, CheckpointContent, StartOverride } from './engine.js';
import type { KafkaInputSource, RawRecord } from '../connectors/types.js';
import type { KafkaClient, KafkaProducer, TopicPartition } from '../kafka/client.js';
import { KafkaGroupInput } from '../kafka/group-input.js';
import { createKafkaClient } from '../kafka/create-client.js';
import { ensureInternalTopics } from '../kafka/internal-topics.js';
import { appInternalTopics } from './app-topics.js';
import { ChangelogWriter } from '../state/changelog.js';
import { TaskRestorer, type TaskStatus } from './task-restore.js';
import { waitForTopics } from '../kafka/wait-for-topics.js';
import { RepartitionInput, RepartitionWriter, repartitionTopic } from './repartition.js';
import { resetApplication } from './app-reset.js';
import { SourceRuntime } from './source-runtime.js';
import { isStateful } from './graph.js';
import type { WatermarkHooks } from './watermarks.js';
import type { InputOwnership, TaskOwner } from './input-ownership.js';
import { GroupCommit, parseCommit, type GroupRepartition } from './group-commit.js';
import type { CheckpointHooks } from './checkpointer.js';
import { errorMessage, TributaryError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';

export type { TaskStatus } from './task-restore.js';

export class KafkaTasks implements InputOwnership {
  readonly routesInMemory = false;
  readonly appId: string;
  readonly partitions: number;
  private readonly kafkaSources: SourceRuntime[];
  /** Per repartitioning keyBy: its writer, its topic's input, and the sub-topology that reads it. */
  private readonly repartitions: GroupRepartition[] = [];
  private readonly statefulSteps: string[];
  private readonly input: KafkaGroupInput;
  private changelog!: ChangelogWriter;
  private restorer!: TaskRestorer;
  private producer!: KafkaProducer;
  /** Changelog end offsets per task and step, as far as this worker knows. */
  private readonly ends = new Map<number, Map<string, bigint>>();
  private readonly status = new Map<number, TaskStatus>();
  /** The checkpoint steps of this group member (changelogs, the group commit). */
  private commits!: GroupCommit;

  private constructor(
    private readonly engine: Engine,
    private readonly plan: TopologyPlan,
    private readonly options: EngineOptions,
    private readonly client: KafkaClient,
    partitions: number,
  ) {
    this.appId = options.appId ?? plan.name;
    this.partitions = partitions;
    this.kafkaSources = engine.sources.filter((s) => s.source.asKafkaInput !== undefined);
    this.statefulSteps = plan.steps.filter(isStateful).map((s) => s.id);
    const first = kafkaInput(this.kafkaSources[0]!);
    this.input = new KafkaGroupInput(client, this.appId, { sessionTimeoutMs: first.sessionTimeoutMs, logger: engine.log.child({ component: 'group' }) });
  }

  static async create(engine: Engine, plan: TopologyPlan, options: EngineOptions): Promise<KafkaTasks> {
    const sources = engine.sources.filter((s) => s.source.asKafkaInput !== undefined);
    if (sources.length !== engine.sources.length) {
      throw new TributaryError('TRIB_TOPOLOGY_INVALID', 'a topology that reads Kafka must read only Kafka: its tasks are Kafka partitions (put other inputs into a topic first)');
    }
    const first = kafkaInput(sources[0]!);
    for (const s of sources) {
      const k = kafkaInput(s);
      if (k.brokers.join(',') !== first.brokers.join(',')) {
        throw new TributaryError('TRIB_TOPOLOGY_INVALID', `kafka sources '${sources[0]!.id}' and '${s.id}' must use the same brokers (one consumer group per worker)`);
      }
    }
    const appId = options.appId ?? plan.name;
    const client = await createKafkaClient({ brokers: [...first.brokers], clientId: first.clientId ?? `tributary-${appId}`, log: engine.log.child({ component: 'kafka' }) });
    await client.connect();
    try {
      // The local disk is only a cache here (the state backend wiped it already): the state
      // lives in the group's commits and the changelog topics.
      if (options.resetState) await resetApplication(client.admin, appId, engine.log.child({ component: 'reset' }));
      const topics = sources.map((s) => kafkaInput(s).topic);
      const counts = await waitForTopics(client, topics, engine.log);
      let n: number | undefined;
      for (const t of topics) {
        const c = counts.get(t)!;
        if (n !== undefined && c !== n) {
          throw new TributaryError('TRIB_TOPOLOGY_INVALID', `kafka topics ${topics.join(', ')} have different partition counts (${topics.map((x) => counts.get(x)).join(', ')}): a task is one partition number of every input, so they must match`);
        }
        n = c;
      }
      const tasks = new KafkaTasks(engine, plan, options, client, n!);
      await tasks.prepareTopics();
      return tasks;
    } catch (err) {
      await client.disconnect().catch(() => undefined);
      throw err;
    }
  }

  /** keyBy steps whose records go through a repartition topic (the plan decides: topology/partitioning.ts). */
  private repartitioningSteps(): string[] {
    return this.plan.steps.filter((s) => s.repartition === true).map((s) => s.id);
  }

  private async prepareTopics(): Promise<void> {
    await ensureInternalTopics(this.client.admin, appInternalTopics(this.plan, this.appId, this.partitions, this.repartitioningSteps(), this.statefulSteps), this.plan.kafka?.internalTopics, { log: this.engine.log.child({ component: 'internal-topics' }) });
    this.producer = await this.client.producer();
    this.changelog = new ChangelogWriter(this.producer, this.appId);
    const self = this;
    this.commits = new GroupCommit({
      get generation() {
        return self.input.generation;
      },
      kafkaSources: this.kafkaSources,
      repartitions: this.repartitions,
      statefulSteps: this.statefulSteps,
      changelog: this.changelog,
      log: this.engine.log,
      ownedPartitions: () => this.engine.ownedPartitions(),
      watermarksOf: (p) => this.engine.tasks.watermarksOf(p),
      topicOf: (s) => kafkaInput(s).topic,
      commit: (offsets) => this.input.group.commit(offsets),
    });
  }

  /** Wire repartition edges into the graph and join the group: its assignments open tasks through `owner`. */
  async start(owner: TaskOwner, checkpoint: CheckpointContent | undefined, signal: AbortSignal): Promise<void> {
    const graph = this.engine.graph;
    this.restorer = new TaskRestorer(this.client, this.engine.stateBackend, this.changelog, this.appId, this.statefulSteps);
    this.commits.localTasks = { ...(checkpoint?.tasks ?? {}) };
    this.engine.tasks.processRepartitioned = (src, p, raw, now) => this.processRepartitioned(src, p, raw, now);
    const first = this.kafkaSources[0]!;
    for (const stepId of this.repartitioningSteps()) {
      const nodeIndex = graph.byId.get(stepId)!;
      const node = graph.nodes[nodeIndex]!;
      const topic = repartitionTopic(this.appId, stepId);
      const writer = new RepartitionWriter(stepId, topic, this.producer, this.partitions);
      node.repartition = writer;
      const input = new RepartitionInput(stepId, topic, this.partitions);
      const planned: PlannedSource = {
        id: `${stepId}.repartition`,
        connector: 'kafka',
        config: {},
        format: 'json',
        eventTime: { field: undefined, maxOutOfOrdernessMs: 0, idleTimeoutMs: first.plan.eventTime.idleTimeoutMs },
        location: first.plan.location,
      };
      const source = kafkaInput(first).forTopic(planned.id, topic);
      const runtime = new SourceRuntime(planned, source);
      runtime.repartition = input;
      runtime.nodeIndex = nodeIndex;
      this.engine.sources.push(runtime);
      const reader = graph.subTopologies.find((s) => s.keyBy === nodeIndex)!.index;
      this.repartitions.push({ stepId, writer, input, runtime, nodeIndex, reader });
    }
    const inputs = this.allInputs();
    for (const s of inputs) {
      kafkaInput(s).attach(this.input, this.partitions);
      this.input.addTopic(kafkaInput(s).topic);
    }
    for (const s of inputs) await s.source.open({ logger: this.engine.log.child({ source: s.id }), signal });
    await this.input.start({
      assigned: async (tps, generation) => {
        this.engine.log.info('group assignment', { generation, tasks: numbers(tps) });
        await owner.assign(numbers(tps), generation);
        this.rejoining = false;
      },
      revoked: async (tps) => {
        const ps = numbers(tps);
        this.rejoining = !this.leaving;
        if (ps.length === 0) return;
        await owner.revoke(ps, {
          checkpoint: this.checkpointOnClose,
          checkpointFailed: (err) => this.engine.log.warn('checkpoint before revoke failed; the next owner resumes from the previous one', { error: errorMessage(err) }),
        });
      },
      lost: async (tps) => {
        this.rejoining = !this.leaving;
        await owner.lost(numbers(tps));
      },
    });
  }

  /** Set by close(): the revoke that follows is the worker leaving the group. */
  private leaving = false;
  /** Cleared when the worker leaves the group without checkpointing (close(false)). */
  private checkpointOnClose = true;
  /** Between a revoke (or a loss) and the next assignment: the member is rejoining. */
  private rejoining = false;

  /** Task partition p closed: what this worker knew of it is the next owner's business. */
  released(p: number): void {
    for (const r of this.repartitions) r.writer.forget(p);
    this.status.delete(p);
    this.commits.ends.delete(p);
    this.commits.epochs.delete(p);
  }

  private allInputs(): SourceRuntime[] {
    return [...this.kafkaSources, ...this.repartitions.map((r) => r.runtime)];
  }

  /** Restore task partition p to the group's committed checkpoint (state, positions); its watermarks. */
  async restore(p: number, generation: number): Promise<Array<number | null> | number | null> {
    const log = this.engine.log.child({ task: p });
    const group = this.input.group;
    const inputs = this.allInputs();
    const tps = inputs.map((s) => ({ topic: kafkaInput(s).topic, partition: p }));
    const committed = await group.committed(tps);
    const byTopic = new Map(committed.map((c) => [c.topic, c]));
    const primary = byTopic.get(kafkaInput(this.kafkaSources[0]!).topic);
    const meta = parseCommit(primary?.metadata);
    const status: TaskStatus = { partition: p, state: 'restoring', restored: 0, toRestore: 0 };
    this.status.set(p, status);
    const ends = new Map<string, bigint>();
    for (const [step, end] of Object.entries(meta?.e ?? {})) ends.set(step, BigInt(end));

    const restored = await this.restorer.restore({
      partition: p,
      generation,
      committed: meta === undefined ? undefined : { id: meta.c, ends, epoch: typeof meta.g === 'number' ? meta.g : -1 },
      localId: this.commits.localTasks[p],
      status,
      log,
    });
    if (this.commits.localTasks[p] !== meta?.c) delete this.commits.localTasks[p];
    this.commits.ends.set(p, restored.ends);
    this.commits.epochs.set(p, restored.epoch);

    // Positions: committed offsets, else the replay start, else the source's autoOffsetReset.
    for (const src of this.kafkaSources) {
      const k = kafkaInput(src);
      const c = byTopic.get(k.topic);
      const position = c?.offset !== null && c?.offset !== undefined && k.startFrom === 'committed' ? c.offset : await this.startOffset(k, p);
      src.restore(p, { position: Number(position), maxTime: meta?.t?.[src.id] ?? -Infinity });
    }
    for (const r of this.repartitions) {
      const c = byTopic.get(r.input.topic);
      r.input.restore(p, c?.metadata || undefined);
      const position = c?.offset ?? (await this.earliest(r.input.topic, p));
      r.runtime.restore(p, { position: Number(position), maxTime: -Infinity });
    }
    status.state = 'running';
    log.info('task assigned', { generation, restored: status.restored });
    return meta?.w ?? null;
  }

  private async earliest(topic: string, p: number): Promise<bigint> {
    const offs = await this.client.admin.listOffsets(topic);
    return offs.find((o) => o.partition === p)?.earliest ?? 0n;
  }

  private async startOffset(k: KafkaInputSource, p: number): Promise<bigint> {
    const o: StartOverride | undefined = this.options.startOverride;
    const kind = o?.kind ?? (k.startFrom === 'committed' ? k.autoOffsetReset : k.startFrom);
    if (o?.kind === 'timestamp') {
      const at = await this.client.admin.offsetsForTimes(k.topic, o.at);
      return at.find((x) => x.partition === p)?.offset ?? 0n;
    }
    if (o?.kind === 'offsets') {
      const given = o.offsets.find((x) => x.topic === k.topic && x.partition === p);
      if (given) return given.offset;
    }
    const offs = await this.client.admin.listOffsets(k.topic);
    const found = offs.find((x) => x.partition === p);
    return kind === 'latest' ? (found?.latest ?? 0n) : (found?.earliest ?? 0n);
  }

  /**
   * Kafka mode's part of the task watermarks (runtime/watermarks.ts): a sub-topology that reads a
   * repartition topic learns its upstream tasks' watermarks from it, and a task that repartitions
   * marks its progress into the topic for its readers.
   */
  watermarkHooks(): Pick<WatermarkHooks, 'upstream' | 'mark'> {
    return {
      upstream: (sub, p) => this.repartitions.find((r) => r.reader === sub)?.input.watermark(p),
      mark: (sub, p, watermark, idle, now) => {
        for (const r of this.repartitions) if (this.engine.graph.nodes[r.nodeIndex]!.subTopology === sub) r.writer.mark(p, watermark, idle, now);
      },
    };
  }

  /** A repartition record reaches the keyBy's children in task p (or is a marker, or a duplicate). */
  processRepartitioned(src: SourceRuntime, p: number, raw: RawRecord, now: number): void {
    const r = this.repartitions.find((x) => x.runtime === src)!;
    const d = r.input.accept(p, raw.headers, raw.value);
    src.advance(p, raw, undefined, now);
    if (d.kind === 'duplicate') {
      this.engine.counters.add('repartitionDuplicates');
      return;
    }
    // Upstream watermarks this record (or marker) carried apply before the record, as they did upstream.
    this.engine.tasks.marks.upstreamProgress(r.reader, p, now);
    if (d.kind === 'marker') return;
    const origin = { source: src.id, partition: p, offset: raw.offset };
    if (d.kind === 'bad') {
      this.engine.counters.add('deadLettered');
      this.engine.log.warn('bad repartition record skipped', { reason: d.reason, ...origin });
      return;
    }
    const record: StreamRecord = { value: d.row, key: d.key, timestamp: raw.timestamp, origin };
    const node = this.engine.graph.nodes[r.nodeIndex]!;
    this.engine.tasks.fanOut(node.children, node.sinks, record, p);
  }

  /** Set while a repartition writer holds too many unacknowledged records: the run loop waits on it. */
  backpressure(): Promise<void> | undefined {
    for (const r of this.repartitions) if (r.writer.backpressure) return r.writer.backpressure;
    return undefined;
  }

  /** The checkpoint steps of a group member: changelogs before the state batch, the group commit after it. */
  get checkpointHooks(): CheckpointHooks<CheckpointContent> {
    return this.commits;
  }

  /** Readiness: every assigned task is restored. */
  tasks(): TaskStatus[] {
    return [...this.status.values()].sort((a, b) => a.partition - b.partition);
  }

  /** Every assigned task restored and running, and no rebalance under way. */
  get ready(): boolean {
    return !this.rejoining && [...this.status.values()].every((s) => s.state === 'running');
  }

  /** Per task partition and input topic: end offset − next position (consumer lag). */
  async lag(): Promise<Array<{ topic: string; partition: number; lag: number }>> {
    const out: Array<{ topic: string; partition: number; lag: number }> = [];
    for (const src of this.kafkaSources) {
      const k = kafkaInput(src);
      const offs = await this.client.admin.listOffsets(k.topic);
      for (const p of this.engine.ownedPartitions()) {
        const end = offs.find((o) => o.partition === p)?.latest ?? 0n;
        out.push({ topic: k.topic, partition: p, lag: Math.max(0, Number(end) - src.tracker(p).position) });
      }
    }
    return out;
  }

  async close(checkpoint: boolean): Promise<void> {
    this.leaving = true;
    this.checkpointOnClose = checkpoint;
    await this.input.close();
    await this.client.disconnect();
  }
}

function numbers(tps: TopicPartition[]): number[] {
  return [...new Set(tps.map((t) => t.partition))].sort((a, b) => a - b);
}

const kafkaInputs = new WeakMap<SourceRuntime, KafkaInputSource>();

/** The Kafka side of a source runtime (its connector's asKafkaInput capability), looked up once. */
export function kafkaInput(src: SourceRuntime): KafkaInputSource {
  let k = kafkaInputs.get(src);
  if (k === undefined) {
    k = src.source.asKafkaInput?.();
    if (k === undefined) throw new TributaryError('TRIB_INTERNAL', `source '${src.id}' is not a Kafka input`);
    kafkaInputs.set(src, k);
  }
  return k;
}
