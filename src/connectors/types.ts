import type { Origin, RawRecord, Row, Value } from '../core/record.js';

export type { RawRecord } from '../core/record.js';
import type { Logger } from '../core/logger.js';
import type { KafkaGroupInput } from '../kafka/group-input.js';

export interface SourceBatch {
  partition: number;
  records: RawRecord[];
}

export interface SourceContext {
  logger: Logger;
  /** Aborted when the worker shuts down. */
  signal: AbortSignal;
}

export interface RebalanceListener {
  /** Called before processing records of newly assigned partitions (Kafka sources, issue 4). */
  assigned(partitions: readonly number[]): Promise<void>;
  /** Called before partitions go away: the runtime checkpoints and closes their tasks. */
  revoked(partitions: readonly number[]): Promise<void>;
}

/**
 * A partitioned, positioned input. The runtime owns positions: it seeks each partition to the
 * checkpointed position (or leaves the source's configured start) and stores positions in checkpoints.
 */
export interface Source {
  readonly name: string;
  /** Total partition count of the input (for repartitioning/parallelism). */
  readonly partitionCount: number;
  open(ctx: SourceContext, listener?: RebalanceListener): Promise<void>;
  /** Partitions assigned to this worker now. */
  assignedPartitions(): readonly number[];
  /** Set the next position to read for a partition. */
  seek(partition: number, position: number): void;
  /**
   * Resume a partition after the record whose RawRecord.token this is (sources with opaque
   * positions); called instead of seek() when the checkpoint holds a token.
   */
  restore?(partition: number, token: string): void;
  /**
   * Up to `max` records from one assigned partition. An empty batch means nothing right now;
   * `null` means a bounded source has no more records at all.
   */
  poll(max: number): Promise<SourceBatch | null>;
  /**
   * Resolves when poll() may have records, or after `ms` at the latest: the run loop waits on it
   * instead of a fixed idle sleep, so a record that arrives while the worker is idle is processed
   * at once. Sources without it are polled again after a short sleep.
   */
  waitReadable?(ms: number): Promise<void>;
  /** Records not yet read (percent-done/lag); undefined when unknown (endless sources). */
  remaining?(): number | undefined;
  close(): Promise<void>;
  /**
   * A source whose partitions a Kafka consumer group hands out (the kafka connector): the runtime
   * owns the membership and reaches the source through this capability, never its class.
   */
  asKafkaInput?(): KafkaInputSource;
}

/** What the runtime needs of a Kafka-backed source: its topic, client settings, and attaching it to the worker's group membership. */
export interface KafkaInputSource {
  readonly topic: string;
  readonly brokers: readonly string[];
  readonly clientId: string | undefined;
  readonly sessionTimeoutMs: number | undefined;
  /** Where a partition starts: the group's committed offset (else autoOffsetReset), or always earliest/latest. */
  readonly startFrom: 'committed' | 'earliest' | 'latest';
  readonly autoOffsetReset: 'earliest' | 'latest';
  /** The runtime tells the source its topic's partition count and the shared membership. */
  attach(input: KafkaGroupInput, partitionCount: number): void;
  /** Another input with the same client settings on `topic` (a repartition topic). */
  forTopic(id: string, topic: string): Source;
}

/**
 * A change-data-capture reader (`tributary cdc`): a one-partition source of change envelopes
 * whose position is an opaque token, which knows the tables it captures.
 */
export interface ChangeCaptureReader extends Source {
  restore(partition: number, token: string): void;
  /** An endless input: never null. */
  poll(max: number): Promise<SourceBatch>;
  /** `<db>.<table>` of every table the reader includes. */
  capturedTables(): Promise<string[]>;
}

/** A row on its way out. */
export interface SinkRecord {
  key: Value;
  value: Row;
  /** Event time, epoch ms: sinks use it as a version (Redis guard) or record time (Kafka). */
  timestamp: number;
  /**
   * Where the row came from (the runtime sets it; see Origin for rows a timer emitted). A sink
   * does not write it: it travels with a rejected record back through SinkContext.deadLetter, so
   * the dead letter names the input position.
   */
  origin?: Origin;
}

export interface SinkContext {
  logger: Logger;
  /**
   * Where a record the sink rejects permanently goes (the topology's DLQ). Pass the record add()
   * received (its origin names the input position). Without it the sink logs the record's reason
   * at error level: nothing is dropped silently.
   */
  deadLetter?(record: SinkRecord, reason: string): void;
  /** Called after each successful batch write (the runtime's metrics). */
  observeWrite?: SinkWriteObserver;
}

/**
 * A batch was acknowledged: how long its write took, when (ms, one monotonic clock) each of its
 * records reached the sink — in the same synchronous pass that read its input — and when the ack came.
 */
export type SinkWriteObserver = (writeSeconds: number, addedAtMs: readonly number[], ackedAtMs: number) => void;

/** What a batching sink counts (connectors/sink-base.ts); exported as metrics per sink. */
export interface SinkStats {
  /** Records written (acknowledged by the target). */
  written: number;
  /** Batches written. */
  batches: number;
  /** Write attempts retried (failures and backpressure). */
  retries: number;
  /** Records the target rejected for good (sent to the dead-letter callback). */
  failures: number;
}

/** A sink writes batches; the base class (connectors/sink-base.ts) batches, retries and flushes. */
export interface Sink {
  readonly name: string;
  open(ctx: SinkContext): Promise<void>;
  /** Buffer a record; may write a batch when the buffer is full. */
  add(record: SinkRecord): void | Promise<void>;
  /** Write everything buffered and wait until it is durable (called at every checkpoint). */
  flush(): Promise<void>;
  close(): Promise<void>;
  /** Records written so far (for the summary). */
  readonly written: number;
  /** Write counters, when the sink keeps them. */
  readonly stats?: Readonly<SinkStats>;
  /** Records buffered and not yet handed to a write, when the sink buffers. */
  readonly buffered?: number;
}
