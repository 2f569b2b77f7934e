/**
 * count_distinct: exact (a set of canonical value strings) while a slice or window holds at
 * most `distinctExactLimit` distinct values, a HyperLogLog sketch beyond. The switch hashes every
 * value of the set, so a sketch only ever depends on the set of values seen: the result is
 * exact iff the true distinct count ≤ limit, and otherwise the same estimate however the
 * slices were merged. count_distinct of nothing = 0.
 */
import type { Value } from '../../../runtime/record.js';
import { TributaryError } from '../../../errors.js';
import type { Aggregate, AggregateOptions } from './aggregate.js';
import { hllAdd, hllCreate, hllDecode, hllEncode, hllEstimate, hllMerge } from './hyperloglog.js';
import { canonicalKey } from './values.js';

/** Exactly one of set / hll is non-null. */
export interface DistinctAcc {
  set: Set<string> | null;
  hll: Uint8Array | null;
}

export function toSketch(acc: DistinctAcc, precision: number): Uint8Array {
  if (acc.hll) return acc.hll;
  const regs = hllCreate(precision);
  for (const k of acc.set!) hllAdd(regs, k);
  acc.hll = regs;
  acc.set = null;
  return regs;
}

export function distinctAggregate(name: string, opts: AggregateOptions): Aggregate<DistinctAcc, string> {
  const { distinctExactLimit: limit, hllPrecision: p } = opts;
  const mergeInto = (into: DistinctAcc, o: DistinctAcc): void => {
    if (o.set && into.set) {
      for (const k of o.set) into.set.add(k);
      if (into.set.size > limit) toSketch(into, p);
    } else if (o.set) {
      for (const k of o.set) hllAdd(into.hll!, k);
    } else {
      hllMerge(toSketch(into, p), o.hll!);
    }
  };
  return {
    name,
    fn: 'count_distinct',
    strategy: 'distinct',
    prepare: (v: Value) => (v === null || v === undefined ? null : canonicalKey(v)),
    create: () => ({ set: new Set(), hll: null }),
    add: (acc, k) => {
      if (acc.hll) return hllAdd(acc.hll, k);
      if (acc.set!.has(k)) return false;
      acc.set!.add(k);
      if (acc.set!.size > limit) toSketch(acc, p);
      return true;
    },
    merge: mergeInto,
    subtract: () => {
      throw new TributaryError('TRIB_INTERNAL', 'count_distinct is not invertible');
    },
    result: (acc) => (acc.set ? acc.set.size : hllEstimate(acc.hll!)),
    isEmpty: (acc) => acc.set !== null && acc.set.size === 0,
    clone: (acc) => ({ set: acc.set ? new Set(acc.set) : null, hll: acc.hll ? acc.hll.slice() : null }),
    prefer: () => {
      throw new TributaryError('TRIB_INTERNAL', 'count_distinct has no order');
    },
    encode: (w, acc) => {
      if (acc.set) {
        w.u8(0).varint(acc.set.size);
        for (const k of acc.set) w.string(k);
      } else {
        w.u8(1);
        hllEncode(w, acc.hll!);
      }
    },
    decode: (r) => {
      if (r.u8() === 1) return { set: null, hll: hllDecode(r, p) };
      const n = r.varint();
      const set = new Set<string>();
      for (let i = 0; i < n; i++) set.add(r.string());
      return { set, hll: null };
    },
  };
}
