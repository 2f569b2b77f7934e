// kill -9 of the broker while a producer sends with acks=-1: with --fsync always, what the
// broker acknowledged must survive, in order, with offsets that have no gap.
import { Kafka, logLevel } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnBroker, uniqueName, type BrokerProcess } from '../helpers/broker.js';

const kafkaFor = (address: string): Kafka =>
  new Kafka({ clientId: 'crash-test', brokers: [address], logLevel: logLevel.NOTHING, connectionTimeout: 2_000, requestTimeout: 5_000, retry: { retries: 0 } });

describe('broker crash (kill -9) under acks=-1 with --fsync always', () => {
  let broker: BrokerProcess | undefined;
  afterEach(async () => { await broker?.stop(); });

  it('keeps every acknowledged record, in order, with contiguous offsets', async () => {
    broker = await spawnBroker({ fsync: 'always' });
    const topic = uniqueName('crash');
    const kafka = kafkaFor(broker.address);
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1 }], waitForLeaders: true });
    await admin.disconnect();

    const producer = kafka.producer({ retry: { retries: 0 }, allowAutoTopicCreation: false });
    await producer.connect();
    const acked: string[] = [];
    let sent = 0;
    let stopped = false;
    const BATCH = 10;
    const loop = (async () => {
      while (!stopped) {
        const values = Array.from({ length: BATCH }, (_, i) => `r-${sent + i}`);
        sent += BATCH;
        try {
          await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key: 'k', value })) });
        } catch {
          return; // the broker died under this send: it was never acknowledged
        }
        acked.push(...values);
      }
    })();

    // Kill once a few hundred records are in, while the next send is in flight.
    while (acked.length < 400) await new Promise((r) => setTimeout(r, 5));
    const ended = await broker.kill('SIGKILL');
    expect(ended.signal).toBe('SIGKILL');
    stopped = true;
    await loop;
    await producer.disconnect().catch(() => {});
    // An ack already in the socket when the broker died is still an ack: count it.
    const confirmed = acked.slice();

    await broker.restart();
    const kafka2 = kafkaFor(broker.address);
    const admin2 = kafka2.admin();
    await admin2.connect();
    const [{ high, low }] = await admin2.fetchTopicOffsets(topic);
    await admin2.disconnect();
    expect(low).toBe('0');
    expect(Number(high)).toBeGreaterThanOrEqual(confirmed.length);
    // At most the one in-flight batch may have landed without its ack.
    expect(Number(high)).toBeLessThanOrEqual(sent);

    const consumer = kafka2.consumer({ groupId: uniqueName('crash-g'), maxWaitTimeInMs: 100 });
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    const got: Array<{ offset: bigint; value: string }> = [];
    const all = new Promise<void>((resolve) => {
      void consumer.run({
        eachMessage: async ({ message }) => {
          got.push({ offset: BigInt(message.offset), value: message.value?.toString() ?? '' });
          if (got.length >= Number(high)) resolve();
        },
      });
    });
    const timeout = new Promise<void>((_, reject) => setTimeout(() => reject(new Error(`read ${got.length} of ${high} records after restart`)), 20_000));
    try {
      await Promise.race([all, timeout]);
    } finally {
      await consumer.disconnect();
    }

    expect(got.map((r) => r.offset)).toEqual(got.map((_, i) => BigInt(i)));
    expect(got.slice(0, confirmed.length).map((r) => r.value)).toEqual(confirmed);
    // Anything beyond the acknowledged prefix is the unacknowledged tail, still in send order.
    expect(got.slice(confirmed.length).map((r) => r.value)).toEqual(
      Array.from({ length: got.length - confirmed.length }, (_, i) => `r-${confirmed.length + i}`),
    );

    // The restarted broker keeps appending right after the recovered tail.
    const producer2 = kafka2.producer();
    await producer2.connect();
    const [meta] = await producer2.send({ topic, acks: -1, messages: [{ value: 'after-restart' }] });
    await producer2.disconnect();
    expect(meta.baseOffset).toBe(high);
  });
});
