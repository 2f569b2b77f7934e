/**
 * The one way to get a Kafka client: @platformatic/kafka behind the client interface
 * (client.ts), its calls retried through broker faults (retry.ts). The library loads lazily so
 * importing the connector registry (validate, schema) never loads a client library.
 */
import { TributaryError } from '../core/errors.js';
import type { KafkaClient, KafkaClientOptions } from './client.js';
import { KafkaRetrier, defaultKafkaRetryTimeout } from './retry.js';
import { withRetries } from './retrying-client.js';

export async function createKafkaClient(options: KafkaClientOptions): Promise<KafkaClient> {
  const { createPlatformaticClient } = await import('./platformatic/client.js');
  const timeoutMs = options.retryTimeoutMs ?? defaultKafkaRetryTimeout();
  if (timeoutMs <= 0) return createPlatformaticClient(options);
  const retrier = new KafkaRetrier({ timeoutMs, brokers: options.brokers, log: options.log });
  return withRetries(createPlatformaticClient(options, retrier), retrier);
}

/** `brokers` as written: a list, or one comma-separated string (what ${KAFKA_BROKERS} gives). */
export function parseBrokers(value: unknown, where: string): string[] {
  const items = Array.isArray(value) ? value : [value];
  const out: string[] = [];
  for (const item of items) {
    if (typeof item !== 'string') {
      throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: brokers must be "host:port" strings or one comma-separated string`);
    }
    for (const part of item.split(',')) {
      const b = part.trim();
      if (b.length === 0) continue;
      if (!/^[^\s:]+:\d{1,5}$/.test(b) && !/^\[[0-9a-fA-F:]+\]:\d{1,5}$/.test(b)) {
        throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: broker '${b}' is not host:port`);
      }
      out.push(b);
    }
  }
  if (out.length === 0) throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: brokers is empty`);
  return out;
}
