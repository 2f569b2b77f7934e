/**
 * Per-key window state and its binary codecs.
 *
 * Head layout (all times zigzag varints; slice starts delta-encoded ascending):
 *   u8 kind (1 sliced | 2 rolling | 3 session), varint seq, timer (u8 0 | u8 1 + time | u8 2 +
 *   time: registered tagged, rolling only; a reader that predates it sees an untagged timer), then
 *   sliced:  starts, u8 hasCur [+ cur time + one tracker state per aggregate]
 *   rolling: starts, maxT time, one tracker state per aggregate
 *   rolling with its live slices inline (u8 kind 4): starts, maxT time, then per start the
 *            slice's accumulators (slice layout below)
 *   rolling with its live slices inline in the flat layout (u8 kind 5): maxT time, then the
 *            starts and the slices' fields and values (flat-slices.ts encode)
 *   session: varint n, n × (start time, last − start varint)
 * Slice layout: one accumulator per aggregate, in spec order (each aggregate's own codec).
 */
import { TributaryError } from '../../core/errors.js';
import { ByteReader, ByteWriter, type ByteSink } from '../../state/codec/bytes.js';
import type { ValueCodec } from '../../state/types.js';
import type { Accumulators, AggregateSet } from './aggregate-set.js';
import { readTime, writeTime } from './aggregates/values.js';
import { NO_STARTS, type FlatLayout, type FlatState } from './flat-slices.js';

interface HeadBase {
  /** Arrival counter for latest (and first/last ties of equal order); restarts when the key's state is deleted. */
  seq: number;
  /**
   * The one timer registered for this key, NO_TIMER (NaN) when none: a number field a re-arm
   * updates in place, where null beside epoch times (not small integers) made every re-arm
   * allocate a fresh boxed number. Stored as before (u8 0 for none).
   */
  timer: number;
}

/** head.timer of a key with no timer (never a timer's time, and unequal to everything). */
export const NO_TIMER = Number.NaN;

/** Tumbling and hopping. */
export interface SlicedHead extends HeadBase {
  kind: 'sliced';
  /** Live slice starts, ascending. */
  slices: number[];
  /** emit 'final' with several slices per window: start of the next window to close, and its trackers. */
  cur: number | null;
  trk: unknown[] | null;
}

export interface RollingHead extends HeadBase {
  kind: 'rolling';
  /**
   * The timer is registered tagged: it is the key's last live slice leaving, so whoever fires it
   * may drop the key without reading this head (rolling-window.ts). Stored with the timer.
   */
  tagged: boolean;
  slices: number[];
  /** Largest event time accepted for this key. */
  maxT: number;
  /**
   * While few slices are live, their accumulators (parallel to `slices`) live here and neither
   * slice entries nor trackers exist: most keys of a long window over many keys hold one or two
   * slices, and one state entry then serves the record, the checkpoint and the expiry.
   * null once the slices are stored as entries and tracked by `trk`.
   */
  inline: Accumulators[] | null;
  /** Trackers over the stored slices; null while inline. */
  trk: unknown[] | null;
  /**
   * The inline slices in the flat layout (flat-slices.ts), starts included (`slices` is then
   * NO_STARTS), when every aggregate of the step has one: null otherwise, or once spilled or
   * converted to accumulators.
   */
  nums: number[] | null;
  vals: string[] | null;
}

export interface SessionHead extends HeadBase {
  kind: 'session';
  /** Open sessions, ascending and disjoint: [starts[i], lasts[i] + gap). Slices are keyed by start. */
  starts: number[];
  lasts: number[];
}

export type WindowHead = SlicedHead | RollingHead | SessionHead;
export type WindowSlice = Accumulators;

const KIND_TAG = { sliced: 1, rolling: 2, session: 3 } as const;
/** A rolling head holding its slices inline (see RollingHead.inline). */
const ROLLING_INLINE = 4;
/** A rolling head holding its slices inline in the flat layout (RollingHead.nums). */
const ROLLING_FLAT = 5;

function writeStarts(w: ByteSink, starts: readonly number[]): void {
  w.varint(starts.length);
  let prev = 0;
  for (let i = 0; i < starts.length; i++) {
    if (i === 0) writeTime(w, starts[0]!);
    else w.varint(starts[i]! - prev);
    prev = starts[i]!;
  }
}

function readStarts(r: ByteReader): number[] {
  const n = r.varint();
  const out: number[] = [];
  let prev = 0;
  for (let i = 0; i < n; i++) {
    prev = i === 0 ? readTime(r) : prev + r.varint();
    out.push(prev);
  }
  return out;
}

function writeAccumulators(set: AggregateSet, w: ByteSink, accs: Accumulators): void {
  for (let i = 0; i < set.aggs.length; i++) set.aggs[i]!.encode(w, accs[i]);
}

function readAccumulators(set: AggregateSet, r: ByteReader): Accumulators {
  return set.aggs.map((a) => a.decode(r));
}

export function headCodec(set: AggregateSet, flat?: FlatLayout): ValueCodec<WindowHead> {
  const writer = new ByteWriter();
  const writeTrackers = (w: ByteSink, ts: unknown[]): void => {
    for (let i = 0; i < set.trackers.length; i++) set.trackers[i]!.encode(w, ts[i]);
  };
  const readTrackers = (r: ByteReader): unknown[] => set.trackers.map((t) => t.decode(r));
  const writeSlice = (w: ByteSink, accs: Accumulators): void => writeAccumulators(set, w, accs);
  const readSlice = (r: ByteReader): Accumulators => readAccumulators(set, r);
  return {
    encode(h) {
      const w = writer.begin();
      w.u8(h.kind !== 'rolling' ? KIND_TAG[h.kind] : h.nums !== null ? ROLLING_FLAT : h.inline !== null ? ROLLING_INLINE : KIND_TAG.rolling).varint(h.seq);
      if (Number.isNaN(h.timer)) w.u8(0);
      else writeTime(w.u8(h.kind === 'rolling' && h.tagged ? 2 : 1), h.timer);
      switch (h.kind) {
        case 'sliced':
          writeStarts(w, h.slices);
          if (h.cur === null || h.trk === null) w.u8(0);
          else {
            writeTime(w.u8(1), h.cur);
            writeTrackers(w, h.trk);
          }
          break;
        case 'rolling':
          if (h.nums !== null) {
            writeTime(w, h.maxT);
            flat!.encode(w, h as FlatState);
            break;
          }
          writeStarts(w, h.slices);
          writeTime(w, h.maxT);
          if (h.inline !== null) for (let i = 0; i < h.inline.length; i++) writeSlice(w, h.inline[i]!);
          else writeTrackers(w, h.trk ?? set.trackersCreate());
          break;
        case 'session':
          w.varint(h.starts.length);
          for (let i = 0; i < h.starts.length; i++) {
            writeTime(w, h.starts[i]!);
            w.varint(h.lasts[i]! - h.starts[i]!);
          }
          break;
      }
      return w.finish();
    },
    decode(bytes) {
      const r = new ByteReader(bytes);
      const tag = r.u8();
      const seq = r.varint();
      const timerTag = r.u8();
      const timer = timerTag === 0 ? NO_TIMER : readTime(r);
      const tagged = timerTag === 2;
      switch (tag) {
        case 1: {
          const slices = readStarts(r);
          if (r.u8() === 0) return { kind: 'sliced', seq, timer, slices, cur: null, trk: null };
          const cur = readTime(r);
          return { kind: 'sliced', seq, timer, slices, cur, trk: readTrackers(r) };
        }
        case 2: {
          const slices = readStarts(r);
          const maxT = readTime(r);
          return { kind: 'rolling', seq, timer, tagged, slices, maxT, inline: null, trk: readTrackers(r), nums: null, vals: null };
        }
        case ROLLING_INLINE: {
          const slices = readStarts(r);
          const maxT = readTime(r);
          const inline: Accumulators[] = [];
          for (let i = 0; i < slices.length; i++) inline.push(readSlice(r));
          return { kind: 'rolling', seq, timer, tagged, slices, maxT, inline, trk: null, nums: null, vals: null };
        }
        case ROLLING_FLAT: {
          if (flat === undefined) throw new TributaryError('TRIB_STATE_INCOMPATIBLE', 'window state: flat rolling slices for aggregates that have no flat layout');
          const maxT = readTime(r);
          const { nums, vals } = flat.decode(r);
          return { kind: 'rolling', seq, timer, tagged, slices: NO_STARTS, maxT, inline: null, trk: null, nums, vals };
        }
        case 3: {
          const n = r.varint();
          const starts: number[] = [];
          const lasts: number[] = [];
          for (let i = 0; i < n; i++) {
            const s = readTime(r);
            starts.push(s);
            lasts.push(s + r.varint());
          }
          return { kind: 'session', seq, timer, starts, lasts };
        }
        default:
          throw new TributaryError('TRIB_STATE_IO', `window state: unknown head kind ${tag}`);
      }
    },
  };
}

export function sliceCodec(set: AggregateSet): ValueCodec<WindowSlice> {
  const writer = new ByteWriter();
  return {
    encode(accs) {
      const w = writer.begin();
      writeAccumulators(set, w, accs);
      return w.finish();
    },
    decode(bytes) {
      return readAccumulators(set, new ByteReader(bytes));
    },
  };
}
