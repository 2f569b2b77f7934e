// Kafka conformance of the dev broker, run with @platformatic/kafka as its users use it (kcat,
// librdkafka, in kcat.integration.test.ts): what a client's user does must work as against real Kafka.
// The same scenarios run on real Kafka (test/helpers/kafka.ts), which is what they hold the dev broker to.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName, waitFor, withBroker } from '../helpers/broker.js';
import { describeOnBrokers, type KafkaUnderTest } from '../helpers/kafka.js';
import { clientAdapters } from '../helpers/kafka-adapters.js';
import type { ConsumedRecord, KafkaTestClient, ProducedRecord } from '../helpers/kafka-clients.js';
import { startRetryProxy } from '../helpers/kafka-retry-proxy.js';

const values = (rs: ConsumedRecord[]): Array<string | null> => rs.map((r) => r.value);
const batch = (prefix: string, n: number, extra: Partial<ProducedRecord> = {}): ProducedRecord[] =>
  Array.from({ length: n }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}`, ...extra }));

/** Records of one partition must arrive in offset order with consecutive offsets. */
function expectContiguous(rs: ConsumedRecord[]): void {
  const offsets = rs.map((r) => r.offset);
  const first = offsets[0] ?? 0n;
  expect(offsets).toEqual(offsets.map((_, i) => first + BigInt(i)));
}

describeOnBrokers('conformance', (kafka) => {
  describe.each(clientAdapters)('with $name', (adapter) => {
    let target: KafkaUnderTest;
    let client: KafkaTestClient;

    beforeAll(async () => {
      target = kafka();
      client = adapter.connect(target.brokers);
    });

    afterAll(async () => {
      await client?.close();
    });

    it('stores records produced with acks 0, 1 and -1 in order and reads them from the earliest offset', async () => {
      const topic = uniqueName('acks');
      await client.createTopic(topic, 1);
      await client.produce(topic, batch('all', 5), { acks: -1 });
      await client.produce(topic, batch('leader', 5), { acks: 1 });
      await client.produce(topic, batch('none', 5), { acks: 0 });
      const got = await client.consume({ topic, from: { kind: 'earliest' }, count: 15 });
      expect(values(got)).toEqual([...batch('all', 5), ...batch('leader', 5), ...batch('none', 5)].map((r) => r.value));
      expect(got.map((r) => r.key)).toEqual([0, 1, 2, 3, 4, 0, 1, 2, 3, 4, 0, 1, 2, 3, 4].map((i) => `k${i}`));
      expectContiguous(got);
      expect(got[0].offset).toBe(0n);
    });

    it('round-trips gzip-compressed batches', async () => {
      const topic = uniqueName('gzip');
      await client.createTopic(topic, 1);
      // Repetitive values compress well, so the batch really is stored compressed.
      const records = batch('gzip-' + 'x'.repeat(200), 50);
      await client.produce(topic, records, { acks: -1, compression: 'gzip' });
      await client.produce(topic, batch('plain', 3), { acks: -1 });
      const got = await client.consume({ topic, from: { kind: 'earliest' }, count: 53 });
      expect(values(got)).toEqual([...records, ...batch('plain', 3)].map((r) => r.value));
      expectContiguous(got);
    });

    it('starts from the latest offset: only records produced after the consumer is positioned arrive', async () => {
      const topic = uniqueName('latest');
      await client.createTopic(topic, 1);
      await client.produce(topic, batch('old', 10), { acks: -1 });
      const got = await client.consume({
        topic,
        from: { kind: 'latest' },
        count: 3,
        whenReady: () => client.produce(topic, batch('new', 3), { acks: -1 }),
      });
      expect(values(got)).toEqual(['new-0', 'new-1', 'new-2']);
      expect(got.map((r) => r.offset)).toEqual([10n, 11n, 12n]);
    });

    it('starts from a timestamp: the first record whose timestamp is at or after it (ListOffsets by time)', async () => {
      const topic = uniqueName('by-time');
      await client.createTopic(topic, 1);
      const t0 = Date.now() - 60_000;
      const records = Array.from({ length: 10 }, (_, i) => ({ key: `k${i}`, value: `t-${i}`, timestamp: t0 + i * 1_000 }));
      // Two batches, so the lookup has to cross a batch boundary rather than hit a batch's first record.
      await client.produce(topic, records.slice(0, 4), { acks: -1 });
      await client.produce(topic, records.slice(4), { acks: -1 });

      const exact = await client.consume({ topic, from: { kind: 'timestamp', timestamp: t0 + 5_000 }, count: 5 });
      expect(values(exact)).toEqual(['t-5', 't-6', 't-7', 't-8', 't-9']);
      expect(exact[0].offset).toBe(5n);
      expect(exact[0].timestamp).toBe(t0 + 5_000);

      const between = await client.consume({ topic, from: { kind: 'timestamp', timestamp: t0 + 2_500 }, count: 7 });
      expect(values(between)[0]).toBe('t-3');
    });

    it('creates a topic with the requested partitions and deletes it', async () => {
      const topic = uniqueName('admin');
      await client.createTopic(topic, 3);
      // Kafka answers CreateTopics once its controller has the topic; a broker's metadata may list
      // it a moment later (a clean clone's run saw it missing right after the create).
      await waitFor(async () => ((await client.listTopics()).includes(topic) ? true : undefined), 5_000, () => `${topic} not listed after create`);
      expect(await client.partitionCount(topic)).toBe(3);
      await client.deleteTopic(topic);
      await waitFor(async () => ((await client.listTopics()).includes(topic) ? undefined : true), 5_000, () => `${topic} still listed after delete`);
    });

    it('stores a retried idempotent batch once and acknowledges the retry with the original offset', async () => {
      const [host, port] = target.brokers[0].split(':');
      const proxy = await startRetryProxy({ host, port: Number(port) });
      const viaProxy = adapter.connect([proxy.address]);
      try {
        const topic = uniqueName('idempotent');
        await client.createTopic(topic, 1);
        // Every produce request is sent twice on the wire by the proxy (same producer id,
        // epoch and sequence): the broker must append it once and answer the second as a duplicate.
        await viaProxy.produce(topic, batch('a', 5, { partition: 0 }), { acks: -1, idempotent: true });
        await viaProxy.produce(topic, batch('b', 5, { partition: 0 }), { acks: -1, idempotent: true });
        const got = await client.consume({ topic, from: { kind: 'earliest' }, count: 10 });
        expect(values(got)).toEqual([...batch('a', 5), ...batch('b', 5)].map((r) => r.value));
        expectContiguous(got);

        const produced = proxy.originals.filter((a) => a.topic === topic);
        const retried = proxy.duplicates.filter((a) => a.topic === topic);
        expect(produced.map((a) => [a.errorCode, a.baseOffset])).toEqual([[0, 0n], [0, 5n]]);
        expect(retried.map((a) => [a.errorCode, a.baseOffset])).toEqual([[0, 0n], [0, 5n]]);

        // Nothing was appended after the ten records: a latest-positioned consumer sees only new ones.
        const next = await client.consume({
          topic,
          from: { kind: 'latest' },
          count: 1,
          whenReady: () => client.produce(topic, [{ key: 'z', value: 'after' }], { acks: -1 }),
        });
        expect(next.map((r) => [r.offset, r.value])).toEqual([[10n, 'after']]);
      } finally {
        await viaProxy.close();
        await proxy.close();
      }
    });
  });
});

// Needs a broker it can restart: the dev broker only (restarting real Kafka is kafka-faults' suite).
describe.each(clientAdapters)('dev broker restart with $name', (adapter) => {
  it('keeps committed offsets across a broker restart', async () => {
    // Needs a broker this test can restart, so it uses its own dev broker whatever the target.
    await withBroker(async (broker) => {
      const topic = uniqueName('commits');
      const groupId = uniqueName('commits-g');
      let c = adapter.connect(broker.brokers);
      try {
        await c.createTopic(topic, 2);
        await c.produce(topic, batch('first', 10).map((r, i) => ({ ...r, partition: i % 2 })), { acks: -1 });
        await c.consume({ topic, groupId, from: { kind: 'committed' }, count: 10, commit: true });
        const committed = await waitFor(async () => {
          const m = await c.committedOffsets(groupId, topic);
          return m.get(0) === 5n && m.get(1) === 5n ? m : undefined;
        }, 10_000, () => 'the consumer never committed offsets 5 and 5');
        expect([...committed.entries()].sort()).toEqual([[0, 5n], [1, 5n]]);
      } finally {
        await c.close();
      }

      await broker.restart();
      c = adapter.connect(broker.brokers);
      try {
        const reloaded = await c.committedOffsets(groupId, topic);
        expect([...reloaded.entries()].sort()).toEqual([[0, 5n], [1, 5n]]);
        await c.produce(topic, batch('second', 4).map((r, i) => ({ ...r, partition: i % 2 })), { acks: -1 });
        const resumed = await c.consume({ topic, groupId, from: { kind: 'committed' }, count: 4 });
        expect(values(resumed).sort()).toEqual(['second-0', 'second-1', 'second-2', 'second-3']);
      } finally {
        await c.close();
      }
    });
  });
});
