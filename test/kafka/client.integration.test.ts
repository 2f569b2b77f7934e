/**
 * Conformance of the Kafka client (src/kafka/client.ts, over @platformatic/kafka) to its
 * interface, against the dev broker (or KAFKA_BROKERS).
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createServer } from 'node:net';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import { KafkaClientError, type ConsumedMessage, type KafkaClient, type ProduceMessage } from '../../src/kafka/client.js';
import { murmur2, partitionForKey } from '../../src/core/partitioner.js';
import { uniqueName, waitFor } from '../helpers/broker.js';
import { describeOnBrokers } from '../helpers/kafka.js';

async function fetchUntil(fetch: () => Promise<ConsumedMessage[]>, count: number): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  const deadline = Date.now() + 10_000;
  while (out.length < count && Date.now() < deadline) out.push(...(await fetch()));
  return out;
}

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describeOnBrokers('the Kafka client', (broker) => {
  let client: KafkaClient;
  const topic = uniqueName('client');
  const t0 = 1_700_000_000_000;

  beforeAll(async () => {
    client = await createKafkaClient({ brokers: broker().brokers, clientId: 'client-test' });
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
      expect(() => consumer.seek({ topic, partition: 0, offset: 0n })).toThrow(/not assigned/);
    } finally {
      await consumer.close();
    }
  });

  it('places keyed records on the partition the Java client would (murmur2 & 0x7fffffff), with acks 1', async () => {
    const keyed = uniqueName('keyed');
    await client.admin.createTopics([{ topic: keyed, partitions: 3 }]);
    const keys = Array.from({ length: 30 }, (_, i) => `user-${i}`);
    // At least one key whose hash is negative and where `>>> 0` would pick another partition.
    expect(keys.some((k) => (murmur2(Buffer.from(k)) >>> 0) % 3 !== partitionForKey(Buffer.from(k), 3))).toBe(true);
    const producer = await client.producer();
    await producer.send(keyed, keys.map((k) => ({ key: Buffer.from(k), value: Buffer.from(k) })), { acks: 1 });
    const consumer = await client.assignedConsumer();
    try {
      await consumer.assign([0, 1, 2].map((partition) => ({ topic: keyed, partition, offset: 0n })));
      const got = await fetchUntil(() => consumer.fetch({ maxWaitMs: 200 }), keys.length);
      expect(got.map((m) => [m.key!.toString(), m.partition]).sort())
        .toEqual(keys.map((k) => [k, partitionForKey(Buffer.from(k), 3)]).sort());
      expect(got.every((m) => typeof m.offset === 'bigint')).toBe(true);
    } finally {
      await consumer.close();
    }
  });
  it('refuses an explicit partition the topic does not have, and writes nothing of that call', async () => {
    const producer = await client.producer();
    const narrow = uniqueName('client-narrow');
    await client.admin.createTopics([{ topic: narrow, partitions: 2 }]);
    const started = Date.now();
    await expect(producer.send(narrow, [
      { key: null, value: Buffer.from('ok'), headers: {}, partition: 0 },
      { key: null, value: Buffer.from('lost'), headers: {}, partition: 2 },
    ], { acks: 'all' })).rejects.toMatchObject({ retriable: false, message: expect.stringMatching(/partition 2\b.*does not exist|not .*in the range|out of range/i) });
    expect(Date.now() - started).toBeLessThan(5_000);
    expect(await client.admin.listOffsets(narrow)).toEqual([
      { partition: 0, earliest: 0n, latest: 0n },
      { partition: 1, earliest: 0n, latest: 0n },
    ]);
  });

  it('an assigned consumer replays a partition larger than one fetch (1.5 MB) to its end, in order', async () => {
    const big = uniqueName('big');
    await client.admin.createTopics([{ topic: big, partitions: 1 }]);
    const producer = await client.producer();
    const value = Buffer.alloc(250, 'v');
    for (let b = 0; b < 6; b++) {
      await producer.send(big, Array.from({ length: 1_000 }, (_, i) => ({ key: Buffer.from(String(b * 1_000 + i)), value, partition: 0 })), { acks: 1 });
    }
    const consumer = await client.assignedConsumer();
    try {
      await consumer.assign([{ topic: big, partition: 0, offset: 0n }]);
      const got = await fetchUntil(() => consumer.fetch({ maxWaitMs: 200 }), 6_000);
      expect(got.length).toBe(6_000);
      expect(got.every((m, i) => m.offset === BigInt(i) && m.key!.toString() === String(i))).toBe(true);
    } finally {
      await consumer.close();
    }
  });

  it('tells group states, deletes an empty one with its commits (not one with members), lists and deletes topics', async () => {
    const groupId = uniqueName('client-group');
    expect(await client.admin.groupState(groupId)).toBe('Dead');
    const consumer = await client.groupConsumer({ groupId, sessionTimeoutMs: 10_000 });
    await consumer.subscribe([topic], { assigned: async () => {}, revoked: async () => {} });
    await consumer.commit([{ topic, partition: 0, offset: 3n, metadata: 'm' }]);
    expect(await client.admin.groupState(groupId)).toBe('Stable');
    await expect(client.admin.deleteGroup(groupId)).rejects.toThrow(/NON_EMPTY_GROUP|non.?empty|not empty/i);
    await consumer.close();
    expect(await client.admin.groupState(groupId)).toBe('Empty');
    await client.admin.deleteGroup(groupId);
    expect(await client.admin.groupState(groupId)).toBe('Dead');
    // Its commits went with it: a new member of the same group starts without them.
    const again = await client.groupConsumer({ groupId, sessionTimeoutMs: 10_000 });
    try {
      await again.subscribe([topic], { assigned: async () => {}, revoked: async () => {} });
      expect((await again.committed([{ topic, partition: 0 }]))[0]!.offset).toBeNull();
    } finally {
      await again.close();
    }

    const doomed = uniqueName('client-doomed');
    await client.admin.createTopics([{ topic: doomed, partitions: 1 }]);
    expect(await client.admin.listTopics()).toEqual(expect.arrayContaining([topic, doomed]));
    await client.admin.deleteTopics([doomed]);
    // Kafka answers DeleteTopics once the controller has it; a broker's metadata may list the
    // topic a moment longer (seen once on real Kafka).
    await waitFor(async () => ((await client.admin.listTopics()).includes(doomed) ? undefined : true), 10_000, () => `${doomed} still listed after deleteTopics`);
    expect(await client.admin.listTopics()).toContain(topic);
  });

  it('an unreachable broker is a retriable KafkaClientError (retryTimeoutMs 0: no retries beyond the client\'s own)', async () => {
    const unreachable = await createKafkaClient({ brokers: [`127.0.0.1:${await closedPort()}`], clientId: 'x', retries: 0, connectionTimeoutMs: 500, retryTimeoutMs: 0 });
    try {
      const err = await unreachable.connect().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KafkaClientError);
      expect(err).toMatchObject({ retriable: true, rebalance: false });
    } finally {
      await unreachable.disconnect();
    }
  });

  it('retries an unreachable broker up to retryTimeoutMs, then fails for good naming the broker', async () => {
    const address = `127.0.0.1:${await closedPort()}`;
    const unreachable = await createKafkaClient({ brokers: [address], clientId: 'x', retries: 0, connectionTimeoutMs: 500, retryTimeoutMs: 1_500 });
    const started = Date.now();
    try {
      const err = await unreachable.connect().catch((e: unknown) => e);
      expect(Date.now() - started).toBeGreaterThanOrEqual(1_500);
      expect(err).toBeInstanceOf(KafkaClientError);
      expect(err).toMatchObject({ retriable: false });
      expect((err as Error).message).toContain(`Kafka at ${address} still failing after`);
      expect((err as Error).message).toMatch(/ECONNREFUSED|failed/);
    } finally {
      await unreachable.disconnect();
    }
  });
});
