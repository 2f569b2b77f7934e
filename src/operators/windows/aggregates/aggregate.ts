/**
 * The accumulator contract. Accumulators are plain mutable data (they live by the hundred
 * thousand in the state cache); the operations are one stateless object per aggregate.
 *
 * A record's argument goes through prepare() first, for every aggregate, before any state is
 * touched: a bad value throws TRIB_RECORD_INVALID (the runtime dead-letters the record) and no
 * accumulator is left half-updated.
 */
import type { Value } from '../../../core/record.js';
import type { ByteReader, ByteSink } from '../../../state/codec/bytes.js';
import type { AggregateFn } from '../types.js';

/**
 * How a sliding range of slices keeps this aggregate's window value (see range-tracker.ts):
 * running = invertible totals; deque = monotonic deque of slice extremes; oldest = value of
 * the oldest non-empty slice; distinct = exact multiset, HyperLogLog beyond the limit.
 */
export type TrackStrategy = 'running' | 'deque' | 'oldest' | 'distinct';

export interface Aggregate<A, P> {
  /** Output field name. */
  readonly name: string;
  readonly fn: AggregateFn;
  readonly strategy: TrackStrategy;
  /** Normalises a record's argument; null = ignored. Throws TRIB_RECORD_INVALID. Pure. */
  prepare(value: Value): P | null;
  create(): A;
  /**
   * Adds a prepared value; returns whether the accumulator changed. Never throws.
   * `order`: the record's deterministic position (derived from its source position, see
   * WindowedAggregation.onRecord); `seq`: its per-key arrival number. first/last break event-time
   * ties by order, then seq; latest uses seq alone.
   */
  add(acc: A, value: P, time: number, order: number, seq: number): boolean;
  merge(into: A, other: A): void;
  /** Inverse of merge; only for strategy 'running'. */
  subtract(from: A, other: A): void;
  result(acc: A): Value;
  /**
   * Optional shortcut: result() of the merge of `list[j][index]` over j (a key's few inline
   * slices), without building the merged accumulator. Must equal that result exactly.
   */
  resultOver?(list: readonly (readonly unknown[])[], index: number): Value;
  isEmpty(acc: A): boolean;
  clone(acc: A): A;
  /** strategy 'deque': > 0 when a's value would win over b's (both non-empty). */
  prefer(a: A, b: A): number;
  encode(w: ByteSink, acc: A): void;
  decode(r: ByteReader): A;
}

/** The erased form the window engines hold (method parameters are bivariant, so any Aggregate fits). */
export type AnyAggregate = Aggregate<unknown, unknown>;

export interface AggregateOptions {
  distinctExactLimit: number;
  hllPrecision: number;
}
