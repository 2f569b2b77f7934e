/**
 * Kafka mode of the engine (Kafka Streams' deployment model): the worker joins the consumer
 * group `<app>`; a task is one partition number p of every input topic (the co-partitioning
 * assignor keeps them together). On assign, a task's state is restored from its changelogs and
 * it resumes at the committed offsets; on revoke it is checkpointed and closed.
 *
 * A checkpoint (DESIGN.md "Checkpoints and recovery"), per task:
 *   1. sinks and repartition producers flush and are acknowledged;
 *   2. the task's dirty state goes to `<app>.<step>.changelog` partition p (tagged with the
 *      writer's generation and source position), acknowledged;
 *   3. state + positions + checkpoint ids in ONE LevelDB batch;
 *   4. source offsets are committed to the group, with metadata naming the checkpoint, the
 *      changelog end offsets it covers, the inputs' max event times and repartition dedupe state.
 * The group commit is the commit point. On assign, a task whose local checkpoint id equals the
 * committed one starts at once; otherwise its local state is wiped and the changelogs are
 * replayed up to the committed end offsets (records past them belong to a checkpoint that never
 * committed), skipping writes of older generations after a newer one fenced the partition.
 */
import { randomBytes } from 'node:crypto';
import type { TopologyPlan, PlannedSource } from '../topology/plan.js';
import type { Engine, EngineOptions, CheckpointContent, StartOverride } from './engine.js';
import type { Graph } from './graph.js';
import type { RawRecord } from '../connectors/types.js';
import type { KafkaClient, KafkaProducer, TopicPartition } from '../kafka/client.js';
import type { PreparedCheckpoint, StateChange } from '../state/backend.js';
import { KafkaSource } from '../connectors/kafka/source.js';
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
import { errorMessage, TributaryError } from '../core/errors.js';
import type { StreamRecord } from '../core/record.js';

/** What the group commit's metadata holds for a task (on its first source topic's partition). */
interface TaskCommit {
  v: 1;
  /** Checkpoint id: equal to the local one = local state is exactly the committed checkpoint. */
  c: string;
  g: number;
  /** Changelog end offsets per step (decimal strings). */
  e: Record<string, string>;
  /** Max event time per source id. */
  t: Record<string, number>;
  /** The task's watermarks, one per sub-topology (older commits: one for all). */
  w: Array<number | null> | number | null;
}

export type { TaskStatus } from './task-restore.js';

export class KafkaTasks {
  readonly appId: string;
  readonly partitions: number;
  private readonly kafkaSources: SourceRuntime[];
  private readonly repartitions: Array<{ stepId: string; writer: RepartitionWriter; input: RepartitionInput; runtime: SourceRuntime; children: number[]; nodeIndex: number }> = [];
  private readonly statefulSteps: string[];
  private readonly input: KafkaGroupInput;
  private changelog!: ChangelogWriter;
  private restorer!: TaskRestorer;
  private producer!: KafkaProducer;
  private graph!: Graph;
  /** Local checkpoint id per task (what LevelDB holds). */
  private localTasks: Record<number, string> = {};
  /** Changelog end offsets per task and step, as far as this worker knows. */
  private readonly ends = new Map<number, Map<string, bigint>>();
  private readonly status = new Map<number, TaskStatus>();
  private readonly memberTag = randomBytes(4).toString('hex');
  private seq = 0;

  private constructor(
    private readonly engine: Engine,
    private readonly plan: TopologyPlan,
    private readonly options: EngineOptions,
    private readonly client: KafkaClient,
    partitions: number,
  ) {
    this.appId = options.appId ?? plan.name;
    this.partitions = partitions;
    this.kafkaSources = engine.sources.filter((s) => s.source instanceof KafkaSource);
    this.statefulSteps = plan.steps.filter(isStateful).map((s) => s.id);
    const first = this.kafkaSources[0]!.source as KafkaSource;
    this.input = new KafkaGroupInput(client, this.appId, { sessionTimeoutMs: first.config.sessionTimeout, logger: engine.log.child({ component: 'group' }) });
  }

  static async create(engine: Engine, plan: TopologyPlan, options: EngineOptions): Promise<KafkaTasks> {
    const sources = engine.sources.filter((s) => s.source instanceof KafkaSource);
    if (sources.length !== engine.sources.length) {
      throw new TributaryError('TRIB_TOPOLOGY_INVALID', 'a topology that reads Kafka must read only Kafka: its tasks are Kafka partitions (put other inputs into a topic first)');
    }
    const first = sources[0]!.source as KafkaSource;
    for (const s of sources) {
      const k = s.source as KafkaSource;
      if (k.brokers.join(',') !== first.brokers.join(',')) {
        throw new TributaryError('TRIB_TOPOLOGY_INVALID', `kafka sources '${first.name}' and '${k.name}' must use the same brokers (one consumer group per worker)`);
      }
    }
    const appId = options.appId ?? plan.name;
    const client = await createKafkaClient({ brokers: first.brokers, clientId: first.config.clientId ?? `tributary-${appId}`, log: engine.log.child({ component: 'kafka' }) });
    await client.connect();
    try {
      // The local disk is only a cache here (the state backend wiped it already): the state
      // lives in the group's commits and the changelog topics.
      if (options.resetState) await resetApplication(client.admin, appId, engine.log.child({ component: 'reset' }));
      const topics = sources.map((s) => (s.source as KafkaSource).topic);
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
  }

  /** Wire repartition edges into the graph and join the group. */
  async start(graph: Graph, checkpoint: CheckpointContent | undefined, signal: AbortSignal): Promise<void> {
    this.graph = graph;
    this.restorer = new TaskRestorer(this.client, this.engine.stateBackend, this.changelog, this.appId, this.statefulSteps);
    this.localTasks = { ...(checkpoint?.tasks ?? {}) };
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
      const source = new KafkaSource(planned.id, (first.source as KafkaSource).config, topic);
      const runtime = new SourceRuntime(planned, source);
      runtime.repartition = input;
      runtime.nodeIndex = nodeIndex;
      this.engine.sources.push(runtime);
      this.repartitions.push({ stepId, writer, input, runtime, children: node.children, nodeIndex });
    }
    const inputs = [...this.kafkaSources, ...this.repartitions.map((r) => r.runtime)];
    for (const s of inputs) {
      const k = s.source as KafkaSource;
      k.attach(this.input, this.partitions);
      this.input.addTopic(k.topic);
    }
    for (const s of inputs) await s.source.open({ logger: this.engine.log.child({ source: s.id }), signal });
    // Task changes never interleave with a periodic checkpoint (its snapshot holds the tasks'
    // cached state): each listener runs with them held, after the one in flight.
    const held = (fn: () => Promise<void>): Promise<void> => this.engine.withCheckpointsHeld(fn);
    await this.input.start({
      assigned: (tps, generation) =>
        held(async () => {
          this.engine.log.info('group assignment', { generation, tasks: numbers(tps) });
          for (const p of numbers(tps)) await this.openTask(p, generation);
          this.rejoining = false;
        }),
      revoked: (tps) =>
        held(async () => {
          const ps = numbers(tps);
          this.rejoining = !this.leaving;
          if (ps.length === 0) return;
          try {
            if (this.checkpointOnClose) await this.engine.checkpoint();
          } catch (err) {
            this.engine.log.warn('checkpoint before revoke failed; the next owner resumes from the previous one', { error: errorMessage(err) });
          }
          for (const p of ps) await this.closeTask(p);
        }),
      lost: (tps) =>
        held(async () => {
          this.rejoining = !this.leaving;
          for (const p of numbers(tps)) await this.closeTask(p);
          this.engine.log.warn('tasks lost without revoke (session timed out?); their uncheckpointed work is redone by the next owner', { partitions: numbers(tps) });
        }),
    });
  }

  /** Set by close(): the revoke that follows is the worker leaving the group. */
  private leaving = false;
  /** Cleared when the worker leaves the group without checkpointing (close(false)). */
  private checkpointOnClose = true;
  /** Between a revoke (or a loss) and the next assignment: the member is rejoining. */
  private rejoining = false;

  private async closeTask(p: number): Promise<void> {
    await this.engine.closeTask(p);
    for (const r of this.repartitions) r.writer.forget(p);
    this.status.delete(p);
    this.ends.delete(p);
  }

  private allInputs(): SourceRuntime[] {
    return [...this.kafkaSources, ...this.repartitions.map((r) => r.runtime)];
  }

  private async openTask(p: number, generation: number): Promise<void> {
    const log = this.engine.log.child({ task: p });
    const group = this.input.group;
    const inputs = this.allInputs();
    const tps = inputs.map((s) => ({ topic: (s.source as KafkaSource).topic, partition: p }));
    const committed = await group.committed(tps);
    const byTopic = new Map(committed.map((c) => [c.topic, c]));
    const primary = byTopic.get((this.kafkaSources[0]!.source as KafkaSource).topic);
    const meta = parseCommit(primary?.metadata);
    const status: TaskStatus = { partition: p, state: 'restoring', restored: 0, toRestore: 0 };
    this.status.set(p, status);
    const ends = new Map<string, bigint>();
    for (const [step, end] of Object.entries(meta?.e ?? {})) ends.set(step, BigInt(end));

    const restored = await this.restorer.restore({
      partition: p,
      generation,
      committed: meta === undefined ? undefined : { id: meta.c, ends },
      localId: this.localTasks[p],
      status,
      log,
    });
    if (this.localTasks[p] !== meta?.c) delete this.localTasks[p];
    this.ends.set(p, restored);

    // Positions: committed offsets, else the replay start, else the source's autoOffsetReset.
    for (const src of this.kafkaSources) {
      const k = src.source as KafkaSource;
      const c = byTopic.get(k.topic);
      const position = c?.offset !== null && c?.offset !== undefined && k.config.startFrom === 'committed' ? c.offset : await this.startOffset(k, p);
      src.restore(p, { position: Number(position), maxTime: meta?.t?.[src.id] ?? -Infinity });
    }
    for (const r of this.repartitions) {
      const c = byTopic.get(r.input.topic);
      r.input.restore(p, c?.metadata || undefined);
      const position = c?.offset ?? (await this.earliest(r.input.topic, p));
      r.runtime.restore(p, { position: Number(position), maxTime: -Infinity });
    }
    await this.engine.openTask(p, meta?.w ?? null);
    status.state = 'running';
    log.info('task assigned', { generation, restored: status.restored });
  }

  private async earliest(topic: string, p: number): Promise<bigint> {
    const offs = await this.client.admin.listOffsets(topic);
    return offs.find((o) => o.partition === p)?.earliest ?? 0n;
  }

  private async startOffset(k: KafkaSource, p: number): Promise<bigint> {
    const o: StartOverride | undefined = this.options.startOverride;
    const kind = o?.kind ?? (k.config.startFrom === 'committed' ? k.config.autoOffsetReset : k.config.startFrom);
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
      upstream: (sub, p) => this.repartitions.find((r) => this.graph.subTopologies[sub]!.keyBy === r.nodeIndex)?.input.watermark(p),
      mark: (sub, p, watermark, idle, now) => {
        for (const r of this.repartitions) if (this.graph.nodes[r.nodeIndex]!.subTopology === sub) r.writer.mark(p, watermark, idle, now);
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
    this.engine.taskMarks.upstreamProgress(this.readerOf(r), p, now);
    if (d.kind === 'marker') return;
    const origin = { source: src.id, partition: p, offset: raw.offset };
    if (d.kind === 'bad') {
      this.engine.counters.add('deadLettered');
      this.engine.log.warn('bad repartition record skipped', { reason: d.reason, ...origin });
      return;
    }
    const record: StreamRecord = { value: d.row, key: d.key, timestamp: raw.timestamp, origin };
    const node = this.graph.nodes[r.nodeIndex]!;
    this.engine.fanOut(node.children, node.sinks, record, p);
  }

  /** The sub-topology that reads repartition `r`. */
  private readerOf(r: { nodeIndex: number }): number {
    return this.graph.subTopologies.find((s) => s.keyBy === r.nodeIndex)!.index;
  }

  /** Checkpoint ids for the tasks in this snapshot (called synchronously at snapshot time). */
  describe(meta: CheckpointContent): void {
    const tasks: Record<number, string> = {};
    for (const p of this.engine.ownedPartitions()) tasks[p] = `${this.memberTag}-${++this.seq}`;
    meta.tasks = { ...this.localTasks, ...tasks };
    (meta as CheckpointContent & { generation?: number }).generation = this.input.generation;
    const rp: Record<string, Record<number, string>> = {};
    for (const r of this.repartitions) {
      rp[r.stepId] = {};
      for (const p of Object.keys(tasks).map(Number)) rp[r.stepId]![p] = r.input.token(p);
    }
    (meta as CheckpointContent & { repartition?: typeof rp }).repartition = rp;
    const wms: Record<number, Array<number | null>> = {};
    for (const p of Object.keys(tasks).map(Number)) wms[p] = this.engine.watermarksOf(p);
    (meta as CheckpointContent & { taskWatermarks?: typeof wms }).taskWatermarks = wms;
  }

  flushes(): Array<Promise<void>> {
    return this.repartitions.map((r) => r.writer.flush());
  }

  /** Set while a repartition writer holds too many unacknowledged records: the run loop waits on it. */
  backpressure(): Promise<void> | undefined {
    for (const r of this.repartitions) if (r.writer.backpressure) return r.writer.backpressure;
    return undefined;
  }

  /** After the sinks acked: the snapshot's state changes go to the changelogs. */
  prepared(prepared: PreparedCheckpoint, meta: CheckpointContent): () => Promise<void> {
    if (this.statefulSteps.length === 0) return async () => {};
    const changes = prepared.changes();
    const generation = this.input.generation;
    const tasks = Object.keys(meta.tasks ?? {}).map(Number).filter((p) => this.engine.ownedPartitions().includes(p));
    return async () => {
      await Promise.all(
        tasks.map(async (p) => {
          const list: StateChange[] = changes.get(p) ?? [];
          if (list.length === 0) return;
          const position = JSON.stringify(Object.fromEntries(this.kafkaSources.map((s) => [s.id, meta.sources[s.id]?.[p]?.position ?? null])));
          const written = await this.changelog.write(p, list, { generation, position });
          const ends = this.ends.get(p);
          if (ends) for (const [step, end] of written) ends.set(step, end);
        }),
      );
    };
  }

  /** The state batch is durable: commit offsets + metadata; the group commit makes the checkpoint count. */
  async written(meta: CheckpointContent): Promise<void> {
    const tasks = meta.tasks ?? {};
    const owned = new Set(this.engine.ownedPartitions());
    const offsets: Array<{ topic: string; partition: number; offset: bigint; metadata: string }> = [];
    const ext = meta as CheckpointContent & { repartition?: Record<string, Record<number, string>>; taskWatermarks?: Record<number, Array<number | null>>; generation?: number };
    for (const [ps, id] of Object.entries(tasks)) {
      const p = Number(ps);
      if (!owned.has(p) || id.split('-')[0] !== this.memberTag) continue;
      const ends = this.ends.get(p) ?? new Map<string, bigint>();
      const commit: TaskCommit = {
        v: 1,
        c: id,
        g: ext.generation ?? -1,
        e: Object.fromEntries([...ends].map(([k, v]) => [k, v.toString()])),
        t: Object.fromEntries(this.kafkaSources.map((s) => [s.id, meta.sources[s.id]?.[p]?.maxTime ?? -Infinity]).filter(([, t]) => Number.isFinite(t as number))),
        w: ext.taskWatermarks?.[p] ?? null,
      };
      this.kafkaSources.forEach((s, i) => {
        const progress = meta.sources[s.id]?.[p];
        if (!progress) return;
        offsets.push({ topic: (s.source as KafkaSource).topic, partition: p, offset: BigInt(progress.position), metadata: i === 0 ? JSON.stringify(commit) : '' });
      });
      for (const r of this.repartitions) {
        const progress = meta.sources[r.runtime.id]?.[p];
        const token = ext.repartition?.[r.stepId]?.[p];
        if (progress) offsets.push({ topic: r.input.topic, partition: p, offset: BigInt(progress.position), metadata: token ?? '' });
      }
      this.localTasks[p] = id;
    }
    if (offsets.length === 0) return;
    try {
      await this.input.group.commit(offsets);
    } catch (err) {
      const rebalance = (err as { rebalance?: boolean }).rebalance === true;
      if (!rebalance) throw err;
      this.engine.log.warn('offset commit refused (the group rebalanced): this checkpoint does not count; the tasks resume from the previous one', { error: errorMessage(err) });
    }
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
      const k = src.source as KafkaSource;
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

function parseCommit(metadata: string | undefined): TaskCommit | undefined {
  if (!metadata) return undefined;
  try {
    const m = JSON.parse(metadata) as TaskCommit;
    return m && m.v === 1 && typeof m.c === 'string' ? m : undefined;
  } catch {
    return undefined;
  }
}
