/**
 * What Tributary needs from a Kafka client, and nothing more. One implementation
 * (platformatic/client.ts, over @platformatic/kafka) backs it; sources, sinks, the changelog,
 * repartitioning and the runtime use this shape and never import a client library directly.
 *
 * Offsets are bigint: Kafka offsets are int64 and a long-lived topic can pass 2^53.
 * Calls throw KafkaClientError, whose `retriable` flag says whether trying again
 * (after a backoff) can succeed: broker down, leader moving, timeouts.
 */

export type KafkaAcks = 'all' | 1;
export type KafkaCompression = 'none' | 'gzip';
export type KafkaHeaders = Record<string, Buffer>;

export interface TopicPartition {
  topic: string;
  partition: number;
}

export interface TopicPartitionOffset extends TopicPartition {
  offset: bigint;
}

export interface CreateTopicSpec {
  topic: string;
  partitions: number;
  /** Default: the broker's default.replication.factor (1 on the dev broker; production clusters set 3). */
  replicationFactor?: number;
  /** Topic configs, e.g. { 'cleanup.policy': 'compact' }. */
  configs?: Record<string, string>;
}

export interface PartitionOffsets {
  partition: number;
  /** First offset still stored (log start). */
  earliest: bigint;
  /** Next offset to be written (high watermark). */
  latest: bigint;
}

export interface PartitionMetadata {
  partition: number;
  leader: number;
  replicas: number[];
}

export interface TopicMetadata {
  topic: string;
  partitions: PartitionMetadata[];
}

/** An existing topic as the cluster describes it (internal-topics.ts validates against it). */
export interface TopicDescription {
  topic: string;
  partitions: number;
  /** Replicas of partition 0. */
  replicationFactor: number;
  /** Every topic config the broker reports (defaults included), e.g. cleanup.policy. */
  configs: Record<string, string>;
}

export interface KafkaAdmin {
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  createTopics(topics: CreateTopicSpec[]): Promise<void>;
  /** The topics among `topics` that exist, with partition count and configs; missing ones are left out. */
  describeTopics(topics: string[]): Promise<TopicDescription[]>;
  /** How many brokers the cluster has now (what a replication factor may not exceed). */
  brokerCount(): Promise<number>;
  listOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Per partition, the first offset whose timestamp is >= `timestamp` (epoch ms); the latest offset when none is. */
  offsetsForTimes(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: bigint }>>;
  fetchTopicMetadata(topics: string[]): Promise<TopicMetadata[]>;
  /** Every topic name (internal ones like __consumer_offsets left out). */
  listTopics(): Promise<string[]>;
  /** Deletes existing topics. Deletion may finish after this resolves: listTopics tells when. */
  deleteTopics(topics: string[]): Promise<void>;
  /**
   * A consumer group's state as Kafka names it: 'Empty' (commits, no members), 'Stable',
   * 'PreparingRebalance', 'CompletingRebalance' (members), 'Dead' (no such group).
   */
  groupState(groupId: string): Promise<string>;
  /** Deletes an existing group that has no members, with its committed offsets. */
  deleteGroup(groupId: string): Promise<void>;
}

const GROUP_STATES = ['Empty', 'Stable', 'PreparingRebalance', 'CompletingRebalance', 'Dead', 'Unknown'];

/** A client library's spelling of a group state ('DEAD', 'PREPARING_REBALANCE', ...) as Kafka names it. */
export function canonicalGroupState(state: string): string {
  const plain = state.replace(/_/g, '').toLowerCase();
  return GROUP_STATES.find((s) => s.toLowerCase() === plain) ?? state;
}

export interface ProduceMessage {
  key: Uint8Array | null;
  value: Uint8Array | null;
  headers?: KafkaHeaders;
  /** Omitted: the default partitioner (murmur2 of the key, as the Java client). */
  partition?: number;
  /** Record timestamp, epoch ms; omitted: the time of sending. */
  timestamp?: number;
}

export interface ProduceOptions {
  acks: KafkaAcks;
  /**
   * Headers of every message that has none of its own, encoded once per call (the changelog
   * tags all its records alike, and its changes go out as they are, with no message per record).
   */
  headers?: KafkaHeaders;
}

export interface ProducedBatch {
  topic: string;
  partition: number;
  /** Offset of the first record written to this partition by the call. */
  baseOffset: bigint;
}

export interface KafkaProducer {
  /** Resolves once every message is acknowledged as `acks` asks. */
  send(topic: string, messages: readonly ProduceMessage[], options: ProduceOptions): Promise<ProducedBatch[]>;
}

export interface ConsumedMessage {
  topic: string;
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: KafkaHeaders;
  timestamp: number;
}

export interface FetchOptions {
  /** How long the broker may hold a fetch when nothing is new. */
  maxWaitMs?: number;
  signal?: AbortSignal;
}

/** A consumer without a group: the caller says which partitions and where (replay, restore). */
export interface AssignedConsumer {
  /** Replaces the assignment; each partition starts at the given offset. */
  assign(partitions: TopicPartitionOffset[]): Promise<void>;
  seek(position: TopicPartitionOffset): void;
  /** The next messages of the assigned partitions; empty when nothing arrived within maxWaitMs. */
  fetch(options?: FetchOptions): Promise<ConsumedMessage[]>;
  close(): Promise<void>;
}

export interface CommittedOffset extends TopicPartition {
  /** The committed next offset to read; null when the group never committed this partition. */
  offset: bigint | null;
  /** The metadata string committed with it ('' when none). The runtime keeps its checkpoint tag here. */
  metadata: string;
}

export interface CommitOffset extends TopicPartitionOffset {
  metadata?: string;
}

/**
 * The runtime's hooks into group membership. A task is (topic set, partition number): the
 * co-partitioning assignor gives one member partition p of EVERY subscribed topic, so a task's
 * inputs (source topics, repartition topics) move together, as in Kafka Streams.
 */
export interface GroupRebalanceListener {
  /**
   * Partitions now owned, in generation `generation`. Runs before fetch() returns any record of
   * them; the runtime calls committed() and seek() here to set each partition's start.
   */
  assigned(partitions: TopicPartition[], generation: number): Promise<void>;
  /**
   * Partitions about to go. The member does not rejoin (so no other member can own them) until
   * this resolves: the runtime finishes in-flight work, checkpoints and closes their tasks here.
   * Also called for every owned partition by close(), before LeaveGroup.
   */
  revoked(partitions: TopicPartition[]): Promise<void>;
  /**
   * The partitions were lost without a chance to revoke (session timed out, member fenced):
   * the runtime discards their uncheckpointed work; a commit for them would be refused.
   */
  lost?(partitions: TopicPartition[]): Promise<void>;
}

export interface GroupConsumerOptions {
  groupId: string;
  /** Default 10 000 (a killed worker's partitions move after this long). */
  sessionTimeoutMs?: number;
  /** How long a rebalance waits for members to revoke and rejoin. Default 60 000. */
  rebalanceTimeoutMs?: number;
  heartbeatIntervalMs?: number;
}

/** A consumer-group member with a co-partitioning assignor (see GroupRebalanceListener). */
export interface GroupConsumer {
  /** Joins the group; resolves once the first assignment went through listener.assigned(). */
  subscribe(topics: string[], listener: GroupRebalanceListener): Promise<void>;
  /** The generation of the current assignment (-1 before the first). */
  readonly generation: number;
  /** Partitions owned now. */
  assignment(): TopicPartition[];
  /**
   * Next offset to fetch for an owned partition (overrides the committed position). A fetch()
   * already out returns no record of the partition from its old position (the group input queues
   * whatever fetch() returns).
   */
  seek(position: TopicPartitionOffset): void;
  /** The next messages of owned, unpaused partitions, in offset order per partition; empty when nothing arrived within maxWaitMs. */
  fetch(options?: FetchOptions): Promise<ConsumedMessage[]>;
  pause(partitions: TopicPartition[]): void;
  resume(partitions: TopicPartition[]): void;
  /** The group's committed offsets and metadata for these partitions. */
  committed(partitions: TopicPartition[]): Promise<CommittedOffset[]>;
  /**
   * Commits offsets (with metadata) in the current generation, all in one request. Rejects with
   * a KafkaClientError (retriable: false, rebalance: true) when the generation is gone or a
   * partition is not owned any more: the caller's checkpoint did not count.
   */
  commit(offsets: CommitOffset[]): Promise<void>;
  /** Revokes everything (listener.revoked), leaves the group, disconnects. */
  close(): Promise<void>;
}

export interface ClientLog {
  info?(msg: string, fields?: Record<string, unknown>): void;
  warn(msg: string, fields?: Record<string, unknown>): void;
  error(msg: string, fields?: Record<string, unknown>): void;
}

export interface KafkaClientOptions {
  brokers: string[];
  clientId: string;
  /** Retries inside the client for one call; callers that retry themselves keep it small. Default 2. */
  retries?: number;
  connectionTimeoutMs?: number;
  requestTimeoutMs?: number;
  /**
   * How long a call keeps retrying retriable failures (broker down, leader moving, coordinator
   * moved) before it fails (retry.ts). Default: the process default (--kafka-retry-timeout,
   * 5 minutes); 0 = no retries beyond the client's own `retries`.
   */
  retryTimeoutMs?: number;
  log?: ClientLog;
}

export interface ProducerOptions {
  compression?: KafkaCompression;
}

export interface KafkaClient {
  /** Connects the admin connection; producers and consumers connect when created. */
  connect(): Promise<void>;
  /** Disconnects everything this client created. */
  disconnect(): Promise<void>;
  readonly admin: KafkaAdmin;
  producer(options?: ProducerOptions): Promise<KafkaProducer>;
  assignedConsumer(): Promise<AssignedConsumer>;
  groupConsumer(options: GroupConsumerOptions): Promise<GroupConsumer>;
}

export class KafkaClientError extends Error {
  readonly retriable: boolean;
  /** The group moved on (rebalance, fenced member): a commit or fetch for the old assignment failed. */
  readonly rebalance: boolean;
  constructor(message: string, retriable: boolean, options: { cause?: unknown; rebalance?: boolean } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KafkaClientError';
    this.retriable = retriable;
    this.rebalance = options.rebalance ?? false;
  }
}
