/**
 * One small client adapter per Kafka client library, so each conformance scenario is
 * written once and run with every client (`describe.each(clientAdapters)`). Adapters use
 * each library the way its users do (its own admin, producer, consumer-group APIs); they
 * only translate to plain strings and bigints so scenarios can compare results.
 */
export interface ProducedRecord {
  key: string | null;
  /** null = tombstone. */
  value: string | null;
  partition?: number;
  /** Epoch milliseconds; the client's own clock when absent. */
  timestamp?: number;
}

export interface ConsumedRecord {
  topic: string;
  partition: number;
  offset: bigint;
  key: string | null;
  value: string | null;
  timestamp: number;
}

export interface ProduceOptions {
  acks: 0 | 1 | -1;
  compression?: 'none' | 'gzip';
  idempotent?: boolean;
}

export type StartFrom =
  | { kind: 'earliest' }
  | { kind: 'latest' }
  | { kind: 'timestamp'; timestamp: number }
  /** The group's committed offsets, earliest where none. */
  | { kind: 'committed' };

export interface ConsumeOptions {
  topic: string;
  from: StartFrom;
  /** Resolve once this many records arrived. */
  count: number;
  /** Fails after this long with the records received so far in the message. */
  timeoutMs?: number;
  /** A unique one when absent. */
  groupId?: string;
  /** Commit consumed offsets to the group (auto-commit as the library does it). */
  commit?: boolean;
  /** Runs once the consumer is positioned (group joined, start offsets resolved). */
  whenReady?: () => Promise<void>;
}

export interface GroupMemberOptions {
  topic: string;
  groupId: string;
  sessionTimeoutMs: number;
  heartbeatIntervalMs: number;
  onAssignment(partitions: number[]): void;
  onRecord(record: ConsumedRecord): void;
}

export interface KafkaTestClient {
  createTopic(topic: string, partitions: number, configs?: Record<string, string>): Promise<void>;
  deleteTopic(topic: string): Promise<void>;
  listTopics(): Promise<string[]>;
  partitionCount(topic: string): Promise<number>;
  produce(topic: string, records: ProducedRecord[], options: ProduceOptions): Promise<void>;
  consume(options: ConsumeOptions): Promise<ConsumedRecord[]>;
  /** Committed offset per partition (partitions without a commit are absent). */
  committedOffsets(groupId: string, topic: string): Promise<Map<number, bigint>>;
  /** Joins a group and consumes until stop() (which leaves the group). */
  joinGroup(options: GroupMemberOptions): Promise<{ stop(): Promise<void> }>;
  close(): Promise<void>;
}

export interface ClientAdapter {
  readonly name: string;
  connect(brokers: string[]): KafkaTestClient;
}

/** Collects until `count` records arrive, or rejects after timeoutMs listing what did arrive. */
export class Collector {
  readonly records: ConsumedRecord[] = [];
  private resolveDone: (() => void) | undefined;
  readonly done: Promise<void>;

  constructor(private readonly count: number) {
    this.done = new Promise((resolve) => { this.resolveDone = resolve; });
    if (count <= 0) this.resolveDone?.();
  }

  add(record: ConsumedRecord): void {
    if (this.records.length >= this.count) return;
    this.records.push(record);
    if (this.records.length >= this.count) this.resolveDone?.();
  }

  async wait(timeoutMs: number, what: string): Promise<ConsumedRecord[]> {
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(
        `${what}: received ${this.records.length} of ${this.count} records within ${timeoutMs} ms; ` +
        `got values ${JSON.stringify(this.records.map((r) => r.value).slice(0, 20))}`,
      )), timeoutMs);
    });
    try {
      await Promise.race([this.done, timeout]);
      return this.records;
    } finally {
      clearTimeout(timer);
    }
  }
}

/** Races a promise against a deadline so a broker that never answers fails the test with a reason. */
export async function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => { timer = setTimeout(() => reject(new Error(`${what}: no result within ${ms} ms`)), ms); });
  try {
    return await Promise.race([p, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
