/**
 * first, last, latest: pick one record's value.
 *   first  = value with the smallest event time (ties: the first to arrive)
 *   last   = value with the largest event time (ties: the last to arrive)
 *   latest = value of the last record to arrive, whatever its event time
 * "Arrival" is the per-key sequence number the window operator assigns, so the choice is
 * deterministic on replay. Any non-null value is accepted (objects and arrays too).
 */
import type { Value } from '../../../runtime/record.js';
import { TributaryError } from '../../../errors.js';
import type { Aggregate } from './aggregate.js';
import { readTime, readValue, writeTime, writeValue } from './values.js';

export interface PickAcc {
  has: boolean;
  v: Value;
  /** Event time of v. */
  t: number;
  /** Arrival sequence of v. */
  q: number;
}

type PickFn = 'first' | 'last' | 'latest';

/** > 0 when (t1, q1) wins over (t2, q2). */
const ORDER: Record<PickFn, (t1: number, q1: number, t2: number, q2: number) => number> = {
  first: (t1, q1, t2, q2) => (t1 !== t2 ? t2 - t1 : q2 - q1),
  last: (t1, q1, t2, q2) => (t1 !== t2 ? t1 - t2 : q1 - q2),
  latest: (_t1, q1, _t2, q2) => q1 - q2,
};

export function pickAggregate(name: string, fn: PickFn): Aggregate<PickAcc, Value> {
  const wins = ORDER[fn];
  return {
    name,
    fn,
    strategy: fn === 'first' ? 'oldest' : 'deque',
    prepare: (v) => (v === undefined ? null : v),
    create: () => ({ has: false, v: null, t: 0, q: 0 }),
    add: (acc, v, t, q) => {
      if (acc.has && wins(t, q, acc.t, acc.q) <= 0) return false;
      acc.has = true;
      acc.v = v;
      acc.t = t;
      acc.q = q;
      return true;
    },
    merge: (into, o) => {
      if (!o.has || (into.has && wins(o.t, o.q, into.t, into.q) <= 0)) return;
      into.has = true;
      into.v = o.v;
      into.t = o.t;
      into.q = o.q;
    },
    subtract: () => {
      throw new TributaryError('TRIB_INTERNAL', `${fn} is not invertible`);
    },
    result: (acc) => (acc.has ? acc.v : null),
    isEmpty: (acc) => !acc.has,
    clone: (acc) => ({ has: acc.has, v: acc.v, t: acc.t, q: acc.q }),
    prefer: (a, b) => wins(a.t, a.q, b.t, b.q),
    encode: (w, acc) => {
      if (!acc.has) {
        w.u8(0);
        return;
      }
      w.u8(1);
      writeTime(w, acc.t);
      w.varint(acc.q);
      writeValue(w, acc.v);
    },
    decode: (r) => {
      if (r.u8() === 0) return { has: false, v: null, t: 0, q: 0 };
      const t = readTime(r);
      const q = r.varint();
      return { has: true, v: readValue(r), t, q };
    },
  };
}
