/**
 * A rolling key's few live slices as flat arrays on its head, for aggregate sets of count, sum,
 * avg and count_distinct only (the usual rolling features): no object per slice or accumulator,
 * and a value is a pass over a handful of numbers instead of a merge of the slices.
 *
 *   nums: [count][D totals][slice 0: start, W fields][slice 1: …]…[one mask per value in vals]
 *         count = live slices, starts ascending; total d = how many distinct values distinct
 *         aggregate d has over them; fields, per count/sum/avg aggregate in spec order:
 *         count n | sum, avg s, n; mask = bit i set when slice i holds the value. Past the
 *         last mask is room: nums grows in place into it, and keeps it when slices leave.
 *   vals: the distinct values (canonical strings) of the live slices, each once: the first
 *         distinct aggregate's total values, then the next one's, in order of arrival.
 * A record's value sets a bit (or appends the value); slices leaving shift the masks and drop
 * the values left with none, so the totals are kept without comparing strings. The starts live
 * in nums too: a key's state is its head and two arrays (each array is two heap objects, and
 * touching cold ones is most of what an expiry costs).
 *
 * Results are those of merging the slices' accumulators (aggregate-set.ts resultsOver): sums add
 * the slices' sums oldest first from 0, counts are whole numbers, distinct counts exact. What
 * the layout cannot hold (more distinct values than the exact limit, which takes a sketch, or
 * than MAX_VALUES) makes add() return false, and the caller turns the slices into accumulators
 * (toAccumulators). Arrays live as long as the key: vals grows to its exact length, nums by a
 * slice at a time and only past the most the key has held (room()), so a key whose slices come
 * and go allocates nothing.
 */
import type { Row, Value } from '../../core/record.js';
import type { ByteReader, ByteSink } from '../../state/codec/bytes.js';
import type { Accumulators, AggregateSet } from './aggregate-set.js';
import type { DistinctAcc } from './aggregates/distinct.js';
import type { CountAcc, SumAcc } from './aggregates/numeric.js';

/** Most distinct values (all distinct aggregates together) a flat key holds: each record scans its aggregate's. */
export const MAX_VALUES = 32;
/** Most slices a flat key can hold (bits of a mask); rolling-window.ts keeps at most INLINE_MAX inline. */
export const MAX_SLICES = 24;

/** RollingHead.slices of a flat head, whose starts are in nums (frozen: a push onto it is a bug). */
export const NO_STARTS = Object.freeze([]) as unknown as number[];

const COUNT = 0;
const SUM = 1;
const AVG = 2;
const DISTINCT = 3;

/** The flat part of a rolling head (RollingHead.nums and .vals). */
export interface FlatState {
  nums: number[];
  vals: string[] | null;
}

/** A packed double array of n zeros (doubles from the start: a sum's first fraction would convert it). */
function zeros(n: number): number[] {
  const out = [0.5];
  for (let i = 1; i < n; i++) out.push(0);
  out[0] = 0;
  return out;
}

/** arr with v inserted at i, in a new array of exactly its length (a push reserves 16 more slots). */
function inserted<T>(arr: T[], i: number, v: T): T[] {
  const out = arr.concat([v]);
  for (let x = out.length - 1; x > i; x--) out[x] = out[x - 1]!;
  out[i] = v;
  return out;
}

export class FlatLayout {
  /** Per aggregate: its kind; the offset of its fields in a slice (count, sum, avg) or its index among the distinct ones. */
  private readonly kinds: number[] = [];
  private readonly offs: number[] = [];
  private readonly names: readonly string[];
  /** Where the slices begin in nums (1 + D), and numbers per slice (1 + W). */
  private readonly h: number;
  private readonly b: number;
  /** A new key's nums: one slice, all zeros, and room for its first value of each distinct aggregate. */
  private readonly first: number[];
  /** What nums grows by when it has no room left: a slice and a value per distinct aggregate. */
  private readonly pad: number[];

  private constructor(
    private readonly set: AggregateSet,
    private readonly limit: number,
  ) {
    let w = 0;
    let d = 0;
    for (const agg of set.aggs) {
      const kind = agg.fn === 'count' ? COUNT : agg.fn === 'sum' ? SUM : agg.fn === 'avg' ? AVG : DISTINCT;
      this.kinds.push(kind);
      // A slice's fields follow its start.
      this.offs.push(kind === DISTINCT ? d++ : 1 + w);
      if (kind === SUM || kind === AVG) w += 2;
      else if (kind === COUNT) w += 1;
    }
    this.h = 1 + d;
    this.b = 1 + w;
    this.names = set.aggs.map((a) => a.name);
    this.first = zeros(this.h + this.b + d);
    this.pad = zeros(this.b + d);
  }

  /** The layout for `set`, or undefined when an aggregate needs accumulators (min, max, first, last, latest). */
  static for(set: AggregateSet, distinctExactLimit: number): FlatLayout | undefined {
    const flat = set.aggs.every((a) => a.fn === 'count' || a.fn === 'sum' || a.fn === 'avg' || a.fn === 'count_distinct');
    return flat ? new FlatLayout(set, distinctExactLimit) : undefined;
  }

  /** nums of a key whose only slice, still empty, starts at s. */
  createOne(s: number): number[] {
    const nums = this.first.slice();
    nums[0] = 1;
    nums[this.h] = s;
    return nums;
  }

  /** nums of a key with no slice. */
  createNone(): number[] {
    return this.first.slice(0, this.h);
  }

  count(f: FlatState): number {
    return f.nums[0]!;
  }

  /** Start of the oldest slice (count > 0). */
  oldest(f: FlatState): number {
    return f.nums[this.h]!;
  }

  /** The slice starts, ascending. */
  starts(f: FlatState): number[] {
    const out: number[] = [];
    for (let i = 0, n = f.nums[0]!; i < n; i++) out.push(f.nums[this.h + i * this.b]!);
    return out;
  }

  /** Index of the slice starting at s, or ~(the index it would take); from the newest, where records land. */
  indexOf(f: FlatState, s: number): number {
    const nums = f.nums;
    for (let i = nums[0]! - 1; i >= 0; i--) {
      const start = nums[this.h + i * this.b]!;
      if (start === s) return i;
      if (start < s) return ~(i + 1);
    }
    return ~0;
  }

  /** A new empty slice starting at s, at index i (from indexOf). */
  insertSlice(f: FlatState, i: number, s: number): void {
    const { h, b } = this;
    const count = f.nums[0]!;
    const end = this.end(f.nums);
    const nums = this.room(f, end, b);
    const at = h + i * b;
    // Everything from the new slice on (later slices, the masks) moves up by b.
    for (let x = end - 1; x >= at; x--) nums[x + b] = nums[x]!;
    nums[at] = s;
    for (let j = 1; j < b; j++) nums[at + j] = 0;
    if (i < count) {
      // The bits of slices i.. move up by one.
      const low = (1 << i) - 1;
      for (let x = h + (count + 1) * b; x < end + b; x++) {
        const m = nums[x]!;
        nums[x] = (m & low) | ((m & ~low) << 1);
      }
    }
    nums[0] = count + 1;
  }

  /** Where the key's numbers end in nums: past it is room for growth (see room()). */
  private end(nums: readonly number[]): number {
    let n = this.h + nums[0]! * this.b;
    for (let e = 1; e < this.h; e++) n += nums[e]!;
    return n;
  }

  /**
   * f.nums with room for `more` (a slice's b, or a mask's 1) numbers past `end`. It never shrinks
   * while the key lives, so a key's next slice after an expiry lands in place: a new array per
   * record would be a new long-lived object per record, and copying those is much of what the
   * young-generation GC of a rolling step costs. At most a pad more than the key ever held.
   */
  private room(f: FlatState, end: number, more: number): number[] {
    const nums = f.nums;
    if (nums.length >= end + more) return nums;
    // concat: a new array of exactly that length (a push would reserve 16 more slots, or half again).
    return (f.nums = nums.concat(this.pad));
  }

  /**
   * Adds a prepared record to slice i. Returns false when the key no longer fits this layout
   * (the record is added all the same; convert with toAccumulators).
   */
  add(f: FlatState, i: number, prepared: readonly unknown[]): boolean {
    const nums = f.nums;
    const base = this.h + i * this.b;
    let fits = true;
    for (let j = 0; j < prepared.length; j++) {
      const v = prepared[j];
      if (v === null) continue;
      const kind = this.kinds[j];
      if (kind === DISTINCT) {
        if (!this.addValue(f, i, this.offs[j]!, v as string)) fits = false;
        continue;
      }
      const o = base + this.offs[j]!;
      if (kind === COUNT) nums[o] = nums[o]! + 1;
      else {
        nums[o] = nums[o]! + (v as number);
        nums[o + 1] = nums[o + 1]! + 1;
      }
    }
    return fits;
  }

  /** Value k of distinct aggregate d in slice i. */
  private addValue(f: FlatState, i: number, d: number, k: string): boolean {
    let nums = f.nums;
    const vals = f.vals;
    const masks = this.h + nums[0]! * this.b;
    let g = 0;
    for (let e = 0; e < d; e++) g += nums[1 + e]!;
    const n = nums[1 + d]!;
    const bit = 1 << i;
    if (vals !== null) {
      for (let x = g; x < g + n; x++) {
        if (vals[x] === k) {
          nums[masks + x] = nums[masks + x]! | bit;
          return true;
        }
      }
    }
    // A new value, after its aggregate's values (and its mask after theirs).
    const at = g + n;
    // The key's first value: an array of exactly one.
    const grown = vals === null ? [k] : inserted(vals, at, k);
    f.vals = grown;
    const end = this.end(nums);
    nums = this.room(f, end, 1);
    for (let x = end - 1; x >= masks + at; x--) nums[x + 1] = nums[x]!;
    nums[masks + at] = bit;
    nums[1 + d] = n + 1;
    return n + 1 <= this.limit && grown.length <= MAX_VALUES;
  }

  /** Drops the slices with start ≤ cut; returns whether any left. */
  dropUpTo(f: FlatState, cut: number): boolean {
    const nums = f.nums;
    const { h, b } = this;
    const count = nums[0]!;
    let n = 0;
    while (n < count && nums[h + n * b]! <= cut) n++;
    if (n === 0) return false;
    if (n === count) {
      // Emptied in place (the numbers past the counts are room, see room()).
      for (let e = 0; e < h; e++) nums[e] = 0;
      f.vals = null;
      return true;
    }
    const masks = h + count * b;
    const shift = n * b;
    for (let x = h + shift; x < masks; x++) nums[x - shift] = nums[x]!;
    let out = masks - shift;
    const vals = f.vals;
    if (vals !== null) {
      // Masks shift down by n; a value no remaining slice holds goes, and its aggregate's total drops.
      let kept = 0;
      for (let e = 1, x = 0; e < h; e++) {
        const g = nums[e]!;
        let left = 0;
        for (let y = 0; y < g; y++, x++) {
          const m = nums[masks + x]! >>> n;
          if (m === 0) continue;
          nums[out++] = m;
          // No store when nothing moves (a pointer store into an old array pays a write barrier).
          if (kept !== x) vals[kept] = vals[x]!;
          kept++;
          left++;
        }
        nums[e] = left;
      }
      if (kept === 0) f.vals = null;
      else if (kept < vals.length) vals.length = kept;
    }
    // What lies past `out` is room now (see room()).
    nums[0] = count - n;
    return true;
  }

  /** The window's value over all slices. */
  results(f: FlatState): Row {
    const nums = f.nums;
    const { h, b, kinds, offs, names } = this;
    const count = nums[0]!;
    const row: Row = {};
    for (let j = 0; j < kinds.length; j++) {
      const kind = kinds[j]!;
      let value: Value;
      if (kind === DISTINCT) value = nums[1 + offs[j]!]!;
      else if (kind === COUNT) {
        let n = 0;
        for (let i = 0, o = h + offs[j]!; i < count; i++, o += b) n += nums[o]!;
        value = n;
      } else {
        // Oldest slice first from 0, as merging the slices' accumulators does.
        let s = 0;
        let n = 0;
        for (let i = 0, o = h + offs[j]!; i < count; i++, o += b) {
          s += nums[o]!;
          n += nums[o + 1]!;
        }
        value = kind === SUM ? (n === 0 ? 0 : s) : n === 0 ? null : s / n;
      }
      row[names[j]!] = value;
    }
    return row;
  }

  /** The slices as accumulators (aggregate-set.ts), as adding the same records would have made them. */
  toAccumulators(f: FlatState): Accumulators[] {
    const out: Accumulators[] = [];
    const nums = f.nums;
    const { h, b, kinds, offs } = this;
    const aggs = this.set.aggs;
    const count = nums[0]!;
    const masks = h + count * b;
    for (let i = 0; i < count; i++) {
      const accs = this.set.create();
      const base = h + i * b;
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[j]!;
        const o = base + offs[j]!;
        if (kind === COUNT) (accs[j] as CountAcc).n = nums[o]!;
        else if (kind !== DISTINCT) {
          (accs[j] as SumAcc).s = nums[o]!;
          (accs[j] as SumAcc).n = nums[o + 1]!;
        } else {
          let g = 0;
          for (let e = 0; e < offs[j]!; e++) g += nums[1 + e]!;
          // add() keeps the slice exact up to the limit and sketches it beyond, as records would have.
          for (let x = g; x < g + nums[1 + offs[j]!]!; x++) if ((nums[masks + x]! & (1 << i)) !== 0) aggs[j]!.add(accs[j], f.vals![x]!, 0, 0, 0);
        }
      }
      out.push(accs);
    }
    return out;
  }

  /** Flat state of these slices, or undefined when they do not fit (a sketch, too many values). */
  fromAccumulators(starts: readonly number[], list: readonly Accumulators[]): FlatState | undefined {
    const { h, b, kinds, offs } = this;
    if (list.length > MAX_SLICES) return undefined;
    const nums = this.createNone();
    nums[0] = list.length;
    const groups: string[][] = [];
    const groupMasks: number[][] = [];
    for (let e = 1; e < h; e++) {
      groups.push([]);
      groupMasks.push([]);
    }
    for (let i = 0; i < list.length; i++) {
      const accs = list[i]!;
      const base = nums.length;
      nums.push(starts[i]!);
      for (let j = 1; j < b; j++) nums.push(0);
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[j]!;
        const o = base + offs[j]!;
        if (kind === COUNT) nums[o] = (accs[j] as CountAcc).n;
        else if (kind !== DISTINCT) {
          nums[o] = (accs[j] as SumAcc).s;
          nums[o + 1] = (accs[j] as SumAcc).n;
        } else {
          const keys = (accs[j] as DistinctAcc).keys;
          if (keys === null) return undefined;
          const vs = groups[offs[j]!]!;
          const ms = groupMasks[offs[j]!]!;
          for (const k of keys) {
            const x = vs.indexOf(k);
            if (x >= 0) ms[x] = ms[x]! | (1 << i);
            else {
              vs.push(k);
              ms.push(1 << i);
            }
          }
        }
      }
    }
    const vals: string[] = [];
    for (let e = 0; e < groups.length; e++) {
      if (groups[e]!.length > this.limit) return undefined;
      nums[1 + e] = groups[e]!.length;
      vals.push(...groups[e]!);
    }
    if (vals.length > MAX_VALUES) return undefined;
    for (const ms of groupMasks) nums.push(...ms);
    return { nums, vals: vals.length === 0 ? null : vals };
  }

  /**
   * varint count; the starts (the first a zigzag varint, then varint deltas); per slice its
   * fields (count varint n | sum, avg f64 s, varint n); then per distinct aggregate varint k
   * and k × (string value, varint mask).
   */
  encode(out: ByteSink, f: FlatState): void {
    const nums = f.nums;
    const { h, b, kinds, offs } = this;
    const count = nums[0]!;
    out.varint(count);
    for (let i = 0; i < count; i++) {
      const s = nums[h + i * b]!;
      if (i === 0) out.svarint(s);
      else out.varint(s - nums[h + (i - 1) * b]!);
    }
    for (let i = 0; i < count; i++) {
      const base = h + i * b;
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[j]!;
        const o = base + offs[j]!;
        if (kind === COUNT) out.varint(nums[o]!);
        else if (kind !== DISTINCT) out.f64(nums[o]!).varint(nums[o + 1]!);
      }
    }
    const masks = h + count * b;
    for (let e = 1, x = 0; e < h; e++) {
      const g = nums[e]!;
      out.varint(g);
      for (let y = 0; y < g; y++, x++) out.string(f.vals![x]!).varint(nums[masks + x]!);
    }
  }

  decode(r: ByteReader): FlatState {
    const { h, b, kinds, offs } = this;
    const count = r.varint();
    const nums = this.createNone();
    nums[0] = count;
    let prev = 0;
    for (let i = 0; i < count; i++) {
      prev = i === 0 ? r.svarint() : prev + r.varint();
      nums.push(prev);
      for (let j = 1; j < b; j++) nums.push(0);
    }
    for (let i = 0; i < count; i++) {
      const base = h + i * b;
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[j]!;
        const o = base + offs[j]!;
        if (kind === COUNT) nums[o] = r.varint();
        else if (kind !== DISTINCT) {
          nums[o] = r.f64();
          nums[o + 1] = r.varint();
        }
      }
    }
    const vals: string[] = [];
    const masks: number[] = [];
    for (let e = 1; e < h; e++) {
      const g = r.varint();
      nums[e] = g;
      for (let y = 0; y < g; y++) {
        vals.push(r.string());
        masks.push(r.varint());
      }
    }
    for (const m of masks) nums.push(m);
    return { nums, vals: vals.length === 0 ? null : vals };
  }
}
