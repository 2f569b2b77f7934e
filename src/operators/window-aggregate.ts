import type { WindowStep } from '../topology/plan.js';
import { TIMER_OFFSET, type Origin, type Row, type StreamRecord } from '../core/record.js';
import { WindowedAggregation } from './windows/windowed-aggregation.js';
import type { WindowOutputs, WindowResult } from './windows/types.js';
import { decodeKey, encodeKeyInto, KeyScratch } from '../state/codec/key.js';
import { TributaryError, errorMessage } from '../core/errors.js';
import type { OperatorFactory } from './types.js';

/** The output row of a window step: key, window bounds, what caused it, then one field per aggregate. */
export function windowRow(result: WindowResult): Row {
  const row: Row = {
    key: result.key,
    window_start: result.windowStart,
    window_end: result.windowEnd,
    as_of: result.asOf,
    emit: result.kind,
  };
  // A loop, not a spread: this runs once or twice per record and spread into a literal is slower.
  const values = result.values;
  for (const name in values) row[name] = values[name]!;
  return row;
}

const OFFSET_LIMIT = 2 ** 41;
const sourceTags = new Map<string, number>();
let lastSource = '';
let lastTag = -1;

/** FNV-1a of the source name, 4 bits: stable across runs and processes. */
function sourceTag(source: string): number {
  if (source === lastSource && lastTag >= 0) return lastTag;
  let tag = sourceTags.get(source);
  if (tag === undefined) {
    let h = 0x811c9dc5;
    for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193);
    tag = (h >>> 0) % 16;
    sourceTags.set(source, tag);
  }
  lastSource = source;
  lastTag = tag;
  return tag;
}

/**
 * A record's deterministic tie-break position for first/last (see WindowedAggregation.onRecord):
 *   offset · 4096 + partition · 16 + tag(source)
 * exact and distinct per (source, partition, offset) while offset < 2^41, partition < 256 and
 * the sources' 4-bit tags differ; always a safe integer (< 2^53). Beyond those bounds the parts
 * wrap (offset mod 2^41, partition mod 256): still a pure function of the origin, so still
 * deterministic, but two records may share an order and then fall back to arrival order. Records
 * from one source record (explode) share an order too, and arrive in a fixed order; results an
 * upstream window step emitted from a timer (offset −1) share one as well, and their arrival
 * order is only deterministic within one partition.
 */
export function recordOrder(origin: Origin): number {
  const { offset: o, partition: p } = origin;
  const offset = Number.isFinite(o) && o >= 0 ? Math.floor(o) % OFFSET_LIMIT : 0;
  const partition = Number.isFinite(p) && p >= 0 ? Math.floor(p) % 256 : 0;
  return offset * 4096 + partition * 16 + sourceTag(origin.source);
}

/** Wires the pure window semantics (operators/windows) to the task: stores, timers, outputs. */
export function windowOperator(step: WindowStep): OperatorFactory {
  const aggregation = new WindowedAggregation({
    window: step.window,
    aggregates: step.aggregates,
    emit: step.emit,
    allowedLateness: step.allowedLatenessMs,
    distinctExactLimit: step.distinctExactLimit,
  });
  return ({ ctx, state }) => {
    const windowCtx = {
      store: state.windowStore(step.id, ctx.partition, aggregation.headCodec, aggregation.sliceCodec),
      timers: state.timers(step.id, ctx.partition),
    };
    let current: StreamRecord | undefined;
    // The record key's bytes, rewritten per record: the store and the timers copy what they keep,
    // and no other call of this instance can run while a record is in it (a topology is a DAG).
    const scratch = new KeyScratch();
    // Results a timer caused have no input record; they share one origin (never mutated).
    const timerOrigin = { source: step.id, partition: ctx.partition, offset: TIMER_OFFSET };
    const outputs: WindowOutputs = {
      emit(result) {
        const origin = current?.origin ?? timerOrigin;
        ctx.emit({ value: windowRow(result), key: result.key, timestamp: result.asOf, origin });
      },
      late(reason) {
        if (current) ctx.late(current, reason);
      },
    };
    return {
      async open() {
        await state.loadTimers(step.id, ctx.partition);
      },
      process(record) {
        current = record;
        try {
          aggregation.onRecord(windowCtx, record.key, encodeKeyInto(record.key, scratch), record.timestamp, record.value, ctx.watermark, outputs, recordOrder(record.origin));
        } catch (err) {
          if (err instanceof TributaryError && err.code === 'TRIB_RECORD_INVALID') {
            ctx.deadLetter(record, `window step '${step.id}': ${errorMessage(err)}`, err);
          } else {
            throw err;
          }
        } finally {
          current = undefined;
        }
      },
      onWatermark(watermark) {
        const timers = windowCtx.timers;
        for (let due = timers.nextDue(watermark); due; due = timers.nextDue(watermark)) {
          aggregation.onTimer(windowCtx, decodeKey(due.key), due.key, due.time, watermark, outputs);
        }
      },
    };
  };
}
