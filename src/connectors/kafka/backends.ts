/**
 * Which Kafka client library backs a connector (`client: kafkajs`). Backends load lazily so
 * importing the connector registry (validate, schema) never loads a client library, and a
 * backend whose library is not installed (confluent needs a native build) fails only when
 * asked for, with how to install it.
 */
import { TributaryError } from '../../core/errors.js';
import type { KafkaClient, KafkaClientOptions } from './client.js';

export const kafkaBackends = ['kafkajs', 'platformatic', 'confluent'] as const;
export type KafkaBackend = (typeof kafkaBackends)[number];

const loaders: Record<KafkaBackend, () => Promise<(options: KafkaClientOptions) => KafkaClient | Promise<KafkaClient>>> = {
  kafkajs: async () => (await import('./kafkajs-client.js')).createKafkajsClient,
  platformatic: async () => (await import('./platformatic-client.js')).createPlatformaticClient,
  confluent: async () => (await import('./confluent-client.js')).createConfluentClient,
};

export function isKafkaBackend(name: string): name is KafkaBackend {
  return (kafkaBackends as readonly string[]).includes(name);
}

export async function createKafkaClient(backend: string, options: KafkaClientOptions): Promise<KafkaClient> {
  if (!isKafkaBackend(backend)) {
    throw new TributaryError('TRIB_USAGE', `kafka client '${backend}' is unknown (supported: ${kafkaBackends.join(', ')})`);
  }
  const create = await loaders[backend]();
  return create(options);
}

export interface BackendAvailability {
  backend: KafkaBackend;
  available: boolean;
  /** Why it does not load here (with how to install it); undefined when it does. */
  reason?: string;
}

/** Which backends load in this installation (their library and any native binding are present). */
export async function availableKafkaBackends(): Promise<BackendAvailability[]> {
  return Promise.all(kafkaBackends.map(async (backend): Promise<BackendAvailability> => {
    try {
      if (backend === 'confluent') await (await import('./confluent-client.js')).loadConfluent();
      else await loaders[backend]();
      return { backend, available: true };
    } catch (err) {
      return { backend, available: false, reason: err instanceof Error ? err.message : String(err) };
    }
  }));
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
