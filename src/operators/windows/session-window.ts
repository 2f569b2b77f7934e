/**
 * Session windows with inactivity gap g. A session is [first, last + g) over its records' event
 * times; a record at t joins every open session that its own would-be session [t, t + g)
 * overlaps, and sessions it bridges merge (accumulators merge; the merged state is stored under
 * the merged start). A record is late when it joins no open session and [t, t + g) would
 * already be closed: t + g + allowedLateness ≤ watermark.
 *
 * emit 'updates': one 'update' per record with its (merged) session's value, asOf = t.
 * emit 'final': one 'final' per session when the watermark reaches last + g + allowedLateness
 *   (asOf = that time). In both modes the session's state is deleted when it closes.
 */
import type { Row, Value } from '../../core/record.js';
import type { AggregateSet } from './aggregate-set.js';
import { dropKey, firedHead, loadHead, rearm, takeDueTimer, type Ctx, type WindowEngine } from './engine.js';
import { lowerBound } from './slices.js';
import { NO_TIMER, type SessionHead } from './state.js';
import type { EmitMode, WindowOutputs } from './types.js';

export class SessionWindow implements WindowEngine {
  constructor(
    private readonly set: AggregateSet,
    private readonly gap: number,
    private readonly emitMode: EmitMode,
    private readonly lateness: number,
  ) {}

  onRecord(ctx: Ctx, key: Value, kb: Uint8Array, t: number, row: Row, wm: number, out: WindowOutputs, order: number): void {
    const gap = this.gap;
    let head = loadHead(ctx, kb, 'session');
    if (takeDueTimer(ctx, kb, head, wm)) head = this.close(ctx, key, kb, head!, wm, out);
    // Open sessions overlapping [t, t + gap): lasts[i] + gap > t and starts[i] < t + gap (both arrays ascend).
    const from = head ? firstAbove(head.lasts, t - gap) : 0;
    const to = head ? lowerBound(head.starts, t + gap) : 0;
    if (from >= to && t + gap + this.lateness <= wm) {
      out.late(`event time ${t} joins no open session and its session [${t}, ${t + gap}) closed (allowed lateness ${this.lateness} ms, watermark ${wm})`);
      return;
    }
    const prepared = this.set.prepare(row, t);
    head ??= { kind: 'session', seq: 0, timer: NO_TIMER, starts: [], lasts: [] };
    const seq = head.seq++;
    let start = t;
    let last = t;
    let accs = this.set.create();
    if (from < to) {
      start = Math.min(head.starts[from]!, t);
      last = Math.max(head.lasts[to - 1]!, t);
      accs = ctx.store.getSlice(kb, head.starts[from]!)!;
      for (let i = from + 1; i < to; i++) {
        this.set.merge(accs, ctx.store.getSlice(kb, head.starts[i]!)!);
        ctx.store.deleteSlice(kb, head.starts[i]!);
      }
      if (start !== head.starts[from]) ctx.store.deleteSlice(kb, head.starts[from]!);
    }
    this.set.add(accs, prepared, t, order, seq);
    ctx.store.putSlice(kb, start, accs);
    head.starts.splice(from, to - from, start);
    head.lasts.splice(from, to - from, last);
    rearm(ctx, kb, head, head.lasts[0]! + gap + this.lateness);
    ctx.store.putHead(kb, head);
    if (this.emitMode === 'updates') {
      out.emit({ key, windowStart: start, windowEnd: last + gap, asOf: t, kind: 'update', values: this.set.results(accs) });
    }
  }

  onTimer(ctx: Ctx, key: Value, kb: Uint8Array, time: number, wm: number, out: WindowOutputs): void {
    const head = firedHead(ctx, kb, 'session', time);
    if (head !== undefined) this.close(ctx, key, kb, head, wm, out);
  }

  private close(ctx: Ctx, key: Value, kb: Uint8Array, head: SessionHead, wm: number, out: WindowOutputs): SessionHead | undefined {
    const { gap, lateness } = this;
    let n = 0;
    while (n < head.starts.length && head.lasts[n]! + gap + lateness <= wm) {
      const start = head.starts[n]!;
      const end = head.lasts[n]! + gap;
      if (this.emitMode === 'final') {
        const accs = ctx.store.getSlice(kb, start)!;
        out.emit({ key, windowStart: start, windowEnd: end, asOf: end + lateness, kind: 'final', values: this.set.results(accs) });
      }
      ctx.store.deleteSlice(kb, start);
      n++;
    }
    head.starts.splice(0, n);
    head.lasts.splice(0, n);
    if (head.starts.length === 0) {
      dropKey(ctx, kb, head);
      return undefined;
    }
    rearm(ctx, kb, head, head.lasts[0]! + gap + lateness);
    ctx.store.putHead(kb, head);
    return head;
  }
}

/** Index of the first element > x in an ascending array. */
function firstAbove(arr: readonly number[], x: number): number {
  let lo = 0;
  let hi = arr.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (arr[mid]! <= x) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
