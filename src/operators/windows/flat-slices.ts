/**
 * A rolling key's few live slices as flat arrays on its head, for aggregate sets of count, sum,
 * avg and count_distinct only (the usual rolling features): no object per slice or accumulator,
 * and a value is a pass over a handful of numbers instead of a merge of the slices.
 *
 *   nums: [D totals][slice 0: W fields][slice 1: W fields]…[one mask per value in vals]
 *         total d = how many distinct values distinct aggregate d has over the live slices;
 *         fields, per count/sum/avg aggregate in spec order: count n | sum, avg s, n;
 *         mask = bit i set when slice i holds the value (INLINE_MAX ≤ MAX_SLICES bits).
 *   vals: the distinct values (canonical strings) of the live slices, each once: the first
 *         distinct aggregate's total[0] values, then the next one's, in order of arrival.
 * A record's value sets a bit (or appends the value); slices leaving shift the masks and drop
 * the values left with none, so the totals are kept without comparing strings.
 *
 * Results are those of merging the slices' accumulators (aggregate-set.ts resultsOver): sums add
 * the slices' sums oldest first from 0, counts are whole numbers, distinct counts exact. What
 * the layout cannot hold (more distinct values than the exact limit, which takes a sketch, or
 * than MAX_VALUES) makes add() return false, and the caller turns the slices into accumulators
 * (toAccumulators). Arrays grow to their exact length: they live as long as the key.
 */
import type { Row, Value } from '../../core/record.js';
import type { ByteReader, ByteSink } from '../../state/codec/bytes.js';
import type { Accumulators, AggregateSet } from './aggregate-set.js';
import type { DistinctAcc } from './aggregates/distinct.js';
import type { CountAcc, SumAcc } from './aggregates/numeric.js';

/** Most distinct values (all distinct aggregates together) a flat key holds: each record scans its aggregate's. */
export const MAX_VALUES = 32;
/** Most slices a flat key can hold (bits of a mask). */
export const MAX_SLICES = 24;

const COUNT = 0;
const SUM = 1;
const AVG = 2;
const DISTINCT = 3;

/** The flat part of a rolling head (RollingHead.nums and .vals). */
export interface FlatState {
  nums: number[];
  vals: string[] | null;
}

/** A packed double array of n zeros. */
function zeros(n: number): number[] {
  const out = [0.5];
  for (let i = 1; i < n; i++) out.push(0);
  out[0] = 0;
  return n === 0 ? out.slice(0, 0) : out;
}

/** arr with v inserted at i, in a new array of exactly its length. */
export function inserted<T>(arr: T[], i: number, v: T): T[] {
  const out = arr.concat([v]);
  for (let x = out.length - 1; x > i; x--) out[x] = out[x - 1]!;
  out[i] = v;
  return out;
}

export class FlatLayout {
  /** Per aggregate: its kind; its field's offset in a slice's block (numeric) or its index among the distinct ones. */
  private readonly kinds: number[] = [];
  private readonly offs: number[] = [];
  /** Number of distinct aggregates, and of fields per slice. */
  readonly d: number;
  readonly w: number;
  private readonly names: readonly string[];
  /** D + W zeros: a new key's nums. */
  private readonly first: number[];
  /** W zeros, appended for a new slice. */
  private readonly block: number[];

  private constructor(
    private readonly set: AggregateSet,
    private readonly limit: number,
  ) {
    let w = 0;
    let d = 0;
    for (const agg of set.aggs) {
      const kind = agg.fn === 'count' ? COUNT : agg.fn === 'sum' ? SUM : agg.fn === 'avg' ? AVG : DISTINCT;
      this.kinds.push(kind);
      this.offs.push(kind === DISTINCT ? d++ : w);
      if (kind === SUM || kind === AVG) w += 2;
      else if (kind === COUNT) w += 1;
    }
    this.d = d;
    this.w = w;
    this.names = set.aggs.map((a) => a.name);
    this.first = zeros(d + w);
    this.block = zeros(w);
  }

  /** The layout for `set`, or undefined when an aggregate needs accumulators (min, max, first, last, latest). */
  static for(set: AggregateSet, distinctExactLimit: number): FlatLayout | undefined {
    const flat = set.aggs.every((a) => a.fn === 'count' || a.fn === 'sum' || a.fn === 'avg' || a.fn === 'count_distinct');
    return flat ? new FlatLayout(set, distinctExactLimit) : undefined;
  }

  /** nums of a key whose only slice is new. */
  createOne(): number[] {
    return this.first.slice();
  }

  /** nums of a key with no slice. */
  createNone(): number[] {
    return this.first.slice(0, this.d);
  }

  /** A new empty slice at index i of `count` (the caller inserts its start at i). */
  insertSlice(f: FlatState, i: number, count: number): void {
    const { d, w } = this;
    const old = f.nums;
    const nums = w === 0 ? old : old.concat(this.block);
    const at = d + i * w;
    if (w > 0) {
      // Everything from the new block on (later blocks, the masks) moves up by w.
      for (let x = old.length - 1; x >= at; x--) nums[x + w] = old[x]!;
      for (let j = 0; j < w; j++) nums[at + j] = 0;
    }
    if (i < count) {
      // Bits of slices i.. move up by one.
      const low = (1 << i) - 1;
      for (let x = d + (count + 1) * w; x < nums.length; x++) {
        const m = nums[x]!;
        nums[x] = (m & low) | ((m & ~low) << 1);
      }
    }
    f.nums = nums;
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
      const kind = this.kinds[j];
      if (kind === DISTINCT) {
        if (!this.addValue(f, i, count, this.offs[j]!, v as string)) fits = false;
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

  private addValue(f: FlatState, i: number, count: number, d: number, k: string): boolean {
    let nums = f.nums;
    const vals = f.vals;
    const masks = this.d + count * this.w;
    let g = 0;
    for (let e = 0; e < d; e++) g += nums[e]!;
    const n = nums[d]!;
    const bit = 1 << i;
    if (vals !== null) {
      for (let x = g; x < g + n; x++) {
        if (vals[x] === k) {
          nums[masks + x] = nums[masks + x]! | bit;
          return true;
        }
      }
    }
    // A new value, at the end of its aggregate's values (and its mask at the end of theirs).
    const at = g + n;
    // The key's first value: an array of exactly one.
    const grown = vals === null ? [k] : inserted(vals, at, k);
    f.vals = grown;
    nums = at === nums.length - masks ? nums.concat([bit]) : inserted(nums, masks + at, bit);
    nums[d] = n + 1;
    f.nums = nums;
    return n + 1 <= this.limit && grown.length <= MAX_VALUES;
  }

  /** Removes the first n of `count` slices (the caller removes their starts). */
  dropFirst(f: FlatState, n: number, count: number): void {
    const nums = f.nums;
    const { d, w } = this;
    const masks = d + count * w;
    const shift = n * w;
    for (let x = d + shift; x < masks; x++) nums[x - shift] = nums[x]!;
    let out = masks - shift;
    const vals = f.vals;
    if (vals !== null) {
      // Masks shift down by n; a value no remaining slice holds goes, and its aggregate's total drops.
      let kept = 0;
      for (let e = 0, x = 0; e < d; e++) {
        const g = nums[e]!;
        let left = 0;
        for (let y = 0; y < g; y++, x++) {
          const m = nums[masks + x]! >>> n;
          if (m === 0) continue;
          nums[out++] = m;
          vals[kept++] = vals[x]!;
          left++;
        }
        nums[e] = left;
      }
      if (kept === 0) f.vals = null;
      else vals.length = kept;
    }
    nums.length = out;
  }

  /** Every slice left: no slices, no values. */
  clear(f: FlatState): void {
    f.nums = this.createNone();
    f.vals = null;
  }

  /** The window's value over all slices. */
  results(f: FlatState, count: number): Row {
    const nums = f.nums;
    const { d, w, kinds, offs, names } = this;
    const row: Row = {};
    for (let j = 0; j < kinds.length; j++) {
      const kind = kinds[j]!;
      let value: Value;
      if (kind === DISTINCT) value = nums[offs[j]!]!;
      else if (kind === COUNT) {
        let n = 0;
        for (let i = 0, o = d + offs[j]!; i < count; i++, o += w) n += nums[o]!;
        value = n;
      } else {
        // Oldest slice first from 0, as merging the slices' accumulators does.
        let s = 0;
        let n = 0;
        for (let i = 0, o = d + offs[j]!; i < count; i++, o += w) {
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
  toAccumulators(f: FlatState, count: number): Accumulators[] {
    const out: Accumulators[] = [];
    const nums = f.nums;
    const { d, w, kinds, offs } = this;
    const aggs = this.set.aggs;
    const masks = d + count * w;
    for (let i = 0; i < count; i++) {
      const accs = this.set.create();
      const b = d + i * w;
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[j]!;
        if (kind === COUNT) (accs[j] as CountAcc).n = nums[b + offs[j]!]!;
        else if (kind !== DISTINCT) {
          const acc = accs[j] as SumAcc;
          acc.s = nums[b + offs[j]!]!;
          acc.n = nums[b + offs[j]! + 1]!;
        } else {
          let g = 0;
          for (let e = 0; e < offs[j]!; e++) g += nums[e]!;
          // add() keeps the slice exact up to the limit and sketches it beyond, as records would have.
          for (let x = g; x < g + nums[offs[j]!]!; x++) if ((nums[masks + x]! & (1 << i)) !== 0) aggs[j]!.add(accs[j], f.vals![x]!, 0, 0, 0);
        }
      }
      out.push(accs);
    }
    return out;
  }

  /** Flat state holding these slices' accumulators, or undefined when they do not fit (a sketch, too many values). */
  fromAccumulators(list: readonly Accumulators[]): FlatState | undefined {
    const { d, w, kinds, offs } = this;
    if (list.length > MAX_SLICES) return undefined;
    const nums = this.createNone();
    const groups: string[][] = [];
    const groupMasks: number[][] = [];
    for (let e = 0; e < d; e++) {
      groups.push([]);
      groupMasks.push([]);
    }
    for (let i = 0; i < list.length; i++) {
      const accs = list[i]!;
      const b = nums.length;
      for (let j = 0; j < w; j++) nums.push(0);
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[j]!;
        if (kind === COUNT) nums[b + offs[j]!] = (accs[j] as CountAcc).n;
        else if (kind !== DISTINCT) {
          nums[b + offs[j]!] = (accs[j] as SumAcc).s;
          nums[b + offs[j]! + 1] = (accs[j] as SumAcc).n;
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
    for (let e = 0; e < d; e++) {
      if (groups[e]!.length > this.limit) return undefined;
      nums[e] = groups[e]!.length;
      vals.push(...groups[e]!);
    }
    if (vals.length > MAX_VALUES) return undefined;
    for (let e = 0; e < d; e++) nums.push(...groupMasks[e]!);
    return { nums, vals: vals.length === 0 ? null : vals };
  }

  /** Per slice its fields (count varint n | sum, avg f64 s, varint n); then per distinct aggregate varint k, k × (string, varint mask). */
  encode(out: ByteSink, f: FlatState, count: number): void {
    const nums = f.nums;
    const { d, w, kinds, offs } = this;
    for (let i = 0; i < count; i++) {
      const b = d + i * w;
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[j]!;
        if (kind === COUNT) out.varint(nums[b + offs[j]!]!);
        else if (kind !== DISTINCT) out.f64(nums[b + offs[j]!]!).varint(nums[b + offs[j]! + 1]!);
      }
    }
    const masks = d + count * w;
    for (let e = 0, x = 0; e < d; e++) {
      const g = nums[e]!;
      out.varint(g);
      for (let y = 0; y < g; y++, x++) out.string(f.vals![x]!).varint(nums[masks + x]!);
    }
  }

  decode(r: ByteReader, count: number): FlatState {
    const { d, w, kinds, offs } = this;
    const nums = this.createNone();
    for (let i = 0; i < count; i++) {
      const b = nums.length;
      for (let j = 0; j < w; j++) nums.push(0);
      for (let j = 0; j < kinds.length; j++) {
        const kind = kinds[j]!;
        if (kind === COUNT) nums[b + offs[j]!] = r.varint();
        else if (kind !== DISTINCT) {
          nums[b + offs[j]!] = r.f64();
          nums[b + offs[j]! + 1] = r.varint();
        }
      }
    }
    const vals: string[] = [];
    const masks: number[] = [];
    for (let e = 0; e < d; e++) {
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
