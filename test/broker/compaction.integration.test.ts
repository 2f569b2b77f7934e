// cleanup.policy=compact (changelog topics): after compaction a reader from the earliest
// offset sees only the latest value per key; a tombstoned key has no value left (the
// tombstone itself may remain within delete.retention.ms, as in Kafka). Offsets never move.
import { afterEach, describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { KafkaClient } from '../../src/kafka/client.js';
import { startTestBroker, uniqueName, type TestBroker } from '../helpers/broker.js';
import { readPartition } from '../helpers/kafka-read.js';

interface Read { offset: bigint; key: string; value: string | null }

/** Reads a single-partition topic from offset 0 up to (excluding) `end`. */
async function readAll(kafka: KafkaClient, topic: string, end: bigint): Promise<Read[]> {
  return (await readPartition(kafka, topic, end)).map((m) => ({ offset: m.offset, key: m.key?.toString() ?? '', value: m.value === null ? null : m.value.toString() }));
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

describe('compacted topics on the dev broker (dev broker only: its log cleaner)', () => {
  let broker: TestBroker | undefined;
  afterEach(async () => { await broker?.close(); });

  it('keeps only the latest value per key after compaction, drops tombstoned keys, and keeps offsets', async () => {
    broker = await startTestBroker();
    const kafka = await createKafkaClient({ clientId: 'compaction-test', brokers: broker.brokers });
    const topic = uniqueName('changelog');
    await kafka.connect();
    await kafka.admin.createTopics([{ topic, partitions: 1, configs: { 'cleanup.policy': 'compact' } }]);

    const producer = await kafka.producer();
    const send = (messages: Array<{ key: string; value: string | null }>): Promise<unknown> =>
      producer.send(topic, messages.map((m) => ({ key: Buffer.from(m.key), value: m.value === null ? null : Buffer.from(m.value) })), { acks: 'all' });
    await send([{ key: 'a', value: 'a1' }, { key: 'b', value: 'b1' }, { key: 'c', value: 'c1' }]); // offsets 0-2
    await send([{ key: 'a', value: 'a2' }, { key: 'b', value: 'b2' }]); //                                3-4
    await send([{ key: 'a', value: 'a3' }, { key: 'c', value: 'c2' }]); //                                5-6
    await send([{ key: 'b', value: null }]); //                                                            7 (tombstone)
    await send([{ key: 'd', value: 'd1' }]); //                                                            8

    await broker.handle.compact(topic);
    expectCompacted(await readAll(kafka, topic, 9n));

    // Appends continue after the last offset, and a re-read still sees the compacted log.
    await send([{ key: 'a', value: 'a4' }]);
    await kafka.disconnect();
    const kafka2 = await createKafkaClient({ clientId: 'compaction-test-2', brokers: broker.brokers });
    await kafka2.connect();
    const after = await readAll(kafka2, topic, 10n);
    expect(after.at(-1)).toEqual({ offset: 9n, key: 'a', value: 'a4' });
    expectCompacted(after.slice(0, -1));

    // Compaction is on disk, not in memory: a restarted broker serves the same log.
    await broker.restart();
    await kafka2.disconnect();
    const reopened = await createKafkaClient({ clientId: 'compaction-test-3', brokers: broker.brokers });
    try {
      const again = await readAll(reopened, topic, 10n);
      expect(again).toEqual(after);
    } finally {
      await reopened.disconnect();
    }
  });
});
