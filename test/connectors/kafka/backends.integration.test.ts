/**
 * Backend selection (which Kafka client libraries load, what asking for a missing one says) and
 * what only shows with two backends at once: a kafkajs member and a platformatic member share
 * one co-partitioned group, and each sees the other's commits with their metadata.
 */
import { createServer } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import { availableKafkaBackends, createKafkaClient, kafkaBackends } from '../../../src/connectors/kafka/backends.js';
import { KafkaClientError, type GroupConsumer, type KafkaClient, type TopicPartition } from '../../../src/connectors/kafka/client.js';
import { TributaryError } from '../../../src/core/errors.js';
import { uniqueName, useBroker, waitFor } from '../../helpers/broker.js';

const availability = await availableKafkaBackends();
const confluent = availability.find((a) => a.backend === 'confluent')!;

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('kafka client backends', () => {
  it('lists every backend and which load here: kafkajs and platformatic always do', () => {
    expect(availability.map((a) => a.backend)).toEqual([...kafkaBackends]);
    expect(availability.filter((a) => a.available).map((a) => a.backend)).toEqual(expect.arrayContaining(['kafkajs', 'platformatic']));
  });

  it('names the supported clients when an unknown one is asked for', async () => {
    const err = await createKafkaClient('rdkafka', { brokers: ['127.0.0.1:1'], clientId: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_USAGE');
    expect((err as Error).message).toBe("kafka client 'rdkafka' is unknown (supported: kafkajs, platformatic, confluent)");
  });

  it.skipIf(confluent.available)('confluent, not installed here: asking for it says how to install it (npm install, C++ toolchain)', async () => {
    const err = await createKafkaClient('confluent', { brokers: ['127.0.0.1:1'], clientId: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_USAGE');
    expect((err as Error).message).toMatch(/npm install @confluentinc\/kafka-javascript/);
    expect((err as Error).message).toMatch(/C\+\+ toolchain.*g\+\+ make python3/);
    expect(confluent.reason).toBe((err as Error).message);
  });

  it('platformatic: an unreachable broker is a retriable KafkaClientError', async () => {
    const client = await createKafkaClient('platformatic', { brokers: [`127.0.0.1:${await closedPort()}`], clientId: 'x', retries: 0, connectionTimeoutMs: 500 });
    try {
      const err = await client.connect().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(KafkaClientError);
      expect(err).toMatchObject({ retriable: true, rebalance: false });
    } finally {
      await client.disconnect();
    }
  });
});

describe('a kafkajs member and a platformatic member in one co-partitioned group', () => {
  const broker = useBroker();
  const clients: KafkaClient[] = [];
  const consumers: GroupConsumer[] = [];
  afterAll(async () => {
    await Promise.allSettled(consumers.map((c) => c.close()));
    await Promise.allSettled(clients.map((c) => c.disconnect()));
  });

  it('split the partitions by number across both topics, and read each other\'s commits with metadata', async () => {
    const topics = [uniqueName('mixed-a'), uniqueName('mixed-b')];
    const groupId = uniqueName('mixed');
    const owned = new Map<string, TopicPartition[]>();
    for (const backend of ['kafkajs', 'platformatic'] as const) {
      const client = await createKafkaClient(backend, { brokers: broker().brokers, clientId: `mixed-${backend}` });
      clients.push(client);
      await client.connect();
      if (backend === 'kafkajs') await client.admin.createTopics(topics.map((topic) => ({ topic, partitions: 4 })));
      const consumer = await client.groupConsumer({ groupId, sessionTimeoutMs: 10_000, heartbeatIntervalMs: 200 });
      consumers.push(consumer);
      await consumer.subscribe(topics, {
        assigned: async (partitions) => { owned.set(backend, partitions); },
        revoked: async () => { owned.set(backend, []); },
      });
    }
    // The first member got everything, then the group rebalanced to two members.
    const [a, b] = await waitFor(() => {
      const x = owned.get('kafkajs') ?? [];
      const y = owned.get('platformatic') ?? [];
      return x.length === 4 && y.length === 4 ? [x, y] : undefined;
    }, 15_000, () => `owned: ${JSON.stringify([...owned])}`);
    const numbers = (tps: TopicPartition[], topic: string): number[] => tps.filter((t) => t.topic === topic).map((t) => t.partition).sort();
    // Co-partitioned: each member owns the same partition numbers of both topics; together all of them.
    expect(numbers(a, topics[0]!)).toEqual(numbers(a, topics[1]!));
    expect(numbers(b, topics[0]!)).toEqual(numbers(b, topics[1]!));
    expect([...numbers(a, topics[0]!), ...numbers(b, topics[0]!)].sort()).toEqual([0, 1, 2, 3]);

    const [kafkajs, platformatic] = consumers as [GroupConsumer, GroupConsumer];
    const mine = (tps: TopicPartition[]) => tps.map((tp) => ({ ...tp, offset: 7n + BigInt(tp.partition), metadata: `ckpt-${tp.topic}-${tp.partition}` }));
    await platformatic.commit(mine(b));
    await kafkajs.commit(mine(a));
    const all = topics.flatMap((topic) => [0, 1, 2, 3].map((partition) => ({ topic, partition })));
    const expected = all.map((tp) => ({ ...tp, offset: 7n + BigInt(tp.partition), metadata: `ckpt-${tp.topic}-${tp.partition}` }));
    expect(await kafkajs.committed(all)).toEqual(expected);
    expect(await platformatic.committed(all)).toEqual(expected);
    // A partition the platformatic member does not own: refused, flagged as a rebalance.
    await expect(platformatic.commit([{ ...a[0]!, offset: 1n }])).rejects.toMatchObject({ rebalance: true, retriable: false });
  });
});
