/**
 * first, last, latest: pick one record's value.
 *   first  = value of the smallest (event time, order, seq)
 *   last   = value of the largest (event time, order, seq)
 *   latest = value of the largest seq: the last record to arrive, whatever its event time
 * `order` is the record's deterministic position derived from its source position (offset,
 * partition, source), so an event-time tie between records of different source partitions is
 * decided the same way however the partitions interleaved (a crash-restart interleaves them
 * differently). `seq` is the per-key arrival number the window operator assigns: it only
 * decides between records with equal order (several records from one source record, e.g. after
 * explode), which arrive in a fixed order. latest is therefore deterministic only within one
 * source partition. Any non-null value is accepted (objects and arrays too).
 */
import type { Value } from '../../../core/record.js';
import { TributaryError } from '../../../core/errors.js';
import type { Aggregate } from './aggregate.js';
import { readTime, readValue, writeTime, writeValue } from './values.js';

export interface PickAcc {
  has: boolean;
  v: Value;
  /** Event time of v. */
  t: number;
  /** Deterministic order of v's record (a non-negative safe integer). */
  o: number;
  /** Arrival sequence of v. */
  q: number;
}

type PickFn = 'first' | 'last' | 'latest';

/** > 0 when a record at (t1, o1, q1) wins over one at (t2, o2, q2). */
type Wins = (t1: number, o1: number, q1: number, t2: number, o2: number, q2: number) => number;

const ORDER: Record<PickFn, Wins> = {
  first: (t1, o1, q1, t2, o2, q2) => (t1 !== t2 ? t2 - t1 : o1 !== o2 ? o2 - o1 : q2 - q1),
  last: (t1, o1, q1, t2, o2, q2) => (t1 !== t2 ? t1 - t2 : o1 !== o2 ? o1 - o2 : q1 - q2),
  latest: (_t1, _o1, q1, _t2, _o2, q2) => q1 - q2,
};

export function pickAggregate(name: string, fn: PickFn): Aggregate<PickAcc, Value> {
  const wins = ORDER[fn];
  return {
    name,
    fn,
    strategy: fn === 'first' ? 'oldest' : 'deque',
    prepare: (v) => (v === undefined ? null : v),
    create: () => ({ has: false, v: null, t: 0, o: 0, q: 0 }),
    add: (acc, v, t, o, q) => {
      if (acc.has && wins(t, o, q, acc.t, acc.o, acc.q) <= 0) return false;
      acc.has = true;
      acc.v = v;
      acc.t = t;
      acc.o = o;
      acc.q = q;
      return true;
    },
    merge: (into, x) => {
      if (!x.has || (into.has && wins(x.t, x.o, x.q, into.t, into.o, into.q) <= 0)) return;
      into.has = true;
      into.v = x.v;
      into.t = x.t;
      into.o = x.o;
      into.q = x.q;
    },
    subtract: () => {
      throw new TributaryError('TRIB_INTERNAL', `${fn} is not invertible`);
    },
    result: (acc) => (acc.has ? acc.v : null),
    isEmpty: (acc) => !acc.has,
    clone: (acc) => ({ has: acc.has, v: acc.v, t: acc.t, o: acc.o, q: acc.q }),
    prefer: (a, b) => wins(a.t, a.o, a.q, b.t, b.o, b.q),
    encode: (w, acc) => {
      if (!acc.has) {
        w.u8(0);
        return;
      }
      w.u8(1);
      writeTime(w, acc.t);
      w.varint(acc.o).varint(acc.q);
      writeValue(w, acc.v);
    },
    decode: (r) => {
      if (r.u8() === 0) return { has: false, v: null, t: 0, o: 0, q: 0 };
      const t = readTime(r);
      const o = r.varint();
      const q = r.varint();
      return { has: true, v: readValue(r), t, o, q };
    },
  };
}
