/**
 * The record model shared by sources, operators and sinks.
 * Records are plain JSON-like rows; time is epoch milliseconds (event time).
 */
export type Scalar = string | number | boolean | null;
export type Value = Scalar | Value[] | { [field: string]: Value };
export type Row = { [field: string]: Value };

/**
 * Where a record came from: enough to find it again (DLQ, late output, logs). A row an operator
 * derives from one input carries that input's origin. A row a timer emitted (a window result
 * fired by the watermark) has no single input: its origin is the step's, `{source: <step id>,
 * partition: <task partition>, offset: TIMER_OFFSET}`.
 */
export interface Origin {
  source: string;
  partition: number;
  /** Offset within the partition: Kafka offset, file byte offset, generator sequence number; TIMER_OFFSET for timer output. */
  offset: number;
}

/** The offset of a timer's output: no source position is negative. */
export const TIMER_OFFSET = -1;

export interface StreamRecord {
  value: Row;
  /** Set by keyBy; null before any keyBy (or a null key, which is dead-lettered by keyBy). */
  key: Value;
  /** Event time, epoch ms. */
  timestamp: number;
  origin: Origin;
}

/** Why a record went to a side output. Written as fields of the side-output row. */
export interface SideOutputReason {
  reason: string;
  step: string;
  origin: Origin;
}

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
