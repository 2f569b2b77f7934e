/**
 * Riding out broker faults, as Kafka Streams does with task.timeout.ms: a call that fails with a
 * retriable error (connection lost or refused, leader moved, not enough replicas, coordinator
 * moved or loading, request timeout) is tried again with backoff until `timeoutMs` has passed
 * since its first failure; only then does it fail, non-retriable, naming the brokers and the
 * error. An outage logs one warning when it starts and one line when Kafka answers again, not a
 * line per retry; the process-wide counters feed /metrics.
 *
 * Retrying a produce after an ambiguous failure (the request may have been written before the
 * connection dropped) can append a batch twice. That is safe where Tributary produces: a
 * changelog duplicate repeats the same (key, value) right after the original within one
 * checkpoint (checkpoints of a task are sequential and a checkpoint writes each key once), so a
 * restore ends on the same value; repartition records are deduplicated downstream by (upstream
 * partition, offset, sequence); sinks are at least once by contract.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { KafkaClientError, type ClientLog } from './client.js';

/** Kafka Streams' task.timeout.ms default. */
export const DEFAULT_KAFKA_RETRY_TIMEOUT_MS = 5 * 60_000;

let processDefaultTimeoutMs = DEFAULT_KAFKA_RETRY_TIMEOUT_MS;

/**
 * The bound every client of this process uses unless its options say otherwise: the CLI sets it
 * from --kafka-retry-timeout once, so sources, sinks, changelogs and `tributary cdc` share it.
 */
export function setDefaultKafkaRetryTimeout(ms: number): void {
  processDefaultTimeoutMs = ms;
}

export function defaultKafkaRetryTimeout(): number {
  return processDefaultTimeoutMs;
}

/** Process-wide outage figures (every client of the process), exported as metrics. */
export interface KafkaRetryStats {
  /** Outages: runs of retriable failures ended by a success or by the bound. */
  outages: number;
  /** Calls tried again after a retriable failure. */
  retries: number;
  /** Calls that failed for good after the bound. */
  exhausted: number;
  /**
   * Calls between their first retriable failure and their end, now: above 0 while an outage is
   * being ridden out. No input arrives meanwhile, and that is not idleness (runtime/runner.ts).
   */
  retrying: number;
}

export const kafkaRetryStats: KafkaRetryStats = { outages: 0, retries: 0, exhausted: 0, retrying: 0 };

/** Whether trying again later can succeed: a retriable client error that is not a rebalance. */
export function isRetriableKafkaError(err: unknown): boolean {
  return err instanceof KafkaClientError && err.retriable && !err.rebalance;
}

export interface RetryOptions {
  timeoutMs: number;
  brokers: readonly string[];
  log?: ClientLog;
  /** First backoff; doubles per retry up to maxBackoffMs, with jitter. Default 100 ms. */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** One per client: its calls share the outage state, so an outage is logged once. */
export class KafkaRetrier {
  private outageSince: number | undefined;
  private outageRetries = 0;
  /** Calls between their first retriable failure and their end: the outage lasts while any does. */
  private failing = 0;
  private readonly backoffMs: number;
  private readonly maxBackoffMs: number;

  constructor(private readonly options: RetryOptions) {
    this.backoffMs = options.backoffMs ?? 100;
    this.maxBackoffMs = options.maxBackoffMs ?? 2_000;
  }

  get timeoutMs(): number {
    return this.options.timeoutMs;
  }

  /** fn() until it succeeds, fails with an error that is not retriable, or the bound passes. */
  async run<T>(what: string, fn: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const call = this.call(what);
    try {
      for (;;) {
        try {
          return await fn();
        } catch (err) {
          if (!isRetriableKafkaError(err) || signal?.aborted) throw err;
          await call.failed(err, signal);
        }
      }
    } finally {
      call.done();
    }
  }

  /**
   * One call's retry state, for loops that retry on their own: failed() after each retriable
   * failure waits the backoff (or throws, non-retriable, once the bound passed); done() at the end
   * whatever the outcome.
   */
  call(what: string): RetriedCall {
    let since: number | undefined;
    let attempt = 0;
    return {
      failed: async (err, signal) => {
        const now = Date.now();
        if (since === undefined) {
          since = now;
          this.enter(what, err, now);
        }
        if (now - since >= this.options.timeoutMs) {
          kafkaRetryStats.exhausted++;
          throw new KafkaClientError(
            `${what}: Kafka at ${this.options.brokers.join(',')} still failing after ${Math.round((now - since) / 1000)} s ` +
              `(--kafka-retry-timeout ${Math.round(this.options.timeoutMs / 1000)} s): ${message(err)}`,
            false,
            { cause: err },
          );
        }
        kafkaRetryStats.retries++;
        this.outageRetries++;
        const ceiling = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** Math.min(attempt++, 16));
        const wait = Math.min(ceiling / 2 + Math.random() * (ceiling / 2), Math.max(1, since + this.options.timeoutMs - now));
        await sleep(wait, undefined, { signal }).catch(() => undefined);
      },
      done: () => {
        if (since === undefined) return;
        since = undefined;
        this.leave();
      },
    };
  }

  private enter(what: string, err: unknown, now: number): void {
    this.failing++;
    kafkaRetryStats.retrying++;
    if (this.outageSince !== undefined) return;
    this.outageSince = now;
    this.outageRetries = 0;
    kafkaRetryStats.outages++;
    this.options.log?.warn('kafka unavailable; retrying', {
      operation: what, brokers: this.options.brokers.join(','), error: message(err), retryTimeoutMs: this.options.timeoutMs,
    });
  }

  private leave(): void {
    this.failing--;
    kafkaRetryStats.retrying--;
    if (this.failing > 0 || this.outageSince === undefined) return;
    const info = this.options.log?.info ?? this.options.log?.warn;
    info?.call(this.options.log, 'kafka available again', { outageMs: Date.now() - this.outageSince, retries: this.outageRetries });
    this.outageSince = undefined;
  }
}

export interface RetriedCall {
  failed(err: unknown, signal?: AbortSignal): Promise<void>;
  done(): void;
}

function message(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
