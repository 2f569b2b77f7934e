/** What every window kind implements, and the timer/head bookkeeping they share. */
import { TributaryError } from '../../core/errors.js';
import type { Row, Value } from '../../core/record.js';
import type { WindowContext, WindowOutputs } from './types.js';
import { NO_TIMER, type WindowHead, type WindowSlice } from './state.js';

export type Ctx = WindowContext<WindowHead, WindowSlice>;

export interface WindowEngine {
  /** `order`: the record's deterministic tie-break position (WindowedAggregation.onRecord). */
  onRecord(ctx: Ctx, key: Value, keyBytes: Uint8Array, time: number, row: Row, watermark: number, out: WindowOutputs, order: number): void;
  /** Does everything due as of the watermark; safe to call when nothing is due. `tagged`: as the engine registered it. */
  onTimer(ctx: Ctx, key: Value, keyBytes: Uint8Array, time: number, watermark: number, out: WindowOutputs, tagged: boolean): void;
}

/** The key's head, checked to be of the kind this step stores (another kind means foreign state). */
export function loadHead<K extends WindowHead['kind']>(ctx: Ctx, keyBytes: Uint8Array, kind: K): Extract<WindowHead, { kind: K }> | undefined {
  const head = ctx.store.getHead(keyBytes);
  if (head === undefined) return undefined;
  if (head.kind !== kind) {
    throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `window state holds a ${head.kind} window where a ${kind} window was expected`);
  }
  return head as Extract<WindowHead, { kind: K }>;
}

/** Keeps exactly one timer per key, at `at` (or none: NO_TIMER). */
export function rearm(ctx: Ctx, keyBytes: Uint8Array, head: WindowHead, at: number): void {
  if (head.timer === at) return;
  if (!Number.isNaN(head.timer)) ctx.timers.delete(head.timer, keyBytes);
  if (!Number.isNaN(at)) ctx.timers.register(at, keyBytes);
  head.timer = at;
}

/**
 * onTimer for every kind: the runtime removed this timer already (so it is forgotten, not deleted
 * twice); returns the head for the caller to do whatever is due as of the watermark. A timer for
 * a key whose state is gone (undefined), or one that was re-armed away, is harmless.
 */
export function firedHead<K extends WindowHead['kind']>(ctx: Ctx, keyBytes: Uint8Array, kind: K, time: number): Extract<WindowHead, { kind: K }> | undefined {
  const head = loadHead(ctx, keyBytes, kind);
  if (head !== undefined && head.timer === time) head.timer = NO_TIMER;
  return head;
}

/**
 * A timer may be due but not yet fired when a record arrives (the runtime may advance the
 * watermark before delivering timers): take it now, so a record never lands in a window that
 * should already have closed. Returns whether it was due.
 */
export function takeDueTimer(ctx: Ctx, keyBytes: Uint8Array, head: WindowHead | undefined, watermark: number): boolean {
  // NaN (no timer) is not <= anything.
  if (head === undefined || !(head.timer <= watermark)) return false;
  ctx.timers.delete(head.timer, keyBytes);
  head.timer = NO_TIMER;
  return true;
}

/** Deletes the head and its timer (the caller has deleted the slices). */
export function dropKey(ctx: Ctx, keyBytes: Uint8Array, head: WindowHead): void {
  rearm(ctx, keyBytes, head, NO_TIMER);
  ctx.store.deleteHead(keyBytes);
}
