/**
 * KafkaGroupInput.seek() while the fetch loop runs (a task's restore seeks its partitions during
 * a rebalance). Records of the old position are the GroupConsumer's to drop (its fetcher versions
 * positions: test/kafka/group-consumer.integration.test.ts); the group input queues what fetch()
 * returns, and a seek must not leave a paused partition stuck. A fake GroupConsumer holds a fetch
 * open across the seek, which a real broker only does by timing.
 */
import { describe, expect, it } from 'vitest';
import { KafkaGroupInput } from '../../src/kafka/group-input.js';
import type { ConsumedMessage, GroupConsumer, GroupRebalanceListener, KafkaClient, TopicPartition, TopicPartitionOffset } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/core/logger.js';

interface FakeGroup {
  client: KafkaClient;
  /** Resolves the fetch that is out (the fetch loop has always one out) with these messages. */
  answer(m: ConsumedMessage[]): Promise<void>;
  seeks: TopicPartitionOffset[];
  resumed: TopicPartition[];
  paused: TopicPartition[];
}

/** A member owning partition 0 of `topic`, whose fetch() stays out until the test answers it. */
function fakeGroup(topic: string): FakeGroup {
  let out: ((m: ConsumedMessage[]) => void) | undefined;
  let asked: (() => void) | undefined;
  let next = new Promise<void>((r) => { asked = r; });
  const seeks: TopicPartitionOffset[] = [];
  const resumed: TopicPartition[] = [];
  const paused: TopicPartition[] = [];
  const consumer: GroupConsumer = {
    generation: 1,
    async subscribe(_topics: string[], listener: GroupRebalanceListener) {
      await listener.assigned([{ topic, partition: 0 }], 1);
    },
    assignment: () => [{ topic, partition: 0 }],
    seek: (p) => { seeks.push(p); },
    fetch() {
      return new Promise<ConsumedMessage[]>((resolve) => {
        out = resolve;
        asked?.();
      });
    },
    pause: (ps) => { paused.push(...ps); },
    resume: (ps) => { resumed.push(...ps); },
    committed: async () => [],
    commit: async () => {},
    close: async () => { out?.([]); },
  };
  return {
    client: { groupConsumer: async () => consumer } as unknown as KafkaClient,
    seeks,
    resumed,
    paused,
    async answer(m) {
      await next; // the loop has asked
      next = new Promise<void>((r) => { asked = r; });
      const resolve = out!;
      out = undefined;
      resolve(m);
      await next; // the loop handled the answer and asked again
    },
  };
}

const msgs = (topic: string, from: number, n: number): ConsumedMessage[] =>
  Array.from({ length: n }, (_, i) => ({ topic, partition: 0, offset: BigInt(from + i), key: null, value: Buffer.from('{}'), headers: {}, timestamp: 0 }));
const offsets = (input: KafkaGroupInput, topic: string): number[] => (input.poll(topic, 100_000)?.messages ?? []).map((m) => Number(m.offset));

async function started(topic: string): Promise<{ input: KafkaGroupInput; fake: FakeGroup }> {
  const fake = fakeGroup(topic);
  const input = new KafkaGroupInput(fake.client, 'g', { logger: silentLogger });
  input.addTopic(topic);
  await input.start({ assigned: async () => {}, revoked: async () => {} });
  return { input, fake };
}

describe('KafkaGroupInput.seek with the fetch loop running', () => {
  it('queues what a fetch that was out at the seek returns: behind the retrying client that is a retry asked after the seek, from the new position', async () => {
    const { input, fake } = await started('t');
    try {
      await fake.answer(msgs('t', 0, 3));
      expect(offsets(input, 't')).toEqual([0, 1, 2]);
      // The fetch loop's fetch() is out; its first attempt fails, a restore seeks to 1 during the
      // backoff, and the retried attempt reads from 1. Dropping those as "asked before the seek"
      // would skip 1..4: the consumer's position is past them.
      input.seek('t', 0, 1n);
      await fake.answer(msgs('t', 1, 4));
      expect(offsets(input, 't')).toEqual([1, 2, 3, 4]);
      expect(fake.seeks.map((s) => Number(s.offset))).toEqual([1]);
    } finally {
      await input.close();
    }
  });

  it('a partition paused with a full queue resumes when seeked (its queue is dropped), so it does not stay paused', async () => {
    const { input, fake } = await started('t');
    try {
      await fake.answer(msgs('t', 0, 6_000));
      expect(fake.paused).toEqual([{ topic: 't', partition: 0 }]);
      input.seek('t', 0, 100n);
      expect(fake.resumed).toEqual([{ topic: 't', partition: 0 }]);
      await fake.answer([]); // the fetch that was out when the seek came
      await fake.answer(msgs('t', 100, 2));
      expect(offsets(input, 't')).toEqual([100, 101]);
    } finally {
      await input.close();
    }
  });
});
