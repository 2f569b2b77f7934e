import type { KeyByStep } from '../topology/plan.js';
import { KeyScratch, keyToPartitionBytesInto } from '../state/codec/key.js';
import { partitionForKey } from '../core/partitioner.js';
import type { OperatorFactory } from './types.js';
import { expressionFailure } from './failures.js';

/**
 * Sets the record key and routes the record to the task partition that owns the key
 * (murmur2 of the key's Kafka bytes, like the Java client), so every record of a key reaches
 * the same state namespace (not hashed where the runtime keeps records in their task: Kafka mode
 * without a repartition topic). A null key cannot be owned by anyone: it is dead-lettered.
 */
export function keyByOperator(step: KeyByStep, partitions: number): OperatorFactory {
  return ({ ctx }) => {
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
  };
}
