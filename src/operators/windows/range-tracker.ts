/**
 * Keeps one aggregate's value over a sliding range of slices in O(1) amortized per change, so
 * neither a rolling emission nor a hopping final has to merge every slice of the window.
 * Slices enter at the new end (or are created inside the range), get values added, and leave
 * at the old end. Per strategy:
 *   running  (count/sum/avg) the totals: add the entering slice, subtract the leaving one.
 *   deque    (min/max/last/latest) a monotonic deque of (slice start, slice extreme) holding
 *            exactly the slices whose extreme beats every later slice's; the front is the
 *            answer. A value added to a middle slice (out of order) drops the entries before
 *            it that it beats.
 *   oldest   (first) slices partition time, so first is the first of the oldest non-empty
 *            slice: remembered, and re-found by reading forward when that slice leaves.
 *   distinct (count_distinct) exact: value → number of slices in range holding it; beyond the
 *            limit a sketch that cannot subtract, so a leave marks it stale and the next result
 *            re-merges the slices in range (the one case that reads the whole range).
 */
import type { Value } from '../../core/record.js';
import type { ByteReader, ByteSink } from '../../state/codec/bytes.js';
import type { AggregateOptions, AnyAggregate } from './aggregates/aggregate.js';
import type { DistinctAcc } from './aggregates/distinct.js';
import { hllAdd, hllCreate, hllDecode, hllEncode, hllEstimate, hllMerge } from './aggregates/hyperloglog.js';
import { readTime, writeTime } from './aggregates/values.js';
import { lowerBound } from './slices.js';

/** The live slices of a range: starts[lo..hi), read from the store on demand (only rescans read). */
export interface SliceRange {
  readonly store: { getSlice(key: Uint8Array, start: number): unknown[] | undefined };
  readonly key: Uint8Array;
  readonly starts: readonly number[];
  readonly lo: number;
  readonly hi: number;
}

/** Visits aggregate `index`'s accumulator of each slice in range, oldest first, until visit returns true. */
function scan(range: SliceRange, index: number, visit: (start: number, acc: unknown) => boolean | void): void {
  for (let i = range.lo; i < range.hi; i++) {
    const start = range.starts[i]!;
    if (visit(start, range.store.getSlice(range.key, start)![index]) === true) return;
  }
}

export interface RangeTracker<T> {
  create(): T;
  /** A value was added to slice `start` (inside the range); `slice` is that slice's accumulator after the add. */
  add(ts: T, start: number, slice: unknown, changed: boolean, value: unknown, time: number, order: number, seq: number): void;
  /** Slice `start` (newer than every slice in range) joins the range. */
  enter(ts: T, start: number, slice: unknown): void;
  /** Slice `start` (the oldest in range) leaves it. */
  leave(ts: T, start: number, slice: unknown): void;
  /** `index`: this aggregate's position in a slice. */
  result(ts: T, range: SliceRange, index: number): Value;
  encode(w: ByteSink, ts: T): void;
  decode(r: ByteReader): T;
}

export type AnyTracker = RangeTracker<unknown>;

function runningTracker(agg: AnyAggregate): RangeTracker<unknown> {
  return {
    create: () => agg.create(),
    add: (ts, _s, _slice, _changed, value, time, order, seq) => {
      agg.add(ts, value, time, order, seq);
    },
    enter: (ts, _s, slice) => agg.merge(ts, slice),
    leave: (ts, _s, slice) => agg.subtract(ts, slice),
    result: (ts) => agg.result(ts),
    encode: (w, ts) => agg.encode(w, ts),
    decode: (r) => agg.decode(r),
  };
}

interface DequeState {
  starts: number[];
  cands: unknown[];
}

function dequeTracker(agg: AnyAggregate): RangeTracker<DequeState> {
  const upsert = (ts: DequeState, start: number, slice: unknown): void => {
    const { starts, cands } = ts;
    let i = lowerBound(starts, start);
    const here = starts[i] === start;
    const next = here ? i + 1 : i;
    if (next < starts.length && agg.prefer(slice, cands[next]) <= 0) {
      // A later slice is at least as good: this one can never be the answer.
      if (here) {
        starts.splice(i, 1);
        cands.splice(i, 1);
      }
      return;
    }
    if (here) cands[i] = agg.clone(slice);
    else {
      starts.splice(i, 0, start);
      cands.splice(i, 0, agg.clone(slice));
    }
    let j = i;
    while (j > 0 && agg.prefer(cands[j - 1], slice) <= 0) j--;
    if (j < i) {
      starts.splice(j, i - j);
      cands.splice(j, i - j);
    }
  };
  return {
    create: () => ({ starts: [], cands: [] }),
    add: (ts, start, slice, changed) => {
      if (changed) upsert(ts, start, slice);
    },
    enter: (ts, start, slice) => {
      if (!agg.isEmpty(slice)) upsert(ts, start, slice);
    },
    leave: (ts, start) => {
      let k = 0;
      while (k < ts.starts.length && ts.starts[k]! <= start) k++;
      if (k > 0) {
        ts.starts.splice(0, k);
        ts.cands.splice(0, k);
      }
    },
    result: (ts) => agg.result(ts.cands.length > 0 ? ts.cands[0] : agg.create()),
    encode: (w, ts) => {
      w.varint(ts.starts.length);
      for (let i = 0; i < ts.starts.length; i++) {
        writeTime(w, ts.starts[i]!);
        agg.encode(w, ts.cands[i]);
      }
    },
    decode: (r) => {
      const n = r.varint();
      const ts: DequeState = { starts: [], cands: [] };
      for (let i = 0; i < n; i++) {
        ts.starts.push(readTime(r));
        ts.cands.push(agg.decode(r));
      }
      return ts;
    },
  };
}

interface OldestState {
  /** Start of the oldest non-empty slice in range, when known (cand !== null). */
  start: number;
  cand: unknown;
  /** The remembered slice left; re-find on the next result. */
  stale: boolean;
}

function oldestTracker(agg: AnyAggregate): RangeTracker<OldestState> {
  return {
    create: () => ({ start: 0, cand: null, stale: false }),
    add: (ts, start, slice, changed) => {
      if (!changed || ts.stale) return;
      if (ts.cand === null || start <= ts.start) {
        ts.start = start;
        ts.cand = agg.clone(slice);
      }
    },
    enter: (ts, start, slice) => {
      if (!ts.stale && ts.cand === null && !agg.isEmpty(slice)) {
        ts.start = start;
        ts.cand = agg.clone(slice);
      }
    },
    leave: (ts, start) => {
      if (ts.cand !== null && ts.start <= start) {
        ts.cand = null;
        ts.stale = true;
      }
    },
    result: (ts, range, index) => {
      if (ts.stale) {
        ts.stale = false;
        ts.cand = null;
        scan(range, index, (start, acc) => {
          if (agg.isEmpty(acc)) return false;
          ts.start = start;
          ts.cand = agg.clone(acc);
          return true;
        });
      }
      return agg.result(ts.cand ?? agg.create());
    },
    encode: (w, ts) => {
      w.u8((ts.cand !== null ? 1 : 0) | (ts.stale ? 2 : 0));
      if (ts.cand !== null) {
        writeTime(w, ts.start);
        agg.encode(w, ts.cand);
      }
    },
    decode: (r) => {
      const flags = r.u8();
      if ((flags & 1) === 0) return { start: 0, cand: null, stale: (flags & 2) !== 0 };
      const start = readTime(r);
      return { start, cand: agg.decode(r), stale: (flags & 2) !== 0 };
    },
  };
}

interface DistinctState {
  /** Exact: value → number of slices in range that hold it. */
  counts: Map<string, number> | null;
  hll: Uint8Array | null;
  /** hll only: a slice left, so the sketch may count values no longer in range. */
  stale: boolean;
}

function distinctTracker(opts: AggregateOptions): RangeTracker<DistinctState> {
  const { distinctExactLimit: limit, hllPrecision: p } = opts;
  const toHll = (ts: DistinctState): Uint8Array => {
    if (ts.hll) return ts.hll;
    const regs = hllCreate(p);
    for (const k of ts.counts!.keys()) hllAdd(regs, k);
    ts.hll = regs;
    ts.counts = null;
    return regs;
  };
  const enter = (ts: DistinctState, _start: number, slice: unknown): void => {
    const keys = (slice as DistinctAcc).keys;
    if (ts.counts && keys) {
      const counts = ts.counts;
      for (let i = 0; i < keys.length; i++) counts.set(keys[i]!, (counts.get(keys[i]!) ?? 0) + 1);
      if (counts.size > limit) toHll(ts);
    } else if (keys) {
      for (let i = 0; i < keys.length; i++) hllAdd(ts.hll!, keys[i]!);
    } else {
      hllMerge(toHll(ts), (slice as DistinctAcc).hll!);
    }
  };
  return {
    create: () => ({ counts: new Map(), hll: null, stale: false }),
    add: (ts, _start, slice, changed, value) => {
      const k = value as string;
      if (ts.hll) {
        hllAdd(ts.hll, k);
      } else if ((slice as DistinctAcc).hll) {
        // The slice itself just outgrew the exact limit, so the window has too.
        hllAdd(toHll(ts), k);
      } else if (changed) {
        ts.counts!.set(k, (ts.counts!.get(k) ?? 0) + 1);
        if (ts.counts!.size > limit) toHll(ts);
      }
    },
    enter,
    leave: (ts, _start, slice) => {
      const keys = (slice as DistinctAcc).keys;
      if (ts.counts && keys) {
        const counts = ts.counts;
        for (let i = 0; i < keys.length; i++) {
          const k = keys[i]!;
          const c = counts.get(k)! - 1;
          if (c > 0) counts.set(k, c);
          else counts.delete(k);
        }
      } else {
        toHll(ts);
        ts.stale = true;
      }
    },
    result: (ts, range, index) => {
      if (ts.stale) {
        ts.counts = new Map();
        ts.hll = null;
        ts.stale = false;
        scan(range, index, (start, acc) => enter(ts, start, acc));
      }
      return ts.counts ? ts.counts.size : hllEstimate(ts.hll!);
    },
    encode: (w, ts) => {
      if (ts.counts) {
        w.u8(0).varint(ts.counts.size);
        for (const [k, c] of ts.counts) w.string(k).varint(c);
      } else {
        w.u8(ts.stale ? 2 : 1);
        hllEncode(w, ts.hll!);
      }
    },
    decode: (r) => {
      const mode = r.u8();
      if (mode !== 0) return { counts: null, hll: hllDecode(r, p), stale: mode === 2 };
      const n = r.varint();
      const counts = new Map<string, number>();
      for (let i = 0; i < n; i++) {
        const k = r.string();
        counts.set(k, r.varint());
      }
      return { counts, hll: null, stale: false };
    },
  };
}

export function createTracker(agg: AnyAggregate, opts: AggregateOptions): AnyTracker {
  switch (agg.strategy) {
    case 'running':
      return runningTracker(agg);
    case 'deque':
      return dequeTracker(agg) as AnyTracker;
    case 'oldest':
      return oldestTracker(agg) as AnyTracker;
    case 'distinct':
      return distinctTracker(opts) as AnyTracker;
  }
}
