/** `keyBy: <expression>`: sets the record key; the streams after it are keyed (and repartitioned) by it. */
import { s } from '../core/spec.js';
import type { CompiledExpression } from '../expr/types.js';
import { KeyScratch, keyToPartitionBytesInto } from '../state/codec/key.js';
import { partitionForKey } from '../core/partitioner.js';
import { defineStep, type Planned } from './step-module.js';
import { expressionFailure } from './failures.js';

export interface KeyByParams {
  key: CompiledExpression;
  /** Source text of the key expression (also the repartition identity). */
  keySource: string;
}

/** The plan always decides `repartition` for a keyBy (topology/partitioning.ts). */
export type KeyByStep = Planned<'keyBy', KeyByParams> & { readonly repartition: boolean };

export const keyByStep = defineStep({
  kind: 'keyBy',
  spec: s.string({ minLength: 1 }).describe('Expression giving the record key; re-partitions by it.'),
  setsKey: (c) => c.keyBy.trim(),
  plan(c, ctx): KeyByParams | undefined {
    const key = ctx.expression(['keyBy'], c.keyBy);
    return key && { key, keySource: c.keyBy.trim() };
  },
  describe: (st) => [`key ${st.keySource}`],
  toJson: (st) => ({ keySource: st.keySource }),
  /**
   * Routes each record to the task partition that owns its key (murmur2 of the key's Kafka bytes,
   * like the Java client), so every record of a key reaches the same state namespace (not hashed
   * where the runtime keeps records in their task: Kafka mode without a repartition topic).
   * A null key cannot be owned by anyone: it is dead-lettered.
   */
  operator: (step, { partitions }) => (ctx) => {
    // The key's bytes only choose the partition: encoded in place, no array per record.
    const scratch = new KeyScratch();
    const routes = ctx.routes ?? true;
    return {
      process(record) {
        let key;
        try {
          key = step.key.evaluate(record.value, { time: record.timestamp, key: record.key });
        } catch (err) {
          expressionFailure(ctx, record, step.id, 'keyBy', err);
          return;
        }
        if (key === null || key === undefined) {
          ctx.deadLetter(record, `keyBy '${step.keySource}' of step '${step.id}' gave a null key`);
          return;
        }
        const out = { value: record.value, key, timestamp: record.timestamp, origin: record.origin };
        if (routes) ctx.emit(out, partitionForKey(keyToPartitionBytesInto(key, scratch), partitions));
        else ctx.emit(out);
      },
    };
  },
});
