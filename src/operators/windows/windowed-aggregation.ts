/**
 * The window operator's logic for one step: pure, given a WindowStore and a TimerService.
 * Window semantics per kind are documented at the top of sliced-window.ts (tumbling, hopping),
 * rolling-window.ts and session-window.ts; slice arithmetic in slices.ts; aggregates in
 * aggregates/. Common rules:
 * - Event times are whole epoch milliseconds (fractions are floored).
 * - The watermark passed in is the task's, non-decreasing; −Infinity before any.
 * - A key has one head (state.ts) and sparse slices; one event touches O(1) slices (amortized),
 *   whatever size/slide/resolution. A key's state is deleted when nothing is live, timer included.
 * - One timer per key, at the next time something is due. A due timer that the runtime has not
 *   delivered yet is taken when the key's next record arrives, so results do not depend on
 *   whether the runtime fires timers before or after handing over a record.
 * - Arguments are evaluated and validated for all aggregates before state changes: a bad value
 *   (sum of "abc") throws TributaryError TRIB_RECORD_INVALID and the record leaves no trace.
 * - first/last break event-time ties by the record's `order` (then arrival, for equal orders);
 *   latest is arrival order. See aggregates/positional.ts.
 */
import { TributaryError } from '../../core/errors.js';
import type { Row, Value } from '../../core/record.js';
import type { ValueCodec } from '../../state/types.js';
import { AggregateSet } from './aggregate-set.js';
import type { WindowEngine } from './engine.js';
import { FlatLayout } from './flat-slices.js';
import { RollingWindow } from './rolling-window.js';
import { SessionWindow } from './session-window.js';
import { SlicedWindow } from './sliced-window.js';
import { headCodec, sliceCodec, type WindowHead, type WindowSlice } from './state.js';
import type { WindowContext, WindowedAggregationSpec, WindowOutputs, WindowSpec } from './types.js';

export type { WindowHead, WindowSlice } from './state.js';

function positiveInt(what: string, v: number): void {
  if (!Number.isInteger(v) || v <= 0) throw new TributaryError('TRIB_TOPOLOGY_INVALID', `window ${what} must be a positive whole number of milliseconds, got ${v}`);
}

function validate(spec: WindowedAggregationSpec): void {
  const w: WindowSpec = spec.window;
  if (w.kind === 'session') positiveInt('gap', w.gap);
  else positiveInt('size', w.size);
  if (w.kind === 'hopping') positiveInt('slide', w.slide);
  if (w.kind === 'rolling') {
    positiveInt('resolution', w.resolution);
    if (spec.emit === 'final') {
      throw new TributaryError('TRIB_TOPOLOGY_INVALID', "rolling windows emit on every event and on expiry; emit: final is not supported (use a tumbling or hopping window)");
    }
  }
  if (!Number.isFinite(spec.allowedLateness) || spec.allowedLateness < 0) {
    throw new TributaryError('TRIB_TOPOLOGY_INVALID', `allowed lateness must be ≥ 0 ms, got ${spec.allowedLateness}`);
  }
  if (!Number.isInteger(spec.distinctExactLimit) || spec.distinctExactLimit < 0) {
    throw new TributaryError('TRIB_TOPOLOGY_INVALID', `distinctExactLimit must be a whole number ≥ 0, got ${spec.distinctExactLimit}`);
  }
  if (spec.aggregates.length === 0) throw new TributaryError('TRIB_TOPOLOGY_INVALID', 'a window step needs at least one aggregate');
  const names = new Set<string>();
  for (const a of spec.aggregates) {
    if (names.has(a.name)) throw new TributaryError('TRIB_TOPOLOGY_INVALID', `two aggregates are named ${a.name}`);
    names.add(a.name);
  }
}

export class WindowedAggregation {
  readonly headCodec: ValueCodec<WindowHead>;
  readonly sliceCodec: ValueCodec<WindowSlice>;
  private readonly engine: WindowEngine;

  constructor(spec: WindowedAggregationSpec, options: { hllPrecision?: number } = {}) {
    validate(spec);
    const set = new AggregateSet(spec.aggregates, spec.distinctExactLimit, options.hllPrecision);
    const flat = spec.window.kind === 'rolling' ? FlatLayout.for(set, spec.distinctExactLimit) : undefined;
    this.headCodec = headCodec(set, flat);
    this.sliceCodec = sliceCodec(set);
    const w = spec.window;
    const lateness = spec.allowedLateness;
    switch (w.kind) {
      case 'tumbling':
        this.engine = new SlicedWindow(set, w.size, w.size, spec.emit, lateness);
        break;
      case 'hopping':
        this.engine = new SlicedWindow(set, w.size, w.slide, spec.emit, lateness);
        break;
      case 'rolling':
        this.engine = new RollingWindow(set, w.size, w.resolution, lateness, flat);
        break;
      case 'session':
        this.engine = new SessionWindow(set, w.gap, spec.emit, lateness);
        break;
    }
  }

  /**
   * `order`: a deterministic total order of records, a non-negative safe integer derived from the
   * record's source position (window-aggregate.ts: recordOrder). It decides first/last between
   * records of one key with the same event time, so that the answer does not depend on how
   * source partitions interleaved (which differs after a restart). Records with equal order
   * fall back to arrival order.
   */
  onRecord(ctx: WindowContext<WindowHead, WindowSlice>, key: Value, keyBytes: Uint8Array, time: number, row: Row, watermark: number, out: WindowOutputs, order: number): void {
    // Times are stored as zigzag varints (|t| < 2^52): refuse the record now, not the checkpoint later.
    if (!(Math.abs(time) < 2 ** 51)) throw new TributaryError('TRIB_RECORD_INVALID', `window: event time must be epoch milliseconds, got ${time}`);
    // Stored as an unsigned varint; anything else is the caller's bug, not the record's.
    if (!Number.isSafeInteger(order) || order < 0) throw new TributaryError('TRIB_INTERNAL', `window: record order must be a non-negative safe integer, got ${order}`);
    this.engine.onRecord(ctx, key, keyBytes, Math.floor(time), row, watermark, out, order);
  }

  /** For a due timer (time ≤ watermark) the runtime has already removed; `tagged` as registered (TimerService.register). */
  onTimer(ctx: WindowContext<WindowHead, WindowSlice>, key: Value, keyBytes: Uint8Array, time: number, watermark: number, out: WindowOutputs, tagged = false): void {
    this.engine.onTimer(ctx, key, keyBytes, time, watermark, out, tagged);
  }
}
