/**
 * The aggregates of one window step, applied together: a slice (or session) is one accumulator
 * per aggregate, in spec order.
 *
 * Hot path: prepare() and add() return arrays owned by the set and overwritten by the next call
 * (one record is handled at a time, synchronously), so a record costs no per-aggregate arrays.
 */
import type { Row, Value } from '../../core/record.js';
import type { AnyAggregate } from './aggregates/aggregate.js';
import { DEFAULT_HLL_PRECISION } from './aggregates/hyperloglog.js';
import { createAggregate } from './aggregates/registry.js';
import { createTracker, type AnyTracker, type SliceRange } from './range-tracker.js';
import type { AggregateSpec } from './types.js';

/** One accumulator per aggregate. */
export type Accumulators = unknown[];

export class AggregateSet {
  readonly aggs: readonly AnyAggregate[];
  readonly trackers: readonly AnyTracker[];
  private readonly names: readonly string[];
  private readonly args: ReadonlyArray<((row: Row, time: number) => Value) | undefined>;
  private readonly prepared: unknown[];
  private readonly changed: boolean[];

  constructor(specs: readonly AggregateSpec[], distinctExactLimit: number, hllPrecision = DEFAULT_HLL_PRECISION) {
    const opts = { distinctExactLimit, hllPrecision };
    this.aggs = specs.map((s) => createAggregate(s.fn, s.name, opts));
    this.trackers = this.aggs.map((a) => createTracker(a, opts));
    this.names = specs.map((s) => s.name);
    this.args = specs.map((s) => s.arg);
    this.prepared = specs.map(() => null);
    this.changed = specs.map(() => false);
  }

  /**
   * Evaluates and validates every argument before any state changes (throws TRIB_RECORD_INVALID
   * or the expression's error). null = ignored by that aggregate. The array is reused by the next call.
   */
  prepare(row: Row, time: number): readonly unknown[] {
    const out = this.prepared;
    for (let i = 0; i < out.length; i++) {
      const arg = this.args[i];
      // count() without an argument counts rows: any non-null stands for the row.
      out[i] = this.aggs[i]!.prepare(arg ? (arg(row, time) ?? null) : true);
    }
    return out;
  }

  create(): Accumulators {
    // Exactly one slot per aggregate: accumulators live as long as their slice, by the hundred
    // thousand, and a push onto [] would reserve 17.
    const n = this.aggs.length;
    const out = new Array<unknown>(n);
    for (let i = 0; i < n; i++) out[i] = this.aggs[i]!.create();
    return out;
  }

  /** Adds a prepared record; returns per aggregate whether its accumulator changed (reused by the next call). */
  add(accs: Accumulators, prepared: readonly unknown[], time: number, order: number, seq: number): readonly boolean[] {
    const changed = this.changed;
    for (let i = 0; i < changed.length; i++) {
      const v = prepared[i];
      changed[i] = v !== null && this.aggs[i]!.add(accs[i], v, time, order, seq);
    }
    return changed;
  }

  merge(into: Accumulators, other: Accumulators): void {
    for (let i = 0; i < this.aggs.length; i++) this.aggs[i]!.merge(into[i], other[i]);
  }

  mergeAll(list: readonly Accumulators[]): Accumulators {
    const out = this.create();
    for (const accs of list) this.merge(out, accs);
    return out;
  }

  results(accs: Accumulators): Row {
    const row: Row = {};
    for (let i = 0; i < this.aggs.length; i++) row[this.names[i]!] = this.aggs[i]!.result(accs[i]);
    return row;
  }

  /** results() of the merge of `list` (a key's few inline slices), merging only where an aggregate has no shortcut. */
  resultsOver(list: readonly Accumulators[]): Row {
    if (list.length === 1) return this.results(list[0]!);
    const row: Row = {};
    for (let i = 0; i < this.aggs.length; i++) {
      const agg = this.aggs[i]!;
      if (agg.resultOver !== undefined) {
        row[this.names[i]!] = agg.resultOver(list, i);
        continue;
      }
      const acc = agg.create();
      for (let j = 0; j < list.length; j++) agg.merge(acc, list[j]![i]);
      row[this.names[i]!] = agg.result(acc);
    }
    return row;
  }

  // --- range trackers (one state per aggregate) ---

  trackersCreate(): unknown[] {
    const out: unknown[] = [];
    for (let i = 0; i < this.trackers.length; i++) out.push(this.trackers[i]!.create());
    return out;
  }

  trackersAdd(ts: unknown[], start: number, slice: Accumulators, changed: readonly boolean[], prepared: readonly unknown[], time: number, order: number, seq: number): void {
    for (let i = 0; i < this.trackers.length; i++) {
      if (prepared[i] !== null) this.trackers[i]!.add(ts[i], start, slice[i], changed[i]!, prepared[i], time, order, seq);
    }
  }

  trackersEnter(ts: unknown[], start: number, slice: Accumulators): void {
    for (let i = 0; i < this.trackers.length; i++) this.trackers[i]!.enter(ts[i], start, slice[i]);
  }

  trackersLeave(ts: unknown[], start: number, slice: Accumulators): void {
    for (let i = 0; i < this.trackers.length; i++) this.trackers[i]!.leave(ts[i], start, slice[i]);
  }

  trackerResults(ts: unknown[], range: SliceRange): Row {
    const row: Row = {};
    for (let i = 0; i < this.trackers.length; i++) row[this.names[i]!] = this.trackers[i]!.result(ts[i], range, i);
    return row;
  }
}
