/**
 * The processor API: small operators with open / process / onWatermark / close.
 * The runtime hands each operator instance its context and the typed stores its step module
 * declared (step-module.ts, stores.ts); operators never reach back into the topology or the runtime.
 */
import type { StreamRecord } from '../core/record.js';

export interface OperatorContext {
  readonly stepId: string;
  /** Task partition this instance serves (the source partition, or the key partition after keyBy). */
  readonly partition: number;
  /** The task's current event-time watermark (−Infinity before any). */
  readonly watermark: number;
  /** Send a record downstream. `partition` re-routes it (keyBy only). */
  emit(record: StreamRecord, partition?: number): void;
  /**
   * False when emit ignores its partition (Kafka mode, a keyBy on the topic's partition key: the
   * record stays in its task), so a keyBy need not hash. Absent means true.
   */
  readonly routes?: boolean;
  /** The step's `.late` side output: the record and why it was late. */
  late(record: StreamRecord, reason: string): void;
  /** The topology's dead-letter output: the record, why, and the error. Processing goes on. */
  deadLetter(record: StreamRecord, reason: string, error?: unknown): void;
  /** Count something for the summary/metrics (e.g. duplicates dropped). */
  count(metric: string, n?: number): void;
}

export interface Operator {
  /** Called once per instance before its first record (e.g. load a user module). */
  open?(): Promise<void>;
  process(record: StreamRecord): void;
  /** The watermark advanced: fire due timers. */
  onWatermark?(watermark: number): void;
  close?(): Promise<void>;
}
