/**
 * Reads a whole topic with @platformatic/kafka's own consumer stream (not Tributary's fetch
 * path: an independent check of what a sink or a worker wrote).
 */
import { randomBytes } from 'node:crypto';
import { Consumer, type Message } from '@platformatic/kafka';
import type { ConsumedMessage, KafkaClient } from '../../src/kafka/client.js';
import { waitFor } from './broker.js';

export interface RawRead {
  partition: number;
  offset: bigint;
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
  timestamp: number;
}

/** Every record of `topic` from the beginning, once at least `expected` arrived (fails after 15 s saying how many did). */
export async function readTopicRaw(brokers: string[], topic: string, expected: number): Promise<RawRead[]> {
  const consumer = new Consumer({
    clientId: 'tributary-test-reader',
    bootstrapBrokers: brokers,
    groupId: `test-reader-${randomBytes(4).toString('hex')}`,
    maxWaitTime: 100,
    retries: 5,
    retryDelay: 200,
  });
  const out: RawRead[] = [];
  try {
    const stream = await consumer.consume({ topics: [topic], mode: 'earliest', autocommit: false });
    stream.on('data', (m: Message<Buffer, Buffer, Buffer, Buffer>) => {
      const headers: Record<string, string> = {};
      for (const [k, v] of m.headers ?? new Map()) headers[k.toString()] = v.toString();
      out.push({
        partition: m.partition,
        offset: m.offset,
        key: m.key ?? null,
        value: m.value ?? null,
        headers,
        timestamp: Number(m.timestamp),
      });
    });
    stream.on('error', () => {});
    await waitFor(() => (out.length >= expected ? true : undefined), 15_000, () => `read ${out.length}/${expected} from ${topic}`);
    await stream.close();
  } finally {
    await consumer.close(true);
  }
  return out.sort((a, b) => a.partition - b.partition || Number(a.offset - b.offset));
}

/** Partition `partition` of `topic` from `from` up to (excluding) `end`, through Tributary's client (assigned, no group). */
export async function readPartition(client: KafkaClient, topic: string, end: bigint, options: { partition?: number; from?: bigint; timeoutMs?: number } = {}): Promise<ConsumedMessage[]> {
  const consumer = await client.assignedConsumer();
  const got: ConsumedMessage[] = [];
  try {
    await consumer.assign([{ topic, partition: options.partition ?? 0, offset: options.from ?? 0n }]);
    const deadline = Date.now() + (options.timeoutMs ?? 15_000);
    while ((got.at(-1)?.offset ?? -1n) < end - 1n) {
      if (Date.now() > deadline) throw new Error(`read ${topic} up to offset ${end}: got ${got.length} records, last offset ${got.at(-1)?.offset ?? 'none'}`);
      got.push(...(await consumer.fetch({ maxWaitMs: 100 })));
    }
  } finally {
    await consumer.close();
  }
  return got;
}
