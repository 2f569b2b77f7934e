// cleanup.policy=compact (changelog topics): after compaction a reader from the earliest
// offset sees only the latest value per key; a tombstoned key has no value left (the
// tombstone itself may remain within delete.retention.ms, as in Kafka). Offsets never move.
import { Kafka, logLevel, type Kafka as KafkaClient } from 'kafkajs';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestBroker, uniqueName, type TestBroker } from '../helpers/broker.js';

interface Read { offset: bigint; key: string; value: string | null }

/** Reads a single-partition topic from offset 0 up to (excluding) `end`. */
async function readAll(kafka: KafkaClient, topic: string, end: bigint): Promise<Read[]> {
  const consumer = kafka.consumer({ groupId: uniqueName('compact-read'), maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  const got: Read[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`read up to offset ${end} timed out; got ${JSON.stringify(got, (_, v: unknown) => (typeof v === 'bigint' ? v.toString() : v))}`)), 15_000);
      void consumer.run({
        eachMessage: async ({ message }) => {
          const offset = BigInt(message.offset);
          got.push({ offset, key: message.key?.toString() ?? '', value: message.value === null ? null : message.value.toString() });
          if (offset >= end - 1n) { clearTimeout(timer); resolve(); }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return got;
}

function expectCompacted(got: Read[]): void {
  const live = got.filter((r) => r.value !== null);
  expect(live.map((r) => [r.offset, r.key, r.value])).toEqual([[5n, 'a', 'a3'], [6n, 'c', 'c2'], [8n, 'd', 'd1']]);
  const bRecords = got.filter((r) => r.key === 'b');
  // Either the tombstone was removed or it is all that is left of key b.
  expect(bRecords.map((r) => [r.offset, r.value])).toEqual(bRecords.length === 0 ? [] : [[7n, null]]);
  const offsets = got.map((r) => r.offset);
  expect(offsets).toEqual([...offsets].sort((x, y) => (x < y ? -1 : 1)));
}

describe('compacted topics', () => {
  let broker: TestBroker | undefined;
  afterEach(async () => { await broker?.close(); });

  it('keeps only the latest value per key after compaction, drops tombstoned keys, and keeps offsets', async () => {
    broker = await startTestBroker();
    const kafka = new Kafka({ clientId: 'compaction-test', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const topic = uniqueName('changelog');
    const admin = kafka.admin();
    await admin.connect();
    await admin.createTopics({ topics: [{ topic, numPartitions: 1, configEntries: [{ name: 'cleanup.policy', value: 'compact' }] }], waitForLeaders: true });
    await admin.disconnect();

    const producer = kafka.producer();
    await producer.connect();
    const send = (messages: Array<{ key: string; value: string | null }>): Promise<unknown> => producer.send({ topic, acks: -1, messages });
    await send([{ key: 'a', value: 'a1' }, { key: 'b', value: 'b1' }, { key: 'c', value: 'c1' }]); // offsets 0-2
    await send([{ key: 'a', value: 'a2' }, { key: 'b', value: 'b2' }]); //                                3-4
    await send([{ key: 'a', value: 'a3' }, { key: 'c', value: 'c2' }]); //                                5-6
    await send([{ key: 'b', value: null }]); //                                                            7 (tombstone)
    await send([{ key: 'd', value: 'd1' }]); //                                                            8

    await broker.handle.compact(topic);
    expectCompacted(await readAll(kafka, topic, 9n));

    // Appends continue after the last offset, and a re-read still sees the compacted log.
    await send([{ key: 'a', value: 'a4' }]);
    await producer.disconnect();
    const after = await readAll(kafka, topic, 10n);
    expect(after.at(-1)).toEqual({ offset: 9n, key: 'a', value: 'a4' });
    expectCompacted(after.slice(0, -1));

    // Compaction is on disk, not in memory: a restarted broker serves the same log.
    await broker.restart();
    const reopened = new Kafka({ clientId: 'compaction-test-2', brokers: broker.brokers, logLevel: logLevel.NOTHING });
    const again = await readAll(reopened, topic, 10n);
    expect(again).toEqual(after);
  });
});
