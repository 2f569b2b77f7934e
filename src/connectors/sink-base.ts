/**
 * The lifecycle every sink shares (after Quix Streams' BatchingSink): a subclass only connects,
 * writes one batch and disconnects; buffering, ordering, retries with backoff, dead letters and
 * flush-at-checkpoint live here once.
 *
 * Ordering: one write is in flight at a time and batches leave the buffer in add() order, so a
 * sink sees records in the order the task produced them (per-key order holds). A write starts
 * when `batchSize` records are buffered, when the oldest buffered record has waited `lingerMs`
 * (Kafka's linger.ms: a timer, independent of the runtime's loop and of checkpoints), or at flush();
 * all three go through the one writer, so none overtakes another.
 * Durability: flush() resolves only when everything added before it was written (and sync()ed);
 * when a batch fails for good, flush() throws and the batch stays buffered, so the runtime fails
 * the checkpoint instead of losing data.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SinkBackpressureError, TributaryError, errorMessage } from '../core/errors.js';
import { silentLogger, type Logger } from '../core/logger.js';
import type { Sink, SinkContext, SinkRecord, SinkStats } from './types.js';

export interface BatchingSinkOptions {
  /** Records per write; a full buffer starts a write in the background. Default 500. */
  batchSize?: number;
  /**
   * Write what is buffered once the oldest buffered record has waited this long, without waiting
   * for a full batch or a checkpoint. Default: none (a write starts at batchSize records or at flush()).
   */
  lingerMs?: number;
  /** Beyond this many buffered records add() returns a promise (backpressure). Default 4 × batchSize. */
  maxBuffered?: number;
  /** Retries of a retriable failure before flush() throws. Default 6. */
  maxRetries?: number;
  /** First backoff; doubles per retry, with jitter. Default 100 ms. */
  backoffMs?: number;
  /** Backoff ceiling. Default 10 s. */
  maxBackoffMs?: number;
  /** Total time one batch may wait on SinkBackpressureError before it counts as failed. Default 60 s. */
  maxBackpressureMs?: number;
  /** Jitter source in [0, 1); injectable for tests. */
  random?: () => number;
  /** Monotonic clock in ms for linger; injectable for tests. Default performance.now. */
  now?: () => number;
}

export type SinkCounters = SinkStats;

interface Rejection {
  record: SinkRecord;
  reason: string;
}

export function isRetriable(err: unknown): boolean {
  return err instanceof SinkBackpressureError || (err instanceof TributaryError && err.retriable);
}

export abstract class BatchingSink implements Sink {
  readonly name: string;
  protected readonly batchSize: number;
  private readonly maxBuffered: number;
  private readonly maxRetries: number;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly maxBackpressureMs: number;
  private readonly random: () => number;
  private readonly lingerMs: number | undefined;
  private readonly now: () => number;

  private ctx: SinkContext | undefined;
  private buffer: SinkRecord[] = [];
  /** When each buffered record was added (now()), parallel to buffer: for linger and record latency. */
  private addedAt: number[] = [];
  /** Records ever added; `added - buffer.length` = records handed to writes so far. */
  private added = 0;
  private inFlight: Promise<void> | null = null;
  /** Records with an add() index below this are due: the writer takes them without waiting for a full batch. */
  private lingerDue = 0;
  private lingerTimer: NodeJS.Timeout | NodeJS.Immediate | undefined;
  /** A write that failed for good; thrown by the next flush(), which then retries from scratch. */
  private failure: { error: unknown } | undefined;
  /** Per-record rejections of the current attempt; delivered only when the attempt succeeds. */
  private rejections: Rejection[] = [];
  private readonly closing = new AbortController();
  private readonly counters: SinkCounters = { written: 0, batches: 0, retries: 0, failures: 0 };

  constructor(name: string, options: BatchingSinkOptions = {}) {
    this.name = name;
    this.batchSize = Math.max(1, options.batchSize ?? 500);
    this.maxBuffered = Math.max(this.batchSize, options.maxBuffered ?? this.batchSize * 4);
    this.maxRetries = options.maxRetries ?? 6;
    this.backoffMs = options.backoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 10_000;
    this.maxBackpressureMs = options.maxBackpressureMs ?? 60_000;
    this.random = options.random ?? Math.random;
    this.lingerMs = options.lingerMs === undefined ? undefined : Math.max(0, options.lingerMs);
    this.now = options.now ?? (() => performance.now());
  }

  /** Write one batch. Throw a retriable TributaryError / SinkBackpressureError to have it retried. */
  protected abstract writeBatch(batch: SinkRecord[]): Promise<void>;

  /** Create clients here, never in the constructor (validate imports sinks without connecting). */
  protected async connect(): Promise<void> {}

  protected async disconnect(): Promise<void> {}

  /** Make written data durable (fsync, acks); called at the end of every successful flush(). */
  protected async sync(): Promise<void> {}

  /**
   * Called by writeBatch for a record the target refuses for good (bad value, constraint...).
   * The record counts as handled: it goes to the dead-letter callback once the attempt succeeds.
   */
  protected rejectRecord(record: SinkRecord, reason: string): void {
    this.rejections.push({ record, reason });
  }

  protected get logger(): Logger {
    return this.ctx?.logger ?? silentLogger;
  }

  get written(): number {
    return this.counters.written;
  }

  get stats(): Readonly<SinkCounters> {
    return { ...this.counters };
  }

  /** Records buffered and not yet handed to a write. */
  get buffered(): number {
    return this.buffer.length;
  }

  async open(ctx: SinkContext): Promise<void> {
    this.ctx = ctx;
    await this.connect();
  }

  add(record: SinkRecord): void | Promise<void> {
    if (this.ctx === undefined) throw new TributaryError('TRIB_INTERNAL', `sink '${this.name}': add() before open()`);
    this.buffer.push(record);
    this.added++;
    if (this.lingerMs !== undefined) {
      this.addedAt.push(this.now());
      this.armLinger();
    } else this.addedAt.push(this.turnTime());
    if (this.buffer.length >= this.batchSize) this.startDrain(0);
    // inFlight never rejects (failures are kept in this.failure), so awaiting it is safe.
    if (this.buffer.length >= this.maxBuffered && this.inFlight) return this.inFlight;
  }

  async flush(): Promise<void> {
    const target = this.added;
    for (;;) {
      if (this.failure) {
        const { error } = this.failure;
        this.failure = undefined;
        throw error;
      }
      if (this.inFlight) {
        await this.inFlight;
        continue;
      }
      if (this.added - this.buffer.length >= target) break;
      this.startDrain(target);
    }
    await this.sync();
  }

  /** Waits for the write in flight, then disconnects. Does not flush: unflushed records were not checkpointed. */
  async close(): Promise<void> {
    this.closing.abort();
    this.clearLinger();
    if (this.inFlight) await this.inFlight;
    if (this.buffer.length > 0) {
      this.logger.warn('sink closed with unflushed records; they are replayed from the last checkpoint', {
        sink: this.name, records: this.buffer.length,
      });
    }
    await this.disconnect();
  }

  private turnStamp: number | undefined;

  /**
   * now() read once per synchronous pass: records added in one pass (a poll batch and what it
   * emitted) share it. Only for latency metrics, where a pass's few ms do not matter and a clock
   * read per record would (it cost more than the rest of add()).
   */
  private turnTime(): number {
    if (this.turnStamp === undefined) {
      this.turnStamp = this.now();
      queueMicrotask(() => (this.turnStamp = undefined));
    }
    return this.turnStamp;
  }

  /** Start the single writer unless one runs; it writes until records up to `untilAdded` left the buffer. */
  private startDrain(untilAdded: number): void {
    if (this.inFlight || this.failure) return;
    this.inFlight = this.drain(untilAdded).finally(() => {
      this.inFlight = null;
      // Records added while the last batch was in flight may already fill a batch or be due.
      if (this.buffer.length >= this.batchSize || this.added - this.buffer.length < this.lingerDue) this.startDrain(0);
      this.armLinger();
    });
  }

  private async drain(untilAdded: number): Promise<void> {
    // lingerDue is read on every turn: a linger timer firing during a write extends this drain.
    while (
      !this.failure &&
      this.buffer.length > 0 &&
      (this.buffer.length >= this.batchSize || this.added - this.buffer.length < Math.max(untilAdded, this.lingerDue))
    ) {
      const batch = this.buffer.splice(0, this.batchSize);
      const times = this.addedAt.splice(0, batch.length);
      try {
        await this.writeWithRetries(batch, times);
      } catch (error) {
        this.buffer.unshift(...batch);
        this.addedAt.unshift(...times);
        this.failure = { error };
      }
    }
  }

  /**
   * Arms the linger timer for the oldest buffered record. Not while a write runs (its end re-arms,
   * and a timer then could only ask for what the writer is doing anyway) nor after a final failure
   * (nothing is written until flush() has reported it).
   */
  private armLinger(): void {
    if (this.lingerMs === undefined || this.lingerTimer || this.inFlight || this.failure || this.closing.signal.aborted) return;
    const oldest = this.addedAt[0];
    if (oldest === undefined) return;
    // linger 0: at the end of the current pass of the event loop (the poll batch that produced the
    // record), not a 1 ms timer; what arrives while that write is in flight goes out together next.
    const delay = oldest + this.lingerMs - this.now();
    this.lingerTimer = this.lingerMs === 0 ? setImmediate(() => this.onLinger()) : setTimeout(() => this.onLinger(), Math.max(0, delay));
    // A forgotten sink must not keep the process alive; an open one has its task loop for that.
    this.lingerTimer.unref();
  }

  private clearLinger(): void {
    const t = this.lingerTimer;
    this.lingerTimer = undefined;
    if (t === undefined) return;
    if ('hasRef' in t && 'refresh' in t) clearTimeout(t);
    else clearImmediate(t as NodeJS.Immediate);
  }

  private onLinger(): void {
    this.lingerTimer = undefined;
    const oldest = this.addedAt[0];
    if (oldest === undefined || this.lingerMs === undefined) return;
    // Timers fire on whole milliseconds and may run a fraction early.
    if (this.now() - oldest < this.lingerMs - 1) {
      this.armLinger();
      return;
    }
    // Everything buffered now goes, as one write or several of batchSize.
    this.lingerDue = this.added;
    this.startDrain(0);
    this.armLinger();
  }

  private observe(writeMs: number, addedAt: readonly number[]): void {
    const observer = this.ctx?.observeWrite;
    if (!observer) return;
    observer(writeMs / 1000, addedAt, this.now());
  }

  /** Writes the batch, retrying what may succeed later; `addedAt` (parallel to batch) feeds the metrics. */
  private async writeWithRetries(batch: SinkRecord[], addedAt: readonly number[]): Promise<void> {
    let attempt = 0;
    let backpressureWaited = 0;
    for (;;) {
      this.rejections = [];
      const started = this.now();
      try {
        await this.writeBatch(batch);
      } catch (err) {
        const delay = this.retryDelay(err, attempt, backpressureWaited);
        if (delay === undefined || this.closing.signal.aborted) throw this.giveUp(err, batch.length, attempt + 1);
        if (err instanceof SinkBackpressureError) backpressureWaited += delay;
        else attempt++;
        this.counters.retries++;
        this.logger.warn('sink write failed; retrying', {
          sink: this.name, records: batch.length, retryInMs: delay, error: errorMessage(err),
        });
        try {
          await sleep(delay, undefined, { signal: this.closing.signal });
        } catch {
          throw this.giveUp(err, batch.length, attempt + 1);
        }
        continue;
      }
      // Counted and observed in one synchronous step: a scrape never sees one without the other.
      this.observe(this.now() - started, addedAt);
      this.settle(batch, this.rejections);
      this.rejections = [];
      return;
    }
  }

  /** Milliseconds to wait before the next attempt, or undefined when the error is final. */
  private retryDelay(err: unknown, attempt: number, backpressureWaited: number): number | undefined {
    if (err instanceof SinkBackpressureError) {
      if (backpressureWaited >= this.maxBackpressureMs) return undefined;
      // Never earlier than asked; a little later so many tasks do not return at the same instant.
      return Math.max(0, err.retryAfterMs) * (1 + 0.1 * this.random());
    }
    if (!isRetriable(err) || attempt >= this.maxRetries) return undefined;
    const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** attempt);
    return ceiling * (0.5 + 0.5 * this.random());
  }

  private giveUp(err: unknown, records: number, attempts: number): TributaryError {
    return new TributaryError(
      'TRIB_SINK',
      `sink '${this.name}': writing ${records} record(s) failed after ${attempts} attempt(s): ${errorMessage(err)}`,
      { cause: err },
    );
  }

  private settle(batch: SinkRecord[], rejections: Rejection[]): void {
    const rejected = new Set<SinkRecord>();
    for (const { record, reason } of rejections) {
      if (rejected.has(record)) continue;
      rejected.add(record);
      this.counters.failures++;
      if (this.ctx?.deadLetter) this.ctx.deadLetter(record, reason);
      else this.logger.error('sink rejected a record and no dead-letter output is configured', {
        sink: this.name, reason, key: record.key, timestamp: record.timestamp, ...record.origin,
      });
    }
    this.counters.batches++;
    this.counters.written += batch.length - rejected.size;
  }
}
