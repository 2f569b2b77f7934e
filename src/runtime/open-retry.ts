/**
 * A connector that cannot reach its store when the worker starts (Redis restarting, a database
 * failing over) is waited for, as a running worker waits through an outage: a retriable open
 * error is retried with backoff, with one warning line when the wait starts and one when it
 * ends, for at most `timeoutMs` (default 5 minutes, as Kafka Streams' task.timeout.ms); only past
 * that, or on an error that retrying cannot mend (wrong credentials, bad config), does it fail.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { errorMessage } from '../core/errors.js';
import type { Logger } from '../core/logger.js';

export const OPEN_RETRY_TIMEOUT_MS = 5 * 60_000;

export interface OpenRetryOptions {
  logger: Logger;
  timeoutMs?: number;
  /** First pause; doubles up to maxBackoffMs. */
  backoffMs?: number;
  maxBackoffMs?: number;
  signal?: AbortSignal;
}

function retriable(err: unknown): boolean {
  return typeof err === 'object' && err !== null && (err as { retriable?: unknown }).retriable === true;
}

export async function openWithRetry(what: string, open: () => Promise<void>, options: OpenRetryOptions): Promise<void> {
  const timeoutMs = options.timeoutMs ?? OPEN_RETRY_TIMEOUT_MS;
  let backoff = options.backoffMs ?? 500;
  const maxBackoff = options.maxBackoffMs ?? 5_000;
  let since: number | undefined;
  let attempts = 0;
  for (;;) {
    try {
      await open();
      if (since !== undefined) options.logger.info(`${what} reachable again; starting`, { waitedMs: Date.now() - since, attempts });
      return;
    } catch (err) {
      attempts++;
      const now = Date.now();
      since ??= now;
      if (!retriable(err) || now - since >= timeoutMs || options.signal?.aborted) throw err;
      if (attempts === 1) options.logger.warn(`${what} unavailable at start; retrying`, { error: errorMessage(err), timeoutMs });
      await sleep(Math.min(backoff, Math.max(0, since + timeoutMs - now)));
      backoff = Math.min(backoff * 2, maxBackoff);
    }
  }
}
