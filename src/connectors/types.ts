import type { Origin, Row, Value } from '../runtime/record.js';
import type { Logger } from '../runtime/logger.js';

/** A record as a source hands it over, before decoding and event-time extraction. */
export interface RawRecord {
  /** Position of this record; the next position to read after it is offset + 1 (file sources: next byte offset). */
  offset: number;
  /** Next position after this record (defaults to offset + 1). File sources set the next line's byte offset. */
  next?: number;
  /** Record (ingestion/broker) time, epoch ms. */
  timestamp: number;
  key: Value | Uint8Array;
  /** A decoded row, or bytes/text still to be decoded by the source's format (json, avro). */
  value: Row | Uint8Array | string;
  /**
   * For sources whose positions are not numbers (a binlog file+pos or GTID set, a snapshot in
   * progress): an opaque JSON-able token meaning "the position after this record". The runtime
   * checkpoints it and hands it back through Source.restore(). `offset` still counts up.
   */
  token?: string;
  /** Headers of the record (Kafka), when the source has any. */
  headers?: Record<string, Uint8Array>;
}

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
  /** Records not yet read (percent-done/lag); undefined when unknown (endless sources). */
  remaining?(): number | undefined;
  close(): Promise<void>;
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
}
