/**
 * Which Kafka client library backs a connector (`client: kafkajs`). Backends load lazily so
 * importing the connector registry (validate, schema) never loads a client library.
 */
import { TributaryError } from '../../errors.js';
import type { KafkaClient, KafkaClientOptions } from './client.js';

export const kafkaBackends = ['kafkajs'] as const;
export type KafkaBackend = (typeof kafkaBackends)[number];

/** Names users may reach for that are planned but not wired in yet. */
const planned = ['platformatic', 'confluent'];

export async function createKafkaClient(backend: string, options: KafkaClientOptions): Promise<KafkaClient> {
  switch (backend) {
    case 'kafkajs': {
      const { createKafkajsClient } = await import('./kafkajs-client.js');
      return createKafkajsClient(options);
    }
    default: {
      const soon = planned.includes(backend) ? ' is not available yet' : ' is unknown';
      throw new TributaryError('TRIB_USAGE', `kafka client '${backend}'${soon} (supported: ${kafkaBackends.join(', ')})`);
    }
  }
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
