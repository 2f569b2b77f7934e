import type { Row, Value } from '../../core/record.js';
import type { TimerService, WindowStore } from '../../state/types.js';

/** All durations are milliseconds. */
export type WindowSpec =
  | { kind: 'tumbling'; size: number }
  | { kind: 'hopping'; size: number; slide: number }
  /** The last `size` as of each event and as of now (the watermark); trailing edge exact to `resolution`. */
  | { kind: 'rolling'; size: number; resolution: number }
  | { kind: 'session'; gap: number };

export type AggregateFn =
  | 'count' | 'sum' | 'min' | 'max' | 'avg' | 'count_distinct' | 'first' | 'last' | 'latest';

export interface AggregateSpec {
  /** Output field name. */
  name: string;
  fn: AggregateFn;
  /** Argument accessor; undefined for count(). Nulls are ignored by every aggregate except count(). */
  arg?: (row: Row, time: number) => Value;
}

export type EmitMode = 'updates' | 'final';

export interface WindowedAggregationSpec {
  window: WindowSpec;
  aggregates: readonly AggregateSpec[];
  emit: EmitMode;
  allowedLateness: number;
  /** count_distinct is exact up to this many distinct values per slice/window, HyperLogLog beyond. */
  distinctExactLimit: number;
}

/** One emitted window value. */
export interface WindowResult {
  key: Value;
  /** Inclusive start, exclusive end, epoch ms. For rolling: (asOf - size, asOf] rounded to resolution. */
  windowStart: number;
  windowEnd: number;
  /** Reference time of the value: event time that caused it, or the timer time for expirations/finals. */
  asOf: number;
  /** update = changed by a record; final = window closed (emit: final); expire = rolling value decreased by time. */
  kind: 'update' | 'final' | 'expire';
  values: Row;
}

export interface WindowOutputs {
  emit(result: WindowResult): void;
  /** A record that arrived too late for every window it belongs to. */
  late(reason: string): void;
}

/** What the window operator needs from the runtime for one (step, partition). */
export interface WindowContext<H, S> {
  store: WindowStore<H, S>;
  timers: TimerService;
}
