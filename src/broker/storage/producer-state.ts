/**
 * Idempotent-producer bookkeeping for one partition, after Kafka's ProducerStateManager:
 * per producer id the current epoch and the last five batches' sequence ranges, so a
 * retried batch is recognised (acknowledged with its original offset, not re-appended)
 * and a gap in sequences is refused.
 */
import { KafkaError } from '../protocol/error-codes.js';

interface BatchSeq {
  firstSeq: number;
  lastSeq: number;
  baseOffset: number;
}
interface ProducerEntry {
  epoch: number;
  recent: BatchSeq[];
}

export type SequenceCheck =
  | { kind: 'append' }
  | { kind: 'duplicate'; baseOffset: number }
  | { kind: 'error'; code: number };

const MAX_RECENT = 5;
const INT32_MAX = 0x7fffffff;

export function lastSequence(baseSequence: number, lastOffsetDelta: number): number {
  const last = baseSequence + lastOffsetDelta;
  return last > INT32_MAX ? last - INT32_MAX - 1 : last;
}

export class ProducerStateTable {
  private readonly producers = new Map<number, ProducerEntry>();

  check(producerId: number, epoch: number, firstSeq: number, lastSeq: number): SequenceCheck {
    if (producerId < 0 || firstSeq < 0) return { kind: 'append' };
    const entry = this.producers.get(producerId);
    // An unknown producer (new, or state lost with an old segment) starts wherever it is.
    if (!entry) return { kind: 'append' };
    if (epoch < entry.epoch) return { kind: 'error', code: KafkaError.INVALID_PRODUCER_EPOCH };
    if (epoch > entry.epoch) {
      return firstSeq === 0 ? { kind: 'append' } : { kind: 'error', code: KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER };
    }
    const dup = entry.recent.find((b) => b.firstSeq === firstSeq && b.lastSeq === lastSeq);
    if (dup) return { kind: 'duplicate', baseOffset: dup.baseOffset };
    const last = entry.recent[entry.recent.length - 1];
    const expected = last ? (last.lastSeq === INT32_MAX ? 0 : last.lastSeq + 1) : firstSeq;
    if (firstSeq !== expected) return { kind: 'error', code: KafkaError.OUT_OF_ORDER_SEQUENCE_NUMBER };
    return { kind: 'append' };
  }

  record(producerId: number, epoch: number, firstSeq: number, lastSeq: number, baseOffset: number): void {
    if (producerId < 0 || firstSeq < 0) return;
    let entry = this.producers.get(producerId);
    if (!entry || entry.epoch !== epoch) {
      entry = { epoch, recent: [] };
      this.producers.set(producerId, entry);
    }
    entry.recent.push({ firstSeq, lastSeq, baseOffset });
    if (entry.recent.length > MAX_RECENT) entry.recent.shift();
  }
}
