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
