/**
 * count, sum, avg (invertible: running totals add and subtract slices) and min, max.
 *   count(): rows; count(x): non-null x. sum of none = 0; avg of none = null; min/max of none = null.
 *   sum/avg coerce numeric strings; any other non-null value is a bad record.
 */
import type { Value } from '../../../core/record.js';
import { TributaryError } from '../../../core/errors.js';
import type { Aggregate } from './aggregate.js';
import { compareOrdered, toNumber, toOrdered } from './values.js';

export interface CountAcc { n: number }
export interface SumAcc { s: number; n: number }
export interface ExtremeAcc { v: number | string | null }

function notInvertible(fn: string): never {
  throw new TributaryError('TRIB_INTERNAL', `${fn} is not invertible`);
}

export function countAggregate(name: string): Aggregate<CountAcc, true> {
  return {
    name,
    fn: 'count',
    strategy: 'running',
    prepare: (v) => (v === null || v === undefined ? null : true),
    create: () => ({ n: 0 }),
    add: (acc) => {
      acc.n++;
      return true;
    },
    merge: (into, o) => {
      into.n += o.n;
    },
    subtract: (from, o) => {
      from.n -= o.n;
    },
    result: (acc) => acc.n,
    resultOver: (list, index) => {
      let n = 0;
      for (let j = 0; j < list.length; j++) n += (list[j]![index] as CountAcc).n;
      return n;
    },
    isEmpty: (acc) => acc.n === 0,
    clone: (acc) => ({ n: acc.n }),
    prefer: () => notInvertible('count'),
    encode: (w, acc) => {
      w.varint(acc.n);
    },
    decode: (r) => ({ n: r.varint() }),
  };
}

export function sumAggregate(name: string, fn: 'sum' | 'avg'): Aggregate<SumAcc, number> {
  const label = `${name} = ${fn}(…)`;
  return {
    name,
    fn,
    strategy: 'running',
    prepare: (v) => (v === null || v === undefined ? null : toNumber(v, label)),
    create: () => ({ s: 0, n: 0 }),
    add: (acc, v) => {
      acc.s += v;
      acc.n++;
      return true;
    },
    merge: (into, o) => {
      into.s += o.s;
      into.n += o.n;
    },
    subtract: (from, o) => {
      from.n -= o.n;
      // Reset instead of keeping floating-point residue once nothing is left.
      from.s = from.n === 0 ? 0 : from.s - o.s;
    },
    result: fn === 'sum' ? (acc) => (acc.n === 0 ? 0 : acc.s) : (acc) => (acc.n === 0 ? null : acc.s / acc.n),
    resultOver: (list, index) => {
      // Same order of additions as merging into a fresh accumulator.
      let s = 0;
      let n = 0;
      for (let j = 0; j < list.length; j++) {
        const a = list[j]![index] as SumAcc;
        s += a.s;
        n += a.n;
      }
      if (fn === 'sum') return n === 0 ? 0 : s;
      return n === 0 ? null : s / n;
    },
    isEmpty: (acc) => acc.n === 0,
    clone: (acc) => ({ s: acc.s, n: acc.n }),
    prefer: () => notInvertible(fn),
    encode: (w, acc) => {
      w.f64(acc.s).varint(acc.n);
    },
    decode: (r) => {
      const s = r.f64();
      return { s, n: r.varint() };
    },
  };
}

export function extremeAggregate(name: string, fn: 'min' | 'max'): Aggregate<ExtremeAcc, number | string> {
  const label = `${name} = ${fn}(…)`;
  const sign = fn === 'min' ? -1 : 1;
  // > 0 when a wins over b.
  const wins = (a: number | string, b: number | string): number => sign * compareOrdered(a, b);
  return {
    name,
    fn,
    strategy: 'deque',
    prepare: (v) => (v === null || v === undefined ? null : toOrdered(v, label)),
    create: () => ({ v: null }),
    add: (acc, v) => {
      if (acc.v !== null && wins(v, acc.v) <= 0) return false;
      acc.v = v;
      return true;
    },
    merge: (into, o) => {
      if (o.v !== null && (into.v === null || wins(o.v, into.v) > 0)) into.v = o.v;
    },
    subtract: () => notInvertible(fn),
    result: (acc): Value => acc.v,
    isEmpty: (acc) => acc.v === null,
    clone: (acc) => ({ v: acc.v }),
    prefer: (a, b) => wins(a.v!, b.v!),
    encode: (w, acc) => {
      if (acc.v === null) w.u8(0);
      else if (typeof acc.v === 'number') w.u8(1).f64(acc.v);
      else w.u8(2).string(acc.v);
    },
    decode: (r) => {
      const tag = r.u8();
      return { v: tag === 0 ? null : tag === 1 ? r.f64() : r.string() };
    },
  };
}
