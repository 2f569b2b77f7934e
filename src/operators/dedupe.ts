/** `dedupe: { within, by }`: drops records whose identity was seen within a span of event time. */
import { s } from '../core/spec.js';
import { formatDuration } from '../core/duration.js';
import type { CompiledExpression } from '../expr/types.js';
import type { ValueCodec } from '../state/types.js';
import { ByteReader, ByteWriter } from '../state/codec/bytes.js';
import { encodeKey } from '../state/codec/key.js';
import { stores } from './stores.js';
import { defineStep, type Planned } from './step-module.js';
import { expressionFailure } from './failures.js';

export interface DedupeParams {
  /** Identity of a duplicate; default: the record key. */
  by?: CompiledExpression;
  withinMs: number;
}

export type DedupeStep = Planned<'dedupe', DedupeParams>;

/** First-seen event time of an identity. */
const firstSeenCodec: ValueCodec<number> = {
  encode: (t) => new ByteWriter(10).f64(t).finish(),
  decode: (b) => new ByteReader(b).f64(),
};

export const dedupeStep = defineStep({
  kind: 'dedupe',
  spec: s
    .object({
      within: s.duration({ min: 1 }).describe('How long an identity is remembered.'),
      by: s.string({ minLength: 1 }).optional().describe('Expression giving the identity (default: the record key).'),
    })
    .describe('Drops records whose identity was seen within `within`; needs a keyed input.'),
  needsKey: true,
  lateOutput: true,
  plan(c, ctx): DedupeParams | undefined {
    if (c.dedupe.by === undefined) return { withinMs: c.dedupe.within };
    const by = ctx.expression(['dedupe', 'by'], c.dedupe.by);
    return by && { by, withinMs: c.dedupe.within };
  },
  state: {
    stores: () => ({ seen: stores.kv(firstSeenCodec), timers: stores.timers() }),
    identity: (_st, c, key) => ({ kind: 'dedupe', key, within: c.dedupe.within, by: c.dedupe.by?.trim() ?? null }),
  },
  // Rows and keys are kept (or output fields derive from them): partitioned as the input.
  partitionedBy: (_st, input) => input,
  describe: (st) => [`within ${formatDuration(st.withinMs)} by ${st.by?.source ?? 'key'}`],
  toJson: (st) => ({ withinMs: st.withinMs, by: st.by?.source ?? null }),
  /**
   * Drops a record whose identity (the `by` expression within the record key, or the key itself)
   * was seen less than `within` of event time away from the newest earlier occurrence. The
   * first-seen entry is deleted by an event-time timer once the watermark passes first-seen +
   * within, so state stays bounded. A record older than watermark − within cannot be judged any
   * more: it goes to `.late`.
   */
  operator: (step) => (ctx, { seen, timers }) => {
    const within = step.withinMs;
    return {
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
  },
});
