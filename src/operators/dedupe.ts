import type { DedupeStep } from '../topology/plan.js';
import type { ValueCodec } from '../state/types.js';
import { ByteReader, ByteWriter } from '../state/codec/bytes.js';
import { encodeKey } from '../state/codec/key.js';
import type { OperatorFactory } from './types.js';
import { expressionFailure } from './failures.js';

/** First-seen event time of an identity. */
const firstSeenCodec: ValueCodec<number> = {
  encode: (t) => new ByteWriter(10).f64(t).finish(),
  decode: (b) => new ByteReader(b).f64(),
};

/**
 * Drops a record whose identity (the `by` expression within the record key, or the key itself)
 * was seen less than `within` of event time away from the newest earlier occurrence. The first-seen entry is deleted by an
 * event-time timer once the watermark passes first-seen + within, so state stays bounded.
 * A record older than watermark − within cannot be judged any more: it goes to `.late`.
 */
export function dedupeOperator(step: DedupeStep): OperatorFactory {
  const within = step.withinMs;
  return ({ ctx, state }) => {
    const seen = state.kvStore(step.id, ctx.partition, firstSeenCodec);
    const timers = state.timers(step.id, ctx.partition);
    return {
      async open() {
        await state.loadTimers(step.id, ctx.partition);
      },
      process(record) {
        let identity;
        try {
          identity = step.by ? [record.key, step.by.evaluate(record.value, { time: record.timestamp, key: record.key })] : record.key;
        } catch (err) {
          expressionFailure(ctx, record, step.id, 'dedupe', err);
          return;
        }
        const t = record.timestamp;
        if (t + within <= ctx.watermark) {
          ctx.late(record, `event time ${new Date(t).toISOString()} is more than ${within} ms behind the watermark; duplicates can no longer be detected`);
          return;
        }
        const id = encodeKey(identity);
        const first = seen.get(id);
        if (first !== undefined && Math.abs(t - first) < within) {
          ctx.count('duplicates');
          return;
        }
        // Remember the newest occurrence so later copies within the span are caught.
        const keep = first === undefined ? t : Math.max(first, t);
        if (first !== keep) {
          if (first !== undefined) timers.delete(first + within, id);
          seen.put(id, keep);
          timers.register(keep + within, id);
        }
        ctx.emit(record);
      },
      onWatermark(watermark) {
        for (let due = timers.nextDue(watermark); due; due = timers.nextDue(watermark)) {
          const first = seen.get(due.key);
          if (first !== undefined && first + within <= due.time) seen.delete(due.key);
        }
      },
    };
  };
}
