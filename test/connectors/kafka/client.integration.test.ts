import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../../src/connectors/kafka/backends.js';
import type { ConsumedMessage, KafkaClient, ProduceMessage } from '../../../src/connectors/kafka/client.js';
import { uniqueName, useBroker } from '../../helpers/broker.js';

async function fetchUntil(fetch: () => Promise<ConsumedMessage[]>, count: number): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  const deadline = Date.now() + 10_000;
  while (out.length < count && Date.now() < deadline) out.push(...(await fetch()));
  return out;
}

describe('kafkajs backend of the client interface', () => {
  const broker = useBroker();
  let client: KafkaClient;
  const topic = uniqueName('client');
  const t0 = 1_700_000_000_000;

  beforeAll(async () => {
    client = await createKafkaClient('kafkajs', { brokers: broker().brokers, clientId: 'client-test' });
    await client.connect();
    await client.admin.createTopics([{ topic, partitions: 2, configs: { 'cleanup.policy': 'delete' } }]);
    // Creating it again leaves it as it is.
    await client.admin.createTopics([{ topic, partitions: 2 }]);
    const producer = await client.producer();
    const messages: ProduceMessage[] = Array.from({ length: 10 }, (_, i) => ({
      key: Buffer.from(`k${i}`),
      value: i === 9 ? null : Buffer.from(`v${i}`),
      headers: { h: Buffer.from(`x${i}`) },
      partition: i % 2,
      timestamp: t0 + i * 1000,
    }));
    const produced = await producer.send(topic, messages, { acks: 'all' });
    expect(produced.map((p) => [p.partition, p.baseOffset]).sort()).toEqual([[0, 0n], [1, 0n]]);
  });
  afterAll(async () => { await client?.disconnect(); });

  it('reports metadata, offsets and offsets by time', async () => {
    const [md] = await client.admin.fetchTopicMetadata([topic]);
    expect(md!.topic).toBe(topic);
    expect(md!.partitions.map((p) => p.partition)).toEqual([0, 1]);
    expect(await client.admin.listOffsets(topic)).toEqual([
      { partition: 0, earliest: 0n, latest: 5n },
      { partition: 1, earliest: 0n, latest: 5n },
    ]);
    // Partition 0 holds t0, t0+2s, ... t0+8s; partition 1 holds t0+1s ... t0+9s.
    expect(await client.admin.offsetsForTimes(topic, t0 + 4_500)).toEqual([
      { partition: 0, offset: 3n },
      { partition: 1, offset: 2n },
    ]);
    expect((await client.admin.offsetsForTimes(topic, t0 + 60_000)).map((o) => o.offset)).toEqual([5n, 5n]);
  });

  it('an assigned consumer reads from the given offsets, with keys, values, headers, and seeks back', async () => {
    const consumer = await client.assignedConsumer();
    try {
      await consumer.assign([{ topic, partition: 1, offset: 3n }]);
      const first = await fetchUntil(() => consumer.fetch({ maxWaitMs: 200 }), 2);
      expect(first.map((m) => ({ p: m.partition, o: m.offset, k: m.key?.toString(), v: m.value?.toString() ?? null, h: m.headers.h?.toString(), t: m.timestamp })))
        .toEqual([
          { p: 1, o: 3n, k: 'k7', v: 'v7', h: 'x7', t: t0 + 7000 },
          { p: 1, o: 4n, k: 'k9', v: null, h: 'x9', t: t0 + 9000 },
        ]);
      consumer.seek({ topic, partition: 1, offset: 1n });
      const again = await fetchUntil(() => consumer.fetch({ maxWaitMs: 200 }), 4);
      expect(again.map((m) => m.offset)).toEqual([1n, 2n, 3n, 4n]);
      // Nothing else arrives: partition 0 was never assigned.
      expect(await consumer.fetch({ maxWaitMs: 300 })).toEqual([]);
    } finally {
      await consumer.close();
    }
  });
});
