/**
 * count_distinct: exact (the canonical value strings) while a slice or window holds at most
 * `distinctExactLimit` distinct values, a HyperLogLog sketch beyond. The switch hashes every
 * value of the set, so a sketch only ever depends on the set of values seen: the result is
 * exact iff the true distinct count ≤ limit, and otherwise the same estimate however the
 * slices were merged. count_distinct of nothing = 0.
 *
 * The exact values are a plain array (a slice usually holds one to a few values: an array is a
 * fraction of a Set's memory and is iterated without an iterator object), with a Set index for
 * membership once there are more than INDEX_FROM of them.
 */
import type { Value } from '../../../core/record.js';
import { TributaryError } from '../../../core/errors.js';
import type { Aggregate, AggregateOptions } from './aggregate.js';
import { hllAdd, hllCreate, hllDecode, hllEncode, hllEstimate, hllMerge } from './hyperloglog.js';
import { canonicalKey } from './values.js';

const INDEX_FROM = 16;

/** Exactly one of keys / hll is non-null; index is null or a Set over keys. */
export interface DistinctAcc {
  keys: string[] | null;
  index: Set<string> | null;
  hll: Uint8Array | null;
}

export function toSketch(acc: DistinctAcc, precision: number): Uint8Array {
  if (acc.hll) return acc.hll;
  const regs = hllCreate(precision);
  const keys = acc.keys!;
  for (let i = 0; i < keys.length; i++) hllAdd(regs, keys[i]!);
  acc.hll = regs;
  acc.keys = null;
  acc.index = null;
  return regs;
}

/** Adds k to an exact accumulator unless present; returns whether it was added. */
function addExact(acc: DistinctAcc, k: string): boolean {
  const keys = acc.keys!;
  if (keys.length === 0) {
    // Most slices hold one value: an array of exactly one (a push onto [] would reserve 17).
    acc.keys = [k];
    return true;
  }
  if (acc.index !== null) {
    if (acc.index.has(k)) return false;
    acc.index.add(k);
  } else {
    if (keys.includes(k)) return false;
    if (keys.length >= INDEX_FROM) acc.index = new Set(keys).add(k);
  }
  keys.push(k);
  return true;
}

function exact(keys: string[]): DistinctAcc {
  return { keys, index: keys.length > INDEX_FROM ? new Set(keys) : null, hll: null };
}

export function distinctAggregate(name: string, opts: AggregateOptions): Aggregate<DistinctAcc, string> {
  const { distinctExactLimit: limit, hllPrecision: p } = opts;
  const mergeInto = (into: DistinctAcc, o: DistinctAcc): void => {
    const keys = o.keys;
    if (keys !== null && into.keys !== null) {
      for (let i = 0; i < keys.length; i++) addExact(into, keys[i]!);
      if (into.keys.length > limit) toSketch(into, p);
    } else if (keys !== null) {
      for (let i = 0; i < keys.length; i++) hllAdd(into.hll!, keys[i]!);
    } else {
      hllMerge(toSketch(into, p), o.hll!);
    }
  };
  const scratch: string[] = [];
  const mergedResult = (list: readonly (readonly unknown[])[], index: number): number => {
    const into: DistinctAcc = { keys: [], index: null, hll: null };
    for (let j = 0; j < list.length; j++) mergeInto(into, list[j]![index] as DistinctAcc);
    return into.keys ? into.keys.length : hllEstimate(into.hll!);
  };
  return {
    name,
    fn: 'count_distinct',
    strategy: 'distinct',
    prepare: (v: Value) => (v === null || v === undefined ? null : canonicalKey(v)),
    create: () => ({ keys: [], index: null, hll: null }),
    add: (acc, k) => {
      if (acc.hll) return hllAdd(acc.hll, k);
      if (!addExact(acc, k)) return false;
      if (acc.keys!.length > limit) toSketch(acc, p);
      return true;
    },
    merge: mergeInto,
    subtract: () => {
      throw new TributaryError('TRIB_INTERNAL', 'count_distinct is not invertible');
    },
    result: (acc) => (acc.keys ? acc.keys.length : hllEstimate(acc.hll!)),
    resultOver: (list, index) => {
      // Exact slices whose union stays within the limit: count the union (a key's few slices
      // hold a few values each, so a scanned array beats hashing); otherwise the merge decides.
      const seen = scratch;
      for (let j = 0; j < list.length; j++) {
        const keys = (list[j]![index] as DistinctAcc).keys;
        if (keys === null || seen.length + keys.length > INDEX_FROM) {
          seen.length = 0;
          return mergedResult(list, index);
        }
        for (let i = 0; i < keys.length; i++) if (!seen.includes(keys[i]!)) seen.push(keys[i]!);
      }
      const n = seen.length;
      seen.length = 0;
      return n <= limit ? n : mergedResult(list, index);
    },
    isEmpty: (acc) => acc.keys !== null && acc.keys.length === 0,
    clone: (acc) => (acc.keys ? exact(acc.keys.slice()) : { keys: null, index: null, hll: acc.hll!.slice() }),
    prefer: () => {
      throw new TributaryError('TRIB_INTERNAL', 'count_distinct has no order');
    },
    encode: (w, acc) => {
      const keys = acc.keys;
      if (keys) {
        w.u8(0).varint(keys.length);
        for (let i = 0; i < keys.length; i++) w.string(keys[i]!);
      } else {
        w.u8(1);
        hllEncode(w, acc.hll!);
      }
    },
    decode: (r) => {
      if (r.u8() === 1) return { keys: null, index: null, hll: hllDecode(r, p) };
      const n = r.varint();
      const keys: string[] = [];
      for (let i = 0; i < n; i++) keys.push(r.string());
      return exact(keys);
    },
  };
}
