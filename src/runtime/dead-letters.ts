/**
 * Where records that cannot go on end up, with the reason and their source position: late
 * records to `<step>.late`, bad records and rows a sink refused for good to the `dlq` output.
 * Nothing is dropped silently: every one is counted, and logged at most every 5 s.
 */
import { TributaryError } from '../core/errors.js';
import type { Logger } from '../core/logger.js';
import { TIMER_OFFSET, type Origin, type Row, type StreamRecord } from '../core/record.js';
import type { SinkRecord } from '../connectors/types.js';
import type { Counters } from './counters.js';
import type { SinkRuntime } from './sink-runtime.js';

const LOG_EVERY_MS = 5000;

export class DeadLetters {
  private lastLog = 0;
  /** Records sinks refused for good so far (a checkpoint flushes the DLQ sinks again when this moved). */
  private refusals = 0;

  constructor(
    private readonly dlqSinks: readonly SinkRuntime[],
    private readonly counters: Counters,
    private readonly logger: Logger,
    /** The Kafka topic a source id reads, if it reads one. */
    private readonly topicOf: (source: string) => string | undefined,
  ) {}

  /** The side-output row of a late record. */
  lateRow(stepId: string, record: StreamRecord, reason: string, watermark: number): Row {
    this.counters.add('late');
    return { reason, step: stepId, ...this.whereFrom(record.origin), event_time: record.timestamp, watermark: Number.isFinite(watermark) ? watermark : null, record: record.value };
  }

  /** A bad record, or one an operator could not process. */
  record(stepId: string, record: StreamRecord, reason: string, error?: unknown): void {
    const code = error instanceof TributaryError ? error.code : error === undefined ? 'TRIB_RECORD_INVALID' : 'TRIB_USER_OPERATOR';
    const where = this.whereFrom(record.origin);
    const row: Row = { reason, error_code: code, step: stepId, ...where, record: record.value };
    this.count(reason, stepId, where);
    for (const sink of this.dlqSinks) sink.add({ key: record.key, value: row, timestamp: record.timestamp, origin: record.origin });
  }

  /** A record a sink rejected for good (SinkContext.deadLetter): the same row, step = the sink. */
  refused(sinkId: string, record: SinkRecord, reason: string): void {
    this.refusals++;
    const where = this.whereFrom(record.origin);
    const row: Row = { reason, error_code: 'TRIB_SINK', step: sinkId, ...where, record: record.value };
    this.count(reason, sinkId, where);
    // Not back into the sink that rejected it (a DLQ sink refusing a dead letter would loop).
    for (const sink of this.dlqSinks) if (sink.id !== sinkId) sink.add({ key: null, value: row, timestamp: Date.now(), origin: record.origin });
  }

  /** A mark to pass to flushLate: how many refusals there were when a checkpoint began. */
  get refusalCount(): number {
    return this.refusals;
  }

  /**
   * Sinks settle what they refuse while they flush, so the dead letters of a checkpoint's records
   * reach the DLQ sinks after those began their own flush: flush them again (and again, while
   * they refuse dead letters of their own) so a checkpoint never counts an input whose dead
   * letter is not durable. Returns the first failure, as the checkpoint's flushes do.
   */
  async flushLate(refusedBefore: number): Promise<PromiseRejectedResult | undefined> {
    let seen = refusedBefore;
    for (let round = 0; round <= this.dlqSinks.length && this.refusals !== seen; round++) {
      seen = this.refusals;
      const settled = await Promise.allSettled(this.dlqSinks.map((sink) => sink.sink.flush()));
      const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) return failed;
    }
    return undefined;
  }

  /**
   * Where a dead letter's record can be read again: its origin, plus the topic of a Kafka input (a
   * source's or a repartition topic's). Null fields when a sink hands back a record without one.
   * A timer's output has no input position (source = its step, offset TIMER_OFFSET): the row says so.
   */
  private whereFrom(origin: Origin | undefined): Row {
    if (origin === undefined) return { source: null, partition: null, offset: null };
    const { source, partition, offset } = origin;
    if (offset === TIMER_OFFSET) return { source, partition, offset, emitted_by: 'timer' };
    const topic = this.topicOf(source);
    return topic === undefined ? { source, partition, offset } : { source, topic, partition, offset };
  }

  private count(reason: string, step: string, where: Row): void {
    this.counters.add('deadLettered');
    const now = Date.now();
    if (now - this.lastLog > LOG_EVERY_MS) {
      this.lastLog = now;
      this.logger.warn('record dead-lettered (further ones logged at most every 5 s; all are counted)', { reason, step, ...where });
    }
  }
}
