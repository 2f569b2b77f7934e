/**
 * One source as the engine sees it: decoding, event-time extraction, per-partition watermark
 * tracking (max event time − maxOutOfOrderness; an input idle for idleTimeout stops holding the
 * watermark back), and positions (the next offset to read, as checkpointed).
 */
import type { RawRecord, Source } from '../connectors/types.js';
import type { PlannedSource } from '../topology/plan.js';
import type { Row, Value } from '../core/record.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { createFormat, type Format } from '../formats/registry.js';
import { TributaryError, errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export interface PartitionProgress {
  /** Next position to read. */
  position: number;
  /** Max event time seen (−Infinity before any record). */
  maxTime: number;
  /** The source's opaque resume token (RawRecord.token) of the last record, when it has one. */
  token?: string;
}

interface PartitionTracker extends PartitionProgress {
  lastActivity: number;
  started: boolean;
}

/** What a repartition input keeps per task partition (see runtime/repartition.ts). */
export interface RepartitionInputState {
  readonly stepId: string;
  forget(partition: number): void;
}

/** Undecodable values up to this size travel to the DLQ byte for byte (base64). */
const RAW_BYTES_KEPT = 64 * 1024;

/** Backoff between attempts to fetch what a batch needs (a schema registry that is down). */
const PREPARE_RETRY_FIRST_MS = 200;
const PREPARE_RETRY_MAX_MS = 15_000;

export interface PrepareOptions {
  /** Stops waiting for a failing dependency; prepare then answers false. */
  signal?: AbortSignal;
  logger?: Logger;
}

export type Decoded = { ok: true; row: Row; time: number } | { ok: false; reason: string; row: Row };

export class SourceRuntime {
  readonly id: string;
  readonly plan: PlannedSource;
  readonly source: Source;
  private readonly trackers = new Map<number, PartitionTracker>();
  private readonly format: Format;
  private readonly timeField: string | undefined;
  exhausted = false;
  recordsIn = 0;
  /** Index of this source's node in the engine's graph (set once the graph is built). */
  nodeIndex = -1;
  /** Set when this input is a repartition topic (Kafka mode): the keyBy whose output it carries. */
  repartition: RepartitionInputState | undefined;

  constructor(plan: PlannedSource, source: Source) {
    this.id = plan.id;
    this.plan = plan;
    this.source = source;
    this.format = createFormat(plan.format);
    this.timeField = plan.eventTime.field;
  }

  tracker(partition: number): PartitionTracker {
    let t = this.trackers.get(partition);
    if (!t) {
      t = { position: 0, maxTime: -Infinity, lastActivity: Date.now(), started: false };
      this.trackers.set(partition, t);
    }
    return t;
  }

  /** Restore a partition's checkpointed progress and seek the source there. */
  restore(partition: number, progress: PartitionProgress): void {
    const t = this.tracker(partition);
    t.position = progress.position;
    t.maxTime = progress.maxTime;
    t.started = true;
    if (progress.token !== undefined) {
      t.token = progress.token;
      if (!this.source.restore) throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `source '${this.id}' cannot resume from the checkpointed token (its connector changed?)`);
      this.source.restore(partition, progress.token);
    } else {
      this.source.seek(partition, progress.position);
    }
  }

  /** A task moved away: its progress is the next owner's business. */
  forget(partition: number): void {
    this.trackers.delete(partition);
    this.repartition?.forget(partition);
  }

  progress(): Record<number, PartitionProgress> {
    const out: Record<number, PartitionProgress> = {};
    for (const [p, t] of this.trackers) if (t.started) out[p] = t.token === undefined ? { position: t.position, maxTime: t.maxTime } : { position: t.position, maxTime: t.maxTime, token: t.token };
    return out;
  }

  /**
   * Fetch what decoding `records` needs before they are decoded (Confluent schema ids from a
   * registry), so `decode` stays synchronous. A transient failure (registry down, HTTP 5xx,
   * timeout) is logged and retried with backoff for as long as it lasts: the batch waits, nothing
   * is dead-lettered or skipped. Ids the registry does not have are not failures: those records
   * dead-letter in `decode`. Non-retriable failures (refused credentials) throw. Answers false when
   * `signal` aborted the wait: the batch must not be processed (it is read again from the checkpoint).
   */
  async prepare(records: readonly RawRecord[], options: PrepareOptions = {}): Promise<boolean> {
    const format = this.format;
    if (!format.prepare) return true;
    const values: (Uint8Array | string)[] = [];
    for (const r of records) if (typeof r.value === 'string' || r.value instanceof Uint8Array) values.push(r.value);
    if (values.length === 0) return true;
    let waitMs = PREPARE_RETRY_FIRST_MS;
    for (let attempt = 1; ; attempt++) {
      if (options.signal?.aborted) return false;
      try {
        await format.prepare(values);
        if (attempt > 1) options.logger?.info('source format ready again', { source: this.id, attempts: attempt });
        return true;
      } catch (err) {
        if (!(err instanceof TributaryError) || !err.retriable) throw err;
        options.logger?.warn('source format not ready; retrying the batch', { source: this.id, attempt, retryInMs: waitMs, error: errorMessage(err) });
      }
      try {
        await sleep(waitMs, undefined, options.signal ? { signal: options.signal } : undefined);
      } catch {
        return false;
      }
      waitMs = Math.min(waitMs * 2, PREPARE_RETRY_MAX_MS);
    }
  }

  /** Decode one raw record and read its event time. Bad records come back as reasons; only retriable infrastructure errors throw. */
  decode(raw: RawRecord): Decoded {
    let row: Row;
    const v = raw.value;
    if (typeof v === 'string' || v instanceof Uint8Array) {
      try {
        row = this.format.decode(v);
      } catch (err) {
        // A retriable failure (e.g. a schema id prepare() did not load) says nothing about the
        // record: it must not be dead-lettered. It stops the worker, which resumes from its checkpoint.
        if (err instanceof TributaryError && err.retriable) throw err;
        const text = typeof v === 'string' ? v : Buffer.from(v).toString('utf8');
        const row: Row = { raw: text.length > 4096 ? text.slice(0, 4096) + '…' : text };
        // `raw` is a readable preview (binary bytes come out as U+FFFD); `raw_base64` is the exact
        // bytes, so a fixed consumer can replay the record. Larger values: read them at the origin.
        if (v instanceof Uint8Array && v.length <= RAW_BYTES_KEPT) row.raw_base64 = Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('base64');
        return { ok: false, reason: `cannot decode ${this.format.name}: ${errorMessage(err)}`, row };
      }
    } else {
      row = v;
    }
    if (this.timeField === undefined) return { ok: true, row, time: raw.timestamp };
    const time = parseEventTime(row[this.timeField]);
    if (time === undefined) {
      const got = row[this.timeField];
      const what = got === undefined || got === null ? 'is missing' : `is not a time (${JSON.stringify(got).slice(0, 80)})`;
      return { ok: false, reason: `event time field '${this.timeField}' ${what}`, row };
    }
    return { ok: true, row, time };
  }

  /** Account for a processed record: position and watermark input. */
  advance(partition: number, raw: RawRecord, time: number | undefined, now: number): void {
    const t = this.tracker(partition);
    t.started = true;
    t.position = raw.next ?? raw.offset + 1;
    if (raw.token !== undefined) t.token = raw.token;
    t.lastActivity = now;
    if (time !== undefined && time > t.maxTime) t.maxTime = time;
    this.recordsIn++;
  }

  /** Mark activity without records (a poll that returned an empty batch does NOT count). */
  touch(partition: number, now: number): void {
    this.tracker(partition).lastActivity = now;
  }

  /**
   * This source's contribution to the watermark: min over active partitions; idle or exhausted
   * partitions do not hold it back. `undefined` when no partition constrains it. `max` is the
   * furthest it can go: max event time − maxOutOfOrderness, or the max event time itself once
   * the input has ended.
   */
  watermark(now: number, ended: boolean): { min: number | undefined; max: number } {
    const ooo = this.plan.eventTime.maxOutOfOrdernessMs;
    const idle = this.plan.eventTime.idleTimeoutMs;
    let min: number | undefined;
    let max = -Infinity;
    for (const p of this.source.assignedPartitions()) {
      const t = this.tracker(p);
      // An input that has ended can bring nothing out of order: it stands at its furthest event.
      const done = ended || this.exhausted;
      const wm = done ? t.maxTime : t.maxTime - ooo;
      if (wm > max) max = wm;
      if (done) continue;
      if (now - t.lastActivity >= idle) continue;
      if (min === undefined || wm < min) min = wm;
    }
    return { min, max };
  }
}

/** Epoch ms from a number, a numeric string, or an ISO-8601 string. */
export function parseEventTime(v: Value | undefined): number | undefined {
  if (typeof v === 'number') return Number.isFinite(v) ? v : undefined;
  if (typeof v === 'string' && v.length > 0) {
    if (/^-?\d+(\.\d+)?$/.test(v)) return Number(v);
    const t = Date.parse(v);
    return Number.isNaN(t) ? undefined : t;
  }
  return undefined;
}
