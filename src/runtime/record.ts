/**
 * The record model shared by sources, operators and sinks.
 * Records are plain JSON-like rows; time is epoch milliseconds (event time).
 */
export type Scalar = string | number | boolean | null;
export type Value = Scalar | Value[] | { [field: string]: Value };
export type Row = { [field: string]: Value };

/** Where a record came from: enough to find it again (DLQ, late output, logs). */
export interface Origin {
  source: string;
  partition: number;
  /** Offset within the partition: Kafka offset, file byte offset, generator sequence number. */
  offset: number;
}

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
