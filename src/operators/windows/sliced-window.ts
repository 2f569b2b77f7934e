/**
 * Tumbling and hopping windows over slices of gcd(size, slide) (tumbling: slide = size).
 *
 * Windows are [k·slide, k·slide + size). A window is open while end + allowedLateness >
 * watermark. A record is late when every window containing it is closed (or, with size <
 * slide, when it falls between windows); otherwise it is added to its slice (and so counts in
 * every window containing it that is still open: closed ones were emitted or dropped before).
 *
 * emit 'updates': one 'update' per open window containing the record (asOf = event time),
 *   each the merge of that window's live slices (size/slide ≤ 100 is the topology's job).
 *   A slice is deleted once its last window closes; nothing is emitted then.
 * emit 'final': one 'final' per window that holds at least one accepted record, when the
 *   watermark reaches end + allowedLateness (asOf = that close time). With one slice per
 *   window the slice is the value. Otherwise the head keeps `cur`, the next window to close,
 *   and range trackers over its slices (range-tracker.ts): closing a window and moving to the
 *   next is O(1) amortized (slices leave at the old end, enter at the new end); windows that
 *   hold no slice are skipped. An out-of-order record that opens an earlier window moves
 *   `cur` back and rebuilds the trackers from the slices in range.
 */
import type { Row, Value } from '../../core/record.js';
import type { AggregateSet, Accumulators } from './aggregate-set.js';
import { dropKey, firedHead, loadHead, rearm, takeDueTimer, type Ctx, type WindowEngine } from './engine.js';
import { firstOpenWindowStart, firstWindowStart, floorTo, gcd, hasSorted, insertSorted, lowerBound } from './slices.js';
import { NO_TIMER, type SlicedHead } from './state.js';
import type { EmitMode, WindowOutputs } from './types.js';

export class SlicedWindow implements WindowEngine {
  private readonly len: number;
  /** emit 'final' with several slices per window. */
  private readonly tracked: boolean;

  constructor(
    private readonly set: AggregateSet,
    private readonly size: number,
    private readonly slide: number,
    private readonly emitMode: EmitMode,
    private readonly lateness: number,
  ) {
    this.len = gcd(size, slide);
    this.tracked = emitMode === 'final' && this.len !== size;
  }

  onRecord(ctx: Ctx, key: Value, kb: Uint8Array, t: number, row: Row, wm: number, out: WindowOutputs, order: number): void {
    const { size, slide, lateness } = this;
    const lastStart = floorTo(t, slide);
    if (t >= lastStart + size) {
      out.late(`event time ${t} falls between hopping windows (size ${size} ms < slide ${slide} ms)`);
      return;
    }
    if (lastStart + size + lateness <= wm) {
      out.late(`every window containing event time ${t} closed: last one ends at ${lastStart + size}, allowed lateness ${lateness} ms, watermark ${wm}`);
      return;
    }
    const prepared = this.set.prepare(row, t);
    let head = loadHead(ctx, kb, 'sliced');
    if (takeDueTimer(ctx, kb, head, wm)) head = this.advance(ctx, key, kb, head!, wm, out);
    head ??= { kind: 'sliced', seq: 0, timer: NO_TIMER, slices: [], cur: null, trk: null };

    const s = floorTo(t, this.len);
    const seq = head.seq++;
    // head.slices lists exactly the stored slices: a new slice costs no store lookup.
    const existing = hasSorted(head.slices, s) ? ctx.store.getSlice(kb, s) : undefined;
    const slice = existing ?? this.set.create();
    const changed = this.set.add(slice, prepared, t, order, seq);
    ctx.store.putSlice(kb, s, slice);
    if (existing === undefined) insertSorted(head.slices, s);

    if (this.tracked) {
      const w0 = Math.max(firstWindowStart(s, size, slide), firstOpenWindowStart(size, slide, lateness, wm));
      if (head.cur === null || w0 < head.cur) this.rebuild(ctx, kb, head, w0);
      else if (s < head.cur + size) this.set.trackersAdd(head.trk!, s, slice, changed, prepared, t, order, seq);
    }
    rearm(ctx, kb, head, this.nextTimer(head));
    ctx.store.putHead(kb, head);
    if (this.emitMode === 'updates') this.emitUpdates(ctx, key, kb, head, t, wm, out);
  }

  onTimer(ctx: Ctx, key: Value, kb: Uint8Array, time: number, wm: number, out: WindowOutputs): void {
    const head = firedHead(ctx, kb, 'sliced', time);
    if (head !== undefined) this.advance(ctx, key, kb, head, wm, out);
  }

  /** Closes (and for 'final' emits) every window due as of wm; returns the head, or undefined once the key is empty. */
  private advance(ctx: Ctx, key: Value, kb: Uint8Array, head: SlicedHead, wm: number, out: WindowOutputs): SlicedHead | undefined {
    const { size, slide, lateness } = this;
    const slices = head.slices;
    if (this.emitMode === 'updates') {
      while (slices.length > 0 && floorTo(slices[0]!, slide) + size + lateness <= wm) ctx.store.deleteSlice(kb, slices.shift()!);
    } else if (!this.tracked) {
      while (slices.length > 0 && slices[0]! + size + lateness <= wm) {
        const s = slices.shift()!;
        const slice = ctx.store.getSlice(kb, s)!;
        out.emit({ key, windowStart: s, windowEnd: s + size, asOf: s + size + lateness, kind: 'final', values: this.set.results(slice) });
        ctx.store.deleteSlice(kb, s);
      }
    } else {
      while (head.cur !== null && head.cur + size + lateness <= wm) {
        const cur = head.cur;
        const end = cur + size;
        if (slices.length > 0 && slices[0]! < end) {
          const range = { store: ctx.store, key: kb, starts: slices, lo: 0, hi: lowerBound(slices, end) };
          const values = this.set.trackerResults(head.trk!, range);
          out.emit({ key, windowStart: cur, windowEnd: end, asOf: end + lateness, kind: 'final', values });
        }
        const next = cur + slide;
        // Slices before `next` belong to no window after this one.
        while (slices.length > 0 && slices[0]! < next) {
          const s = slices.shift()!;
          this.set.trackersLeave(head.trk!, s, ctx.store.getSlice(kb, s)!);
          ctx.store.deleteSlice(kb, s);
        }
        if (slices.length === 0) {
          head.cur = null;
        } else if (slices[0]! >= next + size) {
          // Nothing until the window of the next live slice: skip the empty windows.
          this.rebuild(ctx, kb, head, firstWindowStart(slices[0]!, size, slide));
        } else {
          for (let i = lowerBound(slices, end); i < slices.length && slices[i]! < next + size; i++) {
            this.set.trackersEnter(head.trk!, slices[i]!, ctx.store.getSlice(kb, slices[i]!)!);
          }
          head.cur = next;
        }
      }
    }
    if (slices.length === 0) {
      dropKey(ctx, kb, head);
      return undefined;
    }
    rearm(ctx, kb, head, this.nextTimer(head));
    ctx.store.putHead(kb, head);
    return head;
  }

  private nextTimer(head: SlicedHead): number {
    const { size, slide, lateness } = this;
    if (this.tracked) return head.cur! + size + lateness;
    // updates: when the oldest slice's last window closes; final with one slice per window: when it closes.
    return floorTo(head.slices[0]!, slide) + size + lateness;
  }

  /** Points `cur` at window [w, w + size) and recomputes its trackers from the live slices. */
  private rebuild(ctx: Ctx, kb: Uint8Array, head: SlicedHead, w: number): void {
    head.cur = w;
    head.trk = this.set.trackersCreate();
    const slices = head.slices;
    for (let i = lowerBound(slices, w); i < slices.length && slices[i]! < w + this.size; i++) {
      this.set.trackersEnter(head.trk, slices[i]!, ctx.store.getSlice(kb, slices[i]!)!);
    }
  }

  private emitUpdates(ctx: Ctx, key: Value, kb: Uint8Array, head: SlicedHead, t: number, wm: number, out: WindowOutputs): void {
    const { size, slide, lateness } = this;
    const from = Math.max(firstWindowStart(t, size, slide), firstOpenWindowStart(size, slide, lateness, wm));
    const to = floorTo(t, slide);
    if (this.len === size) {
      const slice = ctx.store.getSlice(kb, to)!;
      out.emit({ key, windowStart: to, windowEnd: to + size, asOf: t, kind: 'update', values: this.set.results(slice) });
      return;
    }
    // Read each live slice of the affected windows once, then merge per window.
    const starts: number[] = [];
    const accs: Accumulators[] = [];
    const slices = head.slices;
    for (let i = lowerBound(slices, from); i < slices.length && slices[i]! < to + size; i++) {
      starts.push(slices[i]!);
      accs.push(ctx.store.getSlice(kb, slices[i]!)!);
    }
    for (let w = from; w <= to; w += slide) {
      const lo = lowerBound(starts, w);
      const hi = lowerBound(starts, w + size);
      const values = this.set.results(this.set.mergeAll(accs.slice(lo, hi)));
      out.emit({ key, windowStart: w, windowEnd: w + size, asOf: t, kind: 'update', values });
    }
  }
}
