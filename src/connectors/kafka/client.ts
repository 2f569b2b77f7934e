/**
 * What Tributary needs from a Kafka client, and nothing more. Backends (kafkajs first;
 * @platformatic/kafka and confluent later) implement this shape, so sources, sinks, the
 * changelog and repartitioning never import a client library directly.
 *
 * Offsets are bigint: Kafka offsets are int64 and a long-lived topic can pass 2^53.
 * Backends throw KafkaClientError, whose `retriable` flag says whether trying again
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
  /** Default 1 (the dev broker is a single node); production clusters want 3. */
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

export interface KafkaAdmin {
  /** Creates the topics that do not exist yet; existing ones are left as they are. */
  createTopics(topics: CreateTopicSpec[]): Promise<void>;
  listOffsets(topic: string): Promise<PartitionOffsets[]>;
  /** Per partition, the first offset whose timestamp is >= `timestamp` (epoch ms); the latest offset when none is. */
  offsetsForTimes(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: bigint }>>;
  fetchTopicMetadata(topics: string[]): Promise<TopicMetadata[]>;
}

export interface ProduceMessage {
  key: Buffer | null;
  value: Buffer | null;
  headers?: KafkaHeaders;
  /** Omitted: the backend's default partitioner (murmur2 of the key, as the Java client). */
  partition?: number;
  /** Record timestamp, epoch ms; omitted: the time of sending. */
  timestamp?: number;
}

export interface ProduceOptions {
  acks: KafkaAcks;
}

export interface ProducedBatch {
  topic: string;
  partition: number;
  /** Offset of the first record written to this partition by the call. */
  baseOffset: bigint;
}

export interface KafkaProducer {
  /** Resolves once every message is acknowledged as `acks` asks. */
  send(topic: string, messages: ProduceMessage[], options: ProduceOptions): Promise<ProducedBatch[]>;
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

export interface GroupRebalanceListener {
  /** Partitions now owned; return the offset to start each at (undefined: the committed one). */
  assigned(partitions: TopicPartition[]): Promise<TopicPartitionOffset[] | void>;
  /** Partitions about to go; finish and checkpoint their work before this resolves. */
  revoked(partitions: TopicPartition[]): Promise<void>;
}

/** A consumer-group member (the runtime's fleet scaling; implemented in a later increment). */
export interface GroupConsumer {
  subscribe(topics: string[], listener: GroupRebalanceListener): Promise<void>;
  fetch(options?: FetchOptions): Promise<ConsumedMessage[]>;
  commit(offsets: TopicPartitionOffset[]): Promise<void>;
  /** Leaves the group (revoked is called first). */
  close(): Promise<void>;
}

export interface ClientLog {
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
  log?: ClientLog;
}

export interface ProducerOptions {
  compression?: KafkaCompression;
}

export interface KafkaClient {
  readonly backend: string;
  /** Connects the admin connection; producers and consumers connect when created. */
  connect(): Promise<void>;
  /** Disconnects everything this client created. */
  disconnect(): Promise<void>;
  readonly admin: KafkaAdmin;
  producer(options?: ProducerOptions): Promise<KafkaProducer>;
  assignedConsumer(): Promise<AssignedConsumer>;
  groupConsumer(groupId: string): Promise<GroupConsumer>;
}

export class KafkaClientError extends Error {
  readonly retriable: boolean;
  constructor(message: string, retriable: boolean, options: { cause?: unknown } = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'KafkaClientError';
    this.retriable = retriable;
  }
}
