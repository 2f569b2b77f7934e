import type { WindowStep } from '../topology/plan.js';
import type { Row, StreamRecord } from '../runtime/record.js';
import { WindowedAggregation } from './windows/windowed-aggregation.js';
import type { WindowOutputs, WindowResult } from './windows/types.js';
import { decodeKey, encodeKey } from '../state/codec/key.js';
import { TributaryError, errorMessage } from '../errors.js';
import type { OperatorFactory } from './types.js';

/** The output row of a window step: key, window bounds, what caused it, then one field per aggregate. */
export function windowRow(result: WindowResult): Row {
  return {
    key: result.key,
    window_start: result.windowStart,
    window_end: result.windowEnd,
    as_of: result.asOf,
    emit: result.kind,
    ...result.values,
  };
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
    const outputs: WindowOutputs = {
      emit(result) {
        const origin = current?.origin ?? { source: step.id, partition: ctx.partition, offset: -1 };
        ctx.emit({ key: result.key, value: windowRow(result), timestamp: result.asOf, origin });
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
          aggregation.onRecord(windowCtx, record.key, encodeKey(record.key), record.timestamp, record.value, ctx.watermark, outputs);
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
