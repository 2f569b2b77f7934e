/**
 * A group-less, pull-style consumer on @confluentinc/kafka-javascript's node-rdkafka API:
 * librdkafka's assign() + consume(n) already are "these partitions from these offsets, give me
 * what arrived". A seek re-assigns every partition at its current position, because librdkafka
 * only seeks partitions whose fetcher already started. librdkafka takes offsets as JS numbers:
 * positions beyond 2^53 are refused rather than silently rounded.
 */
import {
  KafkaClientError,
  type AssignedConsumer,
  type ConsumedMessage,
  type FetchOptions,
  type KafkaClientOptions,
  type KafkaHeaders,
  type TopicPartitionOffset,
} from './client.js';

interface RdMessage {
  topic: string;
  partition: number;
  offset: number;
  key?: Buffer | string | null;
  value: Buffer | null;
  timestamp?: number;
  headers?: Array<Record<string, Buffer | string>>;
}

interface RdError extends Error {
  code?: number;
  isRetriable?: boolean;
}

export interface RdKafkaConsumer {
  connect(options: Record<string, unknown>, cb: (err: RdError | null) => void): void;
  disconnect(cb: (err: RdError | null) => void): void;
  assign(assignments: Array<{ topic: string; partition: number; offset: number }>): void;
  unassign(): void;
  consume(n: number, cb: (err: RdError | null, messages: RdMessage[]) => void): void;
  setDefaultConsumeTimeout(ms: number): void;
  setDefaultIsTimeoutOnlyForFirstMessage?(v: boolean): void;
}

export type RdKafkaConsumerCtor = new (config: Record<string, unknown>, topicConfig?: Record<string, unknown>) => RdKafkaConsumer;

/** Messages one consume() call may return. */
const MAX_BATCH = 10_000;
const tp = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

function toError(what: string, err: RdError): KafkaClientError {
  return new KafkaClientError(`${what}: ${err.message}`, err.isRetriable === true, { cause: err });
}

function toHeaders(list: RdMessage['headers']): KafkaHeaders {
  const out: KafkaHeaders = {};
  for (const h of list ?? []) {
    for (const [k, v] of Object.entries(h)) out[k] ??= Buffer.isBuffer(v) ? v : Buffer.from(v);
  }
  return out;
}

function toNumber(offset: bigint): number {
  if (offset > BigInt(Number.MAX_SAFE_INTEGER)) throw new KafkaClientError(`offset ${offset} is beyond what librdkafka's JS binding takes (2^53)`, false);
  return Number(offset);
}

export async function createConfluentAssignedConsumer(Ctor: RdKafkaConsumerCtor, options: KafkaClientOptions, onClose: () => void): Promise<AssignedConsumer> {
  const consumer = new Ctor({
    'metadata.broker.list': options.brokers.join(','),
    'client.id': `${options.clientId}-assigned`,
    // Required by librdkafka's consumer even when it never joins: nothing is committed to it.
    'group.id': `tributary-assigned-${process.pid}-${Date.now()}`,
    'enable.auto.commit': false,
    'enable.auto.offset.store': false,
    'socket.connection.setup.timeout.ms': options.connectionTimeoutMs ?? 3_000,
  }, { 'auto.offset.reset': 'error' });
  await new Promise<void>((resolve, reject) => consumer.connect({ timeout: options.requestTimeoutMs ?? 30_000 }, (err) => (err ? reject(toError('kafka assigned consumer connect', err)) : resolve())));
  consumer.setDefaultIsTimeoutOnlyForFirstMessage?.(true);
  /** Next offset per assigned partition: a re-assign after a seek starts every partition here. */
  const next = new Map<string, TopicPartitionOffset>();
  let closed = false;

  const reassign = (): void => {
    consumer.unassign();
    if (next.size > 0) consumer.assign([...next.values()].map((p) => ({ topic: p.topic, partition: p.partition, offset: toNumber(p.offset) })));
  };

  return {
    async assign(partitions) {
      next.clear();
      for (const p of partitions) next.set(tp(p.topic, p.partition), { ...p });
      reassign();
    },
    seek(position) {
      const key = tp(position.topic, position.partition);
      if (!next.has(key)) throw new KafkaClientError(`kafka seek: ${position.topic}[${position.partition}] is not assigned`, false);
      next.set(key, { ...position });
      reassign();
    },
    async fetch(fetchOptions: FetchOptions = {}) {
      if (closed || next.size === 0) return [];
      consumer.setDefaultConsumeTimeout(fetchOptions.maxWaitMs ?? 500);
      const messages = await new Promise<RdMessage[]>((resolve, reject) =>
        consumer.consume(MAX_BATCH, (err, msgs) => (err ? reject(toError('kafka fetch', err)) : resolve(msgs))));
      const out: ConsumedMessage[] = [];
      for (const m of messages) {
        const key = tp(m.topic, m.partition);
        const want = next.get(key);
        const offset = BigInt(m.offset);
        // Anything before the wanted position was fetched before a seek.
        if (!want || offset < want.offset) continue;
        want.offset = offset + 1n;
        out.push({
          topic: m.topic,
          partition: m.partition,
          offset,
          key: m.key === undefined || m.key === null ? null : Buffer.isBuffer(m.key) ? m.key : Buffer.from(m.key),
          value: m.value,
          headers: toHeaders(m.headers),
          timestamp: m.timestamp ?? 0,
        });
      }
      return out;
    },
    async close() {
      if (closed) return;
      closed = true;
      onClose();
      await new Promise<void>((resolve) => consumer.disconnect(() => resolve()));
    },
  };
}
