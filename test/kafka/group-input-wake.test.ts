/**
 * The group input wakes an idle run loop when a fetch queued messages (waitReadable), instead of
 * the loop sleeping a fixed interval: the latency of a record that arrives while the worker is
 * idle (bench/cdc-chain.bench.ts), without polling faster.
 */
import { describe, expect, it } from 'vitest';
import { KafkaGroupInput } from '../../src/kafka/group-input.js';
import type { ConsumedMessage, GroupConsumer, GroupRebalanceListener, KafkaClient } from '../../src/kafka/client.js';
import { silentLogger } from '../../src/core/logger.js';

/** A group member owning partition 0 of `topic`; fetch() answers from `deliver` or waits out maxWaitMs. */
function fakeClient(topic: string): { client: KafkaClient; deliver(m: ConsumedMessage[]): void } {
  let pending: ConsumedMessage[] = [];
  let wake: (() => void) | undefined;
  const consumer: GroupConsumer = {
    generation: 1,
    async subscribe(_topics: string[], listener: GroupRebalanceListener) {
      await listener.assigned([{ topic, partition: 0 }], 1);
    },
    assignment: () => [{ topic, partition: 0 }],
    seek: () => {},
    async fetch(options) {
      if (pending.length === 0) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, options?.maxWaitMs ?? 100);
          wake = () => { clearTimeout(t); r(); };
        });
      }
      const out = pending;
      pending = [];
      return out;
    },
    pause: () => {},
    resume: () => {},
    committed: async () => [],
    commit: async () => {},
    close: async () => { wake?.(); },
  };
  const client = { groupConsumer: async () => consumer } as unknown as KafkaClient;
  return { client, deliver(m) { pending.push(...m); wake?.(); } };
}

const msg = (topic: string, offset: number): ConsumedMessage => ({ topic, partition: 0, offset: BigInt(offset), key: null, value: Buffer.from('{}'), headers: {}, timestamp: 0 });

describe('KafkaGroupInput.waitReadable', () => {
  it('resolves when a fetch queues messages, long before its timeout, and after the timeout when none come', async () => {
    const { client, deliver } = fakeClient('t');
    const input = new KafkaGroupInput(client, 'g', { logger: silentLogger });
    input.addTopic('t');
    await input.start({ assigned: async () => {}, revoked: async () => {} });
    try {
      const t0 = performance.now();
      await input.waitReadable(50);
      expect(performance.now() - t0).toBeGreaterThanOrEqual(45); // nothing came: the timeout
      expect(input.poll('t', 10)).toBeUndefined();

      const waiting = input.waitReadable(5_000);
      const t1 = performance.now();
      setTimeout(() => deliver([msg('t', 0), msg('t', 1)]), 20);
      await waiting;
      expect(performance.now() - t1).toBeLessThan(1_000);
      expect(input.poll('t', 10)?.messages.map((m) => m.offset)).toEqual([0n, 1n]);

      // Messages queued after a poll and before the next wait: that wait returns at once, once.
      deliver([msg('t', 2)]);
      await new Promise((r) => setTimeout(r, 20));
      const t2 = performance.now();
      await input.waitReadable(5_000);
      expect(performance.now() - t2).toBeLessThan(100);
      expect(input.poll('t', 10)?.messages.map((m) => m.offset)).toEqual([2n]);
      const t3 = performance.now();
      await input.waitReadable(50);
      expect(performance.now() - t3).toBeGreaterThanOrEqual(45); // no spin when nothing is new
    } finally {
      await input.close();
    }
  });
});
