// kill -9 of the broker while a producer sends with acks=-1: with --fsync always, what the
// broker acknowledged must survive, in order, with offsets that have no gap.
import { afterEach, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { KafkaClient } from '../../src/kafka/client.js';
import { spawnBroker, uniqueName, type BrokerProcess } from '../helpers/broker.js';
import { readPartition } from '../helpers/kafka-read.js';

const kafkaFor = async (address: string): Promise<KafkaClient> => {
  const client = await createKafkaClient({ clientId: 'crash-test', brokers: [address], connectionTimeoutMs: 2_000, requestTimeoutMs: 5_000, retries: 0, retryTimeoutMs: 0 });
  await client.connect();
  return client;
};

describe('dev broker crash (kill -9) under acks=-1 with --fsync always (dev broker only: its storage)', () => {
  let broker: BrokerProcess | undefined;
  afterEach(async () => { await broker?.stop(); });

  it('keeps every acknowledged record, in order, with contiguous offsets', async () => {
    broker = await spawnBroker({ fsync: 'always' });
    const topic = uniqueName('crash');
    const kafka = await kafkaFor(broker.address);
    await kafka.admin.createTopics([{ topic, partitions: 1 }]);
    const producer = await kafka.producer();
    const acked: string[] = [];
    let sent = 0;
    let stopped = false;
    const BATCH = 10;
    const loop = (async () => {
      while (!stopped) {
        const values = Array.from({ length: BATCH }, (_, i) => `r-${sent + i}`);
        sent += BATCH;
        try {
          await producer.send(topic, values.map((value) => ({ key: Buffer.from('k'), value: Buffer.from(value) })), { acks: 'all' });
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
    await kafka.disconnect().catch(() => {});
    // An ack already in the socket when the broker died is still an ack: count it.
    const confirmed = acked.slice();

    await broker.restart();
    const kafka2 = await kafkaFor(broker.address);
    try {
      const { earliest: low, latest: high } = (await kafka2.admin.listOffsets(topic))[0]!;
      expect(low).toBe(0n);
      expect(Number(high)).toBeGreaterThanOrEqual(confirmed.length);
      // At most the one in-flight batch may have landed without its ack.
      expect(Number(high)).toBeLessThanOrEqual(sent);

      const got = (await readPartition(kafka2, topic, high, { timeoutMs: 20_000 })).map((m) => ({ offset: m.offset, value: m.value?.toString() ?? '' }));
      expect(got.map((r) => r.offset)).toEqual(got.map((_, i) => BigInt(i)));
      expect(got.slice(0, confirmed.length).map((r) => r.value)).toEqual(confirmed);
      // Anything beyond the acknowledged prefix is the unacknowledged tail, still in send order.
      expect(got.slice(confirmed.length).map((r) => r.value)).toEqual(
        Array.from({ length: got.length - confirmed.length }, (_, i) => `r-${confirmed.length + i}`),
      );

      // The restarted broker keeps appending right after the recovered tail.
      const producer2 = await kafka2.producer();
      const [meta] = await producer2.send(topic, [{ key: null, value: Buffer.from('after-restart') }], { acks: 'all' });
      expect(meta!.baseOffset).toBe(high);
    } finally {
      await kafka2.disconnect();
    }
  });
});
