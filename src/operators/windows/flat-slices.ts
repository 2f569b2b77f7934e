/**
 * A rolling key's few live slices as flat arrays, for aggregate sets of count, sum, avg and
 * count_distinct only (the usual rolling features): no object per slice or per accumulator,
 * and a value costs a pass over a handful of numbers instead of merging the slices.
 *
 *   nums: [D distinct totals][slice 0: W fields][slice 1: W fields]…  (W = fields per slice)
 *         per slice, per aggregate in spec order: count n | sum/avg s, n | count_distinct k
 *         (k = how many of the slice's distinct values follow in `vals`)
 *   vals: the slices' distinct values (canonical strings), slice by slice, and within a slice
 *         aggregate by aggregate: the order of the fields.
 * A distinct total is the number of different values of that aggregate over all live slices,
 * kept as values arrive and slices leave (a scan of `vals`: a key holds a few values).
 *
 * Results are those of merging the slices' accumulators (aggregate-set.ts resultsOver): sums add
 * the slices' sums oldest first from 0, counts are whole numbers, and a distinct count is exact.
 * Whatever this layout cannot hold — more distinct values than the exact limit (a sketch) or
 * than MAX_VALUES — makes add() return false: the caller converts the slices to accumulators
 * (toAccumulators), which take it from there.
 */
import type { Row, Value } from '../../core/record.js';
import type { ByteReader, ByteSink } from '../../state/codec/bytes.js';
import type { Accumulators, AggregateSet } from './aggregate-set.js';
import type { DistinctAcc } from './aggregates/distinct.js';
import type { CountAcc, SumAcc } from './aggregates/numeric.js';

/** Most distinct values (over all slices) a flat key holds: each new one scans them. */
export const MAX_VALUES = 32;

const COUNT = 0;
const SUM = 1;
const AVG = 2;
const DISTINCT = 3;

/** The flat part of a rolling head (both null when its slices are accumulators). */
export interface FlatState {
  nums: number[];
  vals: string[] | null;
}

export class FlatLayout {
  /** Per aggregate: its kind, and its field's offset within a slice's block. */
  private readonly kinds: number[] = [];
  private readonly offs: number[] = [];
  /** Per aggregate: its index among the distinct aggregates (−1 for the others). */
  private readonly dIdx: number[] = [];
  /** Offsets (within a slice's block) of the distinct aggregates' fields, in order. */
  private readonly dOffs: number[] = [];
  /** Number of distinct aggregates, and of fields per slice. */
  readonly d: number;
  readonly w: number;
  private readonly names: readonly string[];
  /** A packed double array of D + W zeros, copied for a new key. */
  private readonly first: number[];

  private constructor(
    private readonly set: AggregateSet,
    private readonly limit: number,
  ) {
    let w = 0;
    let d = 0;
    for (const agg of set.aggs) {
      const kind = agg.fn === 'count' ? COUNT : agg.fn === 'sum' ? SUM : agg.fn === 'avg' ? AVG : DISTINCT;
      this.kinds.push(kind);
      this.offs.push(w);
      this.dIdx.push(kind === DISTINCT ? d++ : -1);
      if (kind === DISTINCT) this.dOffs.push(w);
      w += kind === SUM || kind === AVG ? 2 : 1;
    }
    this.d = d;
    this.w = w;
    this.names = set.aggs.map((a) => a.name);
    // Doubles from the start: a sum's first fraction would otherwise convert the array.
    const first = [0.5];
    for (let i = 1; i < d + w; i++) first.push(0);
    first[0] = 0;
    this.first = first;
  }

  /** The layout for `set`, or undefined when an aggregate needs accumulators (min, max, first, last, latest). */
  static for(set: AggregateSet, distinctExactLimit: number): FlatLayout | undefined {
    const flat = set.aggs.every((a) => a.fn === 'count' || a.fn === 'sum' || a.fn === 'avg' || a.fn === 'count_distinct');
    return flat ? new FlatLayout(set, distinctExactLimit) : undefined;
  }

  /** nums of a key whose only slice is new (the caller puts its start first in `slices`). */
  createOne(): number[] {
    return this.first.slice();
  }

  /** Every slice left: no slices, no values (the arrays are kept). */
  clear(f: FlatState): void {
    f.nums.length = this.d;
    f.nums.fill(0);
    f.vals = null;
  }

  /** A new empty slice at index i of `count` (the caller inserts its start at i in `slices`; it holds no values yet). */
  insertSlice(f: FlatState, i: number, count: number): void {
    const nums = f.nums;
    const w = this.w;
    for (let j = 0; j < w; j++) nums.push(0);
    if (i === count) return;
    const at = this.d + i * w;
    nums.copyWithin(at + w, at, nums.length - w);
    for (let j = 0; j < w; j++) nums[at + j] = 0;
  }

  /**
   * Adds a prepared record to slice i of `count` slices. Returns false when the key no longer
   * fits this layout (the record is added all the same; convert with toAccumulators).
   */
  add(f: FlatState, i: number, count: number, prepared: readonly unknown[]): boolean {
    const nums = f.nums;
    const base = this.d + i * this.w;
    let fits = true;
    for (let j = 0; j < prepared.length; j++) {
      const v = prepared[j];
      if (v === null) continue;
      const o = base + this.offs[j]!;
      switch (this.kinds[j]) {
        case COUNT:
          nums[o] = nums[o]! + 1;
          break;
        case SUM:
        case AVG:
          nums[o] = nums[o]! + (v as number);
          nums[o + 1] = nums[o + 1]! + 1;
          break;
        default:
          if (!this.addValue(f, i, count, this.dIdx[j]!, v as string)) fits = false;
      }
    }
    return fits;
  }

  /** Index in vals of the first value of distinct aggregate d in slice i. */
  private valsAt(nums: readonly number[], i: number, d: number): number {
    const { w, dOffs } = this;
    let at = 0;
    for (let s = 0; s < i; s++) {
      const b = this.d + s * w;
      for (let e = 0; e < dOffs.length; e++) at += nums[b + dOffs[e]!]!;
    }
    const b = this.d + i * w;
    for (let e = 0; e < d; e++) at += nums[b + dOffs[e]!]!;
    return at;
  }

  /** Whether distinct aggregate d holds k in any of slices [from, to). */
  private holds(f: FlatState, from: number, to: number, d: number, k: string): boolean {
    const vals = f.vals!;
    const nums = f.nums;
    if (this.d === 1) {
      // One distinct aggregate: the values of slices [from, to) are one run of vals.
      const hi = to === from ? 0 : this.valsAt(nums, to, 0);
      for (let x = from === 0 ? 0 : this.valsAt(nums, from, 0); x < hi; x++) if (vals[x] === k) return true;
      return false;
    }
    for (let s = from; s < to; s++) {
      const at = this.valsAt(nums, s, d);
      const n = nums[this.d + s * this.w + this.dOffs[d]!]!;
      for (let x = at; x < at + n; x++) if (vals[x] === k) return true;
    }
    return false;
  }

  private addValue(f: FlatState, i: number, count: number, d: number, k: string): boolean {
    const nums = f.nums;
    const field = this.d + i * this.w + this.dOffs[d]!;
    const n = nums[field]!;
    let vals = f.vals;
    if (vals === null) {
      // The key's first value: an array of exactly one (a push onto [] would reserve 17).
      f.vals = [k];
      nums[field] = 1;
      nums[d] = 1;
      return nums[d]! <= this.limit;
    }
    const at = this.valsAt(nums, i, d);
    for (let x = at; x < at + n; x++) if (vals[x] === k) return true;
    const isNew = !this.holds(f, 0, count, d, k);
    const end = at + n;
    if (end === vals.length) vals.push(k);
    else {
      vals.push(k);
      vals.copyWithin(end + 1, end, vals.length - 1);
      vals[end] = k;
    }
    nums[field] = n + 1;
    if (isNew) nums[d] = nums[d]! + 1;
    vals = f.vals;
    return nums[d]! <= this.limit && vals!.length <= MAX_VALUES;
  }

  /** Removes the first n of `count` slices (the caller removes their starts). */
  dropFirst(f: FlatState, n: number, count: number): void {
    const nums = f.nums;
    const { d, w } = this;
    const vals = f.vals;
    if (vals !== null && d > 0) {
      const cut = this.valsAt(nums, n, 0);
      if (cut > 0) {
        // Each value leaving that no remaining slice holds lowers its aggregate's total.
        for (let s = 0; s < n; s++) {
          for (let e = 0; e < d; e++) {
            const at = this.valsAt(nums, s, e);
            const m = nums[d + s * w + this.dOffs[e]!]!;
            // Counted once: not if an earlier leaving slice holds it too, or a remaining one does.
            for (let x = at; x < at + m; x++) if (!this.holds(f, n, count, e, vals[x]!) && !this.holds(f, 0, s, e, vals[x]!)) nums[e] = nums[e]! - 1;
          }
        }
        if (cut === vals.length) f.vals = null;
        else {
          vals.copyWithin(0, cut);
          vals.length -= cut;
        }
      }
    }
    nums.copyWithin(d, d + n * w);
    nums.length -= n * w;
  }

  /** The window's value over all slices. */
  results(f: FlatState, count: number): Row {
    const nums = f.nums;
    const { d, w, kinds, offs, names } = this;
    const row: Row = {};
    for (let j = 0; j < kinds.length; j++) {
      const kind = kinds[j]!;
      let value: Value;
      if (kind === DISTINCT) value = nums[this.dIdx[j]!]!;
      else {
        // Oldest slice first from 0, as merging the slices' accumulators does.
        let s = 0;
        let n = 0;
        for (let i = 0, o = d + offs[j]!; i < count; i++, o += w) {
          if (kind === COUNT) n += nums[o]!;
          else {
            s += nums[o]!;
            n += nums[o + 1]!;
          }
        }
        value = kind === COUNT ? n : kind === SUM ? (n === 0 ? 0 : s) : n === 0 ? null : s / n;
      }
      row[names[j]!] = value;
    }
    return row;
  }

  /** The slices as accumulators (aggregate-set.ts), as adding the same records would have made them. */
  toAccumulators(f: FlatState, count: number): Accumulators[] {
    const out: Accumulators[] = [];
    const nums = f.nums;
    const { d, w, kinds, offs } = this;
    const aggs = this.set.aggs;
    let x = 0;
    for (let i = 0; i < count; i++) {
      const accs = this.set.create();
      const b = d + i * w;
      for (let j = 0; j < kinds.length; j++) {
        const o = b + offs[j]!;
        if (kinds[j] === COUNT) (accs[j] as CountAcc).n = nums[o]!;
        else if (kinds[j] !== DISTINCT) {
          const acc = accs[j] as SumAcc;
          acc.s = nums[o]!;
          acc.n = nums[o + 1]!;
        } else {
          // add() keeps the slice exact up to the limit and sketches it beyond, as records would have.
          for (let m = nums[o]!; m > 0; m--) aggs[j]!.add(accs[j], f.vals![x++]!, 0, 0, 0);
        }
      }
      out.push(accs);
    }
    return out;
  }

  /** Flat state holding these slices' accumulators, or undefined when they do not fit (a sketch, too many values). */
  fromAccumulators(list: readonly Accumulators[]): FlatState | undefined {
    const { d, w, kinds, offs } = this;
    const nums = this.first.slice(0, d);
    const vals: string[] = [];
    for (let i = 0; i < list.length; i++) {
      const accs = list[i]!;
      const b = nums.length;
      for (let j = 0; j < w; j++) nums.push(0);
      for (let j = 0; j < kinds.length; j++) {
        const o = b + offs[j]!;
        if (kinds[j] === COUNT) nums[o] = (accs[j] as CountAcc).n;
        else if (kinds[j] !== DISTINCT) {
          nums[o] = (accs[j] as SumAcc).s;
          nums[o + 1] = (accs[j] as SumAcc).n;
        } else {
          const keys = (accs[j] as DistinctAcc).keys;
          if (keys === null) return undefined;
          for (let m = 0; m < keys.length; m++) vals.push(keys[m]!);
          nums[o] = keys.length;
        }
      }
    }
    const f: FlatState = { nums, vals: vals.length === 0 ? null : vals };
    this.recount(f, list.length);
    for (let e = 0; e < d; e++) if (nums[e]! > this.limit) return undefined;
    return vals.length <= MAX_VALUES ? f : undefined;
  }

  /** Recomputes the distinct totals from the values. */
  private recount(f: FlatState, count: number): void {
    const nums = f.nums;
    for (let e = 0; e < this.d; e++) {
      const seen = new Set<string>();
      for (let s = 0; s < count; s++) {
        const at = this.valsAt(nums, s, e);
        const m = nums[this.d + s * this.w + this.dOffs[e]!]!;
        for (let x = at; x < at + m; x++) seen.add(f.vals![x]!);
      }
      nums[e] = seen.size;
    }
  }

  /** Per slice, per aggregate: count varint n | sum/avg f64 s, varint n | count_distinct varint k, k strings. */
  encode(w: ByteSink, f: FlatState, count: number): void {
    const nums = f.nums;
    const { d, kinds, offs } = this;
    const vals = f.vals;
    let x = 0;
    for (let i = 0; i < count; i++) {
      const b = d + i * this.w;
      for (let j = 0; j < kinds.length; j++) {
        const o = b + offs[j]!;
        const kind = kinds[j]!;
        if (kind === COUNT) w.varint(nums[o]!);
        else if (kind !== DISTINCT) w.f64(nums[o]!).varint(nums[o + 1]!);
        else {
          const m = nums[o]!;
          w.varint(m);
          for (let e = 0; e < m; e++) w.string(vals![x++]!);
        }
      }
    }
  }

  decode(r: ByteReader, count: number): FlatState {
    const { d, kinds, offs } = this;
    const nums = this.first.slice(0, d);
    let vals: string[] | null = null;
    for (let i = 0; i < count; i++) {
      const b = nums.length;
      for (let j = 0; j < this.w; j++) nums.push(0);
      for (let j = 0; j < kinds.length; j++) {
        const o = b + offs[j]!;
        const kind = kinds[j]!;
        if (kind === COUNT) nums[o] = r.varint();
        else if (kind !== DISTINCT) {
          nums[o] = r.f64();
          nums[o + 1] = r.varint();
        } else {
          const m = r.varint();
          nums[o] = m;
          for (let e = 0; e < m; e++) (vals ??= []).push(r.string());
        }
      }
    }
    const f: FlatState = { nums, vals };
    this.recount(f, count);
    return f;
  }
}
