/**
 * The internal topics of an application — changelogs `<app>.<step>.changelog`, repartition
 * topics `<app>.<step>.repartition` and the topology's dead-letter topic — created with
 * production defaults, and existing ones validated before a worker starts (the model: Kafka
 * Streams' InternalTopicManager, which refuses to start on a mismatched internal topic rather than
 * silently using it).
 *
 * Defaults (each overridable per topology, `spec.kafka.internalTopics`):
 *   replication factor  min(3, brokers in the cluster): 3 in production, 1 on a one-broker dev
 *                       cluster (a broker refuses a factor above its broker count);
 *   min.insync.replicas 2 when the factor is 3 or more (an acks=all write survives one broker
 *                       down and is on two brokers), else 1;
 *   changelog           cleanup.policy=compact (the latest value per key is the state);
 *   repartition         cleanup.policy=delete, retention.ms -1 (as Kafka Streams): a repartition
 *                       record carries its event time as its timestamp, and a backfill or replay
 *                       over history writes timestamps weeks old, which a time retention would
 *                       delete before the downstream task reads them. Kafka Streams purges
 *                       repartition records once their offsets are committed (DeleteRecords);
 *                       Tributary does not purge yet, so these topics grow until a topology sets
 *                       `retention` (which must then exceed the age of the oldest event time read);
 *   dlq                 cleanup.policy=delete (a compacted topic refuses the key-less dead
 *                       letters and would drop same-key ones), retention as the broker's default.
 *
 * Validation of an existing topic (a mismatch refuses the start, naming topic, expected, found):
 *   changelog, repartition  partition count = the input topics' (tasks are partition numbers);
 *   changelog               cleanup.policy exactly compact (with delete, retention would drop state);
 *   repartition, dlq        cleanup.policy delete without compact (compaction drops records).
 * The replication factor of an existing topic is not changed nor refused (Kafka Streams neither).
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage, TributaryError } from '../core/errors.js';
import type { ClientLog, CreateTopicSpec, KafkaAdmin, TopicDescription } from './client.js';

export type InternalTopicKind = 'changelog' | 'repartition' | 'dlq';

/** One kind's settings in `spec.kafka.internalTopics`. */
export interface InternalTopicKindConfig {
  replicationFactor?: number | undefined;
  /** retention.ms (repartition and dlq). */
  retention?: number | undefined;
  /** Further topic configs (min.insync.replicas, segment.bytes, ...); cleanup.policy is fixed per kind. */
  configs?: Record<string, string> | undefined;
}

/** `spec.kafka.internalTopics` of a topology. */
export interface InternalTopicsConfig {
  /** For every kind; default min(3, brokers). */
  replicationFactor?: number | undefined;
  changelog?: InternalTopicKindConfig | undefined;
  repartition?: InternalTopicKindConfig | undefined;
  dlq?: InternalTopicKindConfig | undefined;
}

/** A topic the application needs. */
export interface InternalTopic {
  topic: string;
  kind: InternalTopicKind;
  partitions: number;
}

/** What a topic is created with. */
export interface PlannedInternalTopic extends InternalTopic {
  replicationFactor: number;
  configs: Record<string, string>;
}

export const DEFAULT_MAX_REPLICATION_FACTOR = 3;
/** -1: no time retention (see the header: record timestamps are event times). */
export const DEFAULT_REPARTITION_RETENTION_MS = -1;

const CLEANUP_POLICY: Record<InternalTopicKind, string> = { changelog: 'compact', repartition: 'delete', dlq: 'delete' };

/** The replication factor, topic configs of each topic: the policy, pure. */
export function planInternalTopics(topics: readonly InternalTopic[], config: InternalTopicsConfig = {}, brokers: number): PlannedInternalTopic[] {
  return topics.map((t) => {
    const kind = config[t.kind] ?? {};
    const replicationFactor = kind.replicationFactor ?? config.replicationFactor ?? Math.max(1, Math.min(DEFAULT_MAX_REPLICATION_FACTOR, brokers));
    const configs: Record<string, string> = { 'min.insync.replicas': String(replicationFactor >= 3 ? 2 : 1) };
    if (t.kind === 'repartition') configs['retention.ms'] = String(DEFAULT_REPARTITION_RETENTION_MS);
    if (kind.retention !== undefined && t.kind !== 'changelog') configs['retention.ms'] = String(kind.retention);
    Object.assign(configs, kind.configs ?? {});
    if (configs['cleanup.policy'] !== undefined && configs['cleanup.policy'] !== CLEANUP_POLICY[t.kind]) {
      throw new TributaryError('TRIB_USAGE', `internal topic '${t.topic}': cleanup.policy of a ${t.kind} topic is ${CLEANUP_POLICY[t.kind]}, not '${configs['cleanup.policy']}'`);
    }
    configs['cleanup.policy'] = CLEANUP_POLICY[t.kind];
    return { ...t, replicationFactor, configs };
  });
}

/** Why an existing topic cannot serve as `expected`; empty when it can. */
export function internalTopicProblems(expected: InternalTopic, found: TopicDescription): string[] {
  const problems: string[] = [];
  if (expected.kind !== 'dlq' && found.partitions !== expected.partitions) {
    problems.push(`has ${found.partitions} partitions, expected ${expected.partitions} (the input topics' partition count)`);
  }
  const policy = (found.configs['cleanup.policy'] ?? 'delete').split(',').map((p) => p.trim()).filter((p) => p.length > 0);
  const ok = expected.kind === 'changelog' ? policy.length === 1 && policy[0] === 'compact' : policy.includes('delete') && !policy.includes('compact');
  if (!ok) problems.push(`has cleanup.policy=${policy.join(',')}, expected ${CLEANUP_POLICY[expected.kind]}`);
  return problems;
}

export interface EnsureOptions {
  log?: ClientLog;
  /** How long created topics may take to appear in the cluster's metadata. Default 60 s. */
  appearTimeoutMs?: number;
}

/**
 * Creates the missing topics (planInternalTopics) and checks every existing one
 * (internalTopicProblems); throws one error naming each mismatched topic. Topics created
 * concurrently by another worker are checked too.
 */
export async function ensureInternalTopics(admin: KafkaAdmin, topics: readonly InternalTopic[], config: InternalTopicsConfig = {}, options: EnsureOptions = {}): Promise<PlannedInternalTopic[]> {
  if (topics.length === 0) return [];
  const names = topics.map((t) => t.topic);
  const brokers = await admin.brokerCount();
  const all = planInternalTopics(topics, config, brokers);
  const existing = await admin.describeTopics(names);
  check(topics, existing);
  for (const f of existing) {
    const want = all.find((t) => t.topic === f.topic)!;
    if (f.replicationFactor < want.replicationFactor) {
      options.log?.warn('internal topic has fewer replicas than the default; it is used as it is', { topic: f.topic, replicationFactor: f.replicationFactor, expected: want.replicationFactor });
    }
  }
  const have = new Set(existing.map((t) => t.topic));
  const planned = all.filter((t) => !have.has(t.topic));
  const missing: InternalTopic[] = planned;
  if (missing.length === 0) return [];
  try {
    await admin.createTopics(planned.map(toCreateSpec));
  } catch (err) {
    if (!/INVALID_REPLICATION_FACTOR/.test(errorMessage(err))) throw err;
    const rf = Math.max(...planned.map((t) => t.replicationFactor));
    throw new TributaryError(
      'TRIB_TOPOLOGY_INVALID',
      `cannot create internal topic(s) ${planned.map((t) => t.topic).join(', ')}: the target replication factor of ${rf} cannot be reached because only ${brokers} broker(s) are registered (INVALID_REPLICATION_FACTOR); set spec.kafka.internalTopics.replicationFactor to at most ${brokers}`,
      { cause: err },
    );
  }
  options.log?.info?.('internal topics created', { topics: planned.map((t) => `${t.topic} (${t.kind}, ${t.partitions} partitions, replication factor ${t.replicationFactor})`) });
  // A topic just created reaches every broker's metadata a little later on a real cluster.
  const deadline = Date.now() + (options.appearTimeoutMs ?? 60_000);
  for (let attempt = 0; ; attempt++) {
    const created = await admin.describeTopics(missing.map((t) => t.topic));
    const ready = created.filter((t) => t.partitions > 0);
    if (ready.length === missing.length) {
      check(missing, ready);
      return planned;
    }
    if (Date.now() > deadline) {
      const absent = missing.filter((t) => !ready.some((r) => r.topic === t.topic)).map((t) => t.topic);
      throw new TributaryError('TRIB_SOURCE', `internal topic(s) ${absent.join(', ')} created but not in the cluster's metadata after ${options.appearTimeoutMs ?? 60_000} ms`, { retriable: true });
    }
    await sleep(Math.min(1_000, 50 * 2 ** attempt));
  }
}

function check(expected: readonly InternalTopic[], found: readonly TopicDescription[]): void {
  const lines: string[] = [];
  for (const f of found) {
    const e = expected.find((t) => t.topic === f.topic);
    if (!e) continue;
    for (const p of internalTopicProblems(e, f)) lines.push(`internal topic '${f.topic}' (${e.kind}) ${p}`);
  }
  if (lines.length > 0) {
    throw new TributaryError(
      'TRIB_TOPOLOGY_INVALID',
      `${lines.join('; ')}. A worker does not use an internal topic it would corrupt or lose records in: delete the topic (stop every worker, then one run with --reset-state deletes the app's changelog and repartition topics) or run under a new --app-id`,
    );
  }
}

function toCreateSpec(t: PlannedInternalTopic): CreateTopicSpec {
  return { topic: t.topic, partitions: t.partitions, replicationFactor: t.replicationFactor, configs: t.configs };
}

interface SinkLike {
  from: string;
  connector: string;
  config: Readonly<Record<string, unknown>>;
}

/**
 * The dead-letter topics of a topology: the topics of its kafka sinks reading `dlq` that write to
 * the cluster the worker reads (`brokers` parsed by the caller; a DLQ on another cluster is the
 * operator's to create).
 */
export function dlqTopics(sinks: readonly SinkLike[], sameCluster: (brokers: unknown) => boolean): string[] {
  return sinks.filter((s) => s.from === 'dlq' && s.connector === 'kafka' && typeof s.config.topic === 'string' && sameCluster(s.config.brokers)).map((s) => s.config.topic as string);
}
