/**
 * Rolling windows: the value of the last `size` as of each event and as of now.
 *
 * Slices have length r = resolution. As of a reference time T the window holds the slices with
 * start in (⌊T/r⌋·r − size, ⌊T/r⌋·r] and is reported as [⌊T/r⌋·r − size + r, ⌊T/r⌋·r + r).
 * Per key T_k = max(watermark, largest accepted event time of the key); it never decreases.
 *
 * A record at t is late when t < watermark − allowedLateness, or when its slice has already
 * left the window as of T_k (counting the record itself). Otherwise it is added to its slice,
 * T_k advances (slices that leave are dropped), and ONE 'update' is emitted with the value as of
 * T_k (asOf = T_k, so a key's asOf never decreases).
 *
 * The head keeps range trackers over all live slices (range-tracker.ts), so an event is O(1)
 * amortized whatever size/resolution, and ONE timer at the time the oldest live slice leaves.
 * When it fires, every slice that left as of T_k is dropped and ONE 'expire' is emitted with
 * the decreased value (asOf = T_k), even if empty (count 0 is a value a model must see); once
 * nothing is live the key's state is deleted after that emission. So a slice causes at most two
 * emissions: its records' updates and its expiry, never one per resolution step. While the
 * oldest live slice is the only one (and inline), the timer is registered tagged: when it fires
 * the key empties, so that expiry emits and deletes without reading the head, which a sparse key
 * of a long window has usually been evicted to LevelDB by then.
 *
 * While a key has at most INLINE_MAX live slices (the usual case for a long window over many
 * sparse keys) their accumulators live inside the head and no trackers exist: a record, a
 * checkpoint and an expiry each touch one state entry, and a value merges those few slices.
 * One more slice moves them out to slice entries with trackers, until expiry leaves UNSPILL_AT
 * or fewer (then they move back inline). When every aggregate is count, sum, avg or
 * count_distinct, inline slices are flat arrays instead (flat-slices.ts: no object per slice,
 * distinct totals kept as values come and go), as long as the distinct values stay few.
 *
 * Hot path: per record one head read/write, one slice read/write (none while inline), O(1)
 * tracker work, and the timer re-armed only when the oldest live slice changed; no arrays or
 * closures per record.
 */
import type { Row, Value } from '../../core/record.js';
import type { Accumulators, AggregateSet } from './aggregate-set.js';
import { dropKey, firedHead, loadHead, takeDueTimer, type Ctx, type WindowEngine } from './engine.js';
import { NO_STARTS, type FlatLayout, type FlatState } from './flat-slices.js';
import type { SliceRange } from './range-tracker.js';
import { floorTo, hasSorted, insertSorted, lowerBound, rollingLeaveTime } from './slices.js';
import { NO_TIMER, type RollingHead } from './state.js';
import type { WindowOutputs } from './types.js';

/** The range handed to the trackers for a result, reused: only a stale sketch reads it, synchronously. */
interface MutableRange {
  store: SliceRange['store'];
  key: Uint8Array;
  starts: readonly number[];
  lo: number;
  hi: number;
}

export class RollingWindow implements WindowEngine {
  private readonly range: MutableRange = { store: { getSlice: () => undefined }, key: new Uint8Array(0), starts: [], lo: 0, hi: 0 };

  /** Accumulators of nothing, for the value of a key whose last slice just left (never mutated). */
  private readonly empty: unknown[];

  constructor(
    private readonly set: AggregateSet,
    private readonly size: number,
    private readonly resolution: number,
    private readonly lateness: number,
    /** The flat layout of inline slices when every aggregate has one (flat-slices.ts). */
    private readonly flat: FlatLayout | undefined,
  ) {
    this.empty = set.create();
  }

  onRecord(ctx: Ctx, key: Value, kb: Uint8Array, t: number, row: Row, wm: number, out: WindowOutputs, order: number): void {
    const { size, resolution } = this;
    if (t < wm - this.lateness) {
      out.late(`event time ${t} is more than the allowed lateness ${this.lateness} ms behind the watermark ${wm}`);
      return;
    }
    let head = loadHead(ctx, kb, 'rolling');
    const asOf = Math.max(wm, t, head === undefined ? -Infinity : head.maxT);
    // Live slices as of asOf: start in (f − size, f]; reported window [f − size + r, f + r).
    const f = floorTo(asOf, resolution);
    const s = floorTo(t, resolution);
    if (s <= f - size) {
      out.late(`event time ${t} has already left the ${size} ms rolling window as of ${asOf} (window starts at ${f - size + resolution})`);
      return;
    }
    const prepared = this.set.prepare(row, t);
    if (takeDueTimer(ctx, kb, head, wm)) head = this.expire(ctx, key, kb, head!, wm, out);
    if (head !== undefined) this.dropLeft(ctx, kb, head, f - size);

    const flat = this.flat;
    let i = 0;
    if (head === undefined) {
      // A new key (the usual case for a long window over many sparse keys): arrays of exactly one
      // (a push onto [] would reserve 17 slots, kept as long as the key lives).
      if (flat !== undefined) {
        head = { kind: 'rolling', seq: 1, timer: NO_TIMER, tagged: false, slices: NO_STARTS, maxT: t, inline: null, trk: null, nums: flat.createOne(s), vals: null };
        if (!flat.add(head as FlatState, 0, prepared)) this.unflatten(head, flat);
      } else {
        const accs = this.set.create();
        head = { kind: 'rolling', seq: 1, timer: NO_TIMER, tagged: false, slices: [s], maxT: t, inline: [accs], trk: null, nums: null, vals: null };
        this.set.add(accs, prepared, t, order, 0);
      }
    } else if (head.nums !== null && ((i = flat!.indexOf(head as FlatState, s)) >= 0 || flat!.count(head as FlatState) < INLINE_MAX)) {
      head.seq++;
      if (i < 0) flat!.insertSlice(head as FlatState, (i = ~i), s);
      if (!flat!.add(head as FlatState, i, prepared)) this.unflatten(head, flat!);
    } else if (head.inline !== null && (head.slices.length < INLINE_MAX || hasSorted(head.slices, s))) {
      const seq = head.seq++;
      const slices = head.slices;
      const inline = head.inline;
      const i = lowerBound(slices, s);
      if (i === slices.length) {
        // The usual case, appended without splice (which allocates the removed part).
        slices.push(s);
        inline.push(this.set.create());
      } else if (slices[i] !== s) {
        slices.splice(i, 0, s);
        inline.splice(i, 0, this.set.create());
      }
      this.set.add(inline[i]!, prepared, t, order, seq);
    } else {
      const seq = head.seq++;
      if (head.nums !== null) this.unflatten(head, flat!);
      if (head.inline !== null) this.spill(ctx, kb, head, head.inline);
      const slices = head.slices;
      // head.slices lists exactly the stored slices: a new slice costs no store lookup (after a
      // restart that lookup would be a LevelDB read).
      const existing = hasSorted(slices, s) ? ctx.store.getSlice(kb, s) : undefined;
      const slice = existing ?? this.set.create();
      const changed = this.set.add(slice, prepared, t, order, seq);
      ctx.store.putSlice(kb, s, slice);
      if (existing === undefined) insertSorted(slices, s);
      this.set.trackersAdd(head.trk!, s, slice, changed, prepared, t, order, seq);
    }
    if (t > head.maxT) head.maxT = t;
    this.arm(ctx, kb, head);
    ctx.store.putHead(kb, head);
    out.emit({ key, windowStart: f - size + resolution, windowEnd: f + resolution, asOf, kind: 'update', values: this.values(ctx, kb, head) });
  }

  /** Flat slices the layout cannot hold any more (or too many of them): accumulators, inline. */
  private unflatten(head: RollingHead, flat: FlatLayout): void {
    head.slices = flat.starts(head as FlatState);
    head.inline = flat.toAccumulators(head as FlatState);
    head.nums = null;
    head.vals = null;
  }

  /** Too many live slices to keep inline: they become slice entries, tracked like any others. */
  private spill(ctx: Ctx, kb: Uint8Array, head: RollingHead, inline: Accumulators[]): void {
    const trk = this.set.trackersCreate();
    for (let i = 0; i < inline.length; i++) {
      const s = head.slices[i]!;
      ctx.store.putSlice(kb, s, inline[i]!);
      this.set.trackersEnter(trk, s, inline[i]!);
    }
    head.trk = trk;
    head.inline = null;
  }

  onTimer(ctx: Ctx, key: Value, kb: Uint8Array, time: number, wm: number, out: WindowOutputs, tagged: boolean): void {
    if (tagged) {
      this.emptied(ctx, key, kb, wm, out);
      return;
    }
    const head = firedHead(ctx, kb, 'rolling', time);
    if (head !== undefined) this.expire(ctx, key, kb, head, wm, out);
  }

  /**
   * Keeps the key's one timer at the time its oldest live slice leaves, tagged when that slice is
   * its only one and lives in the head (no slice entries): the timer then fires exactly when the
   * key empties, and onTimer need not read the head to know it.
   */
  private arm(ctx: Ctx, kb: Uint8Array, head: RollingHead): void {
    const at = rollingLeaveTime(this.oldest(head), this.size, this.resolution);
    const tagged = head.trk === null && (head.nums !== null ? this.flat!.count(head as FlatState) : head.slices.length) === 1;
    if (head.timer === at) {
      if (head.tagged === tagged) return;
      if (!tagged) {
        // A second live slice (one record in ten, engine bench): registering the timer again clears its tag in place.
        ctx.timers.register(at, kb, false);
        head.tagged = false;
        return;
      }
    }
    if (!Number.isNaN(head.timer)) ctx.timers.delete(head.timer, kb);
    ctx.timers.register(at, kb, tagged);
    head.timer = at;
    head.tagged = tagged;
  }

  /**
   * A tagged timer fired: the key's only live slice left, so the key empties. What expire() would
   * do for it, without the head: for a sparse key of a long window (seen once in three days, the
   * usual case) the head was evicted long ago, and reading it back from LevelDB was most of what
   * its expiry cost. asOf is the watermark: the key's largest event time lies in that slice, so
   * it is below the time the slice leaves, which the watermark has reached.
   */
  private emptied(ctx: Ctx, key: Value, kb: Uint8Array, wm: number, out: WindowOutputs): void {
    const { size, resolution } = this;
    const f = floorTo(wm, resolution);
    const values = this.flat !== undefined ? this.flat.results({ nums: this.flat.createNone(), vals: null }) : this.set.results(this.empty);
    out.emit({ key, windowStart: f - size + resolution, windowEnd: f + resolution, asOf: wm, kind: 'expire', values });
    ctx.store.deleteHead(kb);
  }

  /** Drops the slices that left as of T_k; emits one 'expire' if any did. Returns the head unless the key emptied. */
  private expire(ctx: Ctx, key: Value, kb: Uint8Array, head: RollingHead, wm: number, out: WindowOutputs): RollingHead | undefined {
    const { size, resolution } = this;
    const asOf = Math.max(wm, head.maxT);
    const f = floorTo(asOf, resolution);
    if (this.dropLeft(ctx, kb, head, f - size)) {
      out.emit({ key, windowStart: f - size + resolution, windowEnd: f + resolution, asOf, kind: 'expire', values: this.values(ctx, kb, head) });
    }
    if (head.nums !== null ? this.flat!.count(head as FlatState) === 0 : head.slices.length === 0) {
      dropKey(ctx, kb, head);
      return undefined;
    }
    this.arm(ctx, kb, head);
    ctx.store.putHead(kb, head);
    return head;
  }

  /** Removes slices with start ≤ oldestExcluded from trackers and store; returns whether any left. */
  private dropLeft(ctx: Ctx, kb: Uint8Array, head: RollingHead, oldestExcluded: number): boolean {
    if (head.nums !== null) return this.flat!.dropUpTo(head as FlatState, oldestExcluded);
    const slices = head.slices;
    if (slices.length === 0 || slices[0]! > oldestExcluded) return false;
    const inline = head.inline;
    if (slices[slices.length - 1]! <= oldestExcluded) {
      // Everything leaves: nothing needs reading, and the key is back to (empty) inline slices.
      if (head.trk !== null) for (let i = 0; i < slices.length; i++) ctx.store.deleteSlice(kb, slices[i]!);
      head.trk = null;
      if (this.flat !== undefined) {
        head.slices = NO_STARTS;
        head.nums = this.flat.createNone();
        head.inline = null;
      } else {
        head.inline = [];
        slices.length = 0;
      }
      return true;
    }
    let n = 0;
    if (inline !== null) {
      while (slices[n]! <= oldestExcluded) n++;
      removeFirst(inline, n);
    } else {
      const trk = head.trk!;
      while (slices[n]! <= oldestExcluded) {
        const s = slices[n++]!;
        this.set.trackersLeave(trk, s, ctx.store.getSlice(kb, s)!);
        ctx.store.deleteSlice(kb, s);
      }
    }
    removeFirst(slices, n);
    if (head.trk !== null && slices.length <= UNSPILL_AT) this.unspill(ctx, kb, head);
    return true;
  }

  /** Few slices left: back inside the head (one entry per record, checkpoint and expiry again). */
  private unspill(ctx: Ctx, kb: Uint8Array, head: RollingHead): void {
    const slices = head.slices;
    const inline = new Array<Accumulators>(slices.length);
    for (let i = 0; i < slices.length; i++) {
      inline[i] = ctx.store.getSlice(kb, slices[i]!)!;
      ctx.store.deleteSlice(kb, slices[i]!);
    }
    head.trk = null;
    const flat = this.flat?.fromAccumulators(slices, inline);
    if (flat !== undefined) {
      head.slices = NO_STARTS;
      head.nums = flat.nums;
      head.vals = flat.vals;
    } else head.inline = inline;
  }

  /** Start of the oldest live slice (one is live). */
  private oldest(head: RollingHead): number {
    return head.nums !== null ? this.flat!.oldest(head as FlatState) : head.slices[0]!;
  }

  private values(ctx: Ctx, kb: Uint8Array, head: RollingHead): Row {
    if (head.nums !== null) return this.flat!.results(head as FlatState);
    const inline = head.inline;
    if (inline !== null) {
      if (inline.length === 0) return this.set.results(this.empty);
      return this.set.resultsOver(inline);
    }
    const range = this.range;
    range.store = ctx.store;
    range.key = kb;
    range.starts = head.slices;
    range.lo = 0;
    range.hi = head.slices.length;
    const row = this.set.trackerResults(head.trk!, range);
    // Keep no reference to the key's state between records.
    range.key = EMPTY;
    range.starts = NONE;
    return row;
  }
}

/**
 * Most live slices a key keeps inside its head; beyond, slices are entries and values come from
 * trackers. A value merges the inline slices (a few additions and a short distinct scan each;
 * flat slices add a few numbers), which costs less than the entries, trackers and per-slice
 * expiry reads of a spilled key up to here: the engine bench's hot keys (80% of events on 20% of
 * keys) hold ~4 slices of a 3-day window on average, and at 7 one in twenty spilled and stayed
 * spilled. At most flat-slices.ts MAX_SLICES (a bit per slice).
 */
export const INLINE_MAX = 16;
/** A spilled key whose live slices fall to this many moves them back inline (hysteresis: not at INLINE_MAX). */
export const UNSPILL_AT = 8;

/** Removes the first n elements in place (splice would allocate the removed part). */
function removeFirst<T>(arr: T[], n: number): void {
  if (n === 1) arr.shift();
  else if (n > 1) {
    arr.copyWithin(0, n);
    arr.length -= n;
  }
}

const EMPTY = new Uint8Array(0);
const NONE: readonly number[] = [];
