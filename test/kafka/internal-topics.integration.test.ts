/**
 * Internal topics against a broker (the dev broker, or the cluster KAFKA_BROKERS names): created
 * with production defaults when missing, and a worker refuses to start when an existing one has
 * the wrong partition count or cleanup policy (Kafka Streams' InternalTopicManager validation).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { uniqueName } from '../helpers/broker.js';
import { describeOnBrokers, type KafkaUnderTest } from '../helpers/kafka.js';
import { createTopic, startWorker } from '../helpers/fleet.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import { ensureInternalTopics } from '../../src/kafka/internal-topics.js';
import type { KafkaClient } from '../../src/kafka/client.js';

let target: KafkaUnderTest;
let client: KafkaClient;
let brokerCount: number;
let dir: string;

describeOnBrokers('internal topics', (kafka) => {
  beforeAll(async () => {
    target = kafka();
    client = await createKafkaClient({ brokers: target.brokers, clientId: 'internal-topics-test', retryTimeoutMs: 0 });
    await client.connect();
    brokerCount = await client.admin.brokerCount();
    dir = await mkdtemp(join(tmpdir(), 'tributary-internal-topics-'));
  }, 60_000);

  afterAll(async () => {
    await client?.disconnect();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

    it('fresh: created with the input partition count, changelog compacted, repartition and DLQ deleted, RF min(3, brokers)', async () => {
      const app = uniqueName('fresh');
      const topics = [
        { topic: `${app}.count.changelog`, kind: 'changelog' as const, partitions: 4 },
        { topic: `${app}.by_user.repartition`, kind: 'repartition' as const, partitions: 4 },
        { topic: `${app}-dlq`, kind: 'dlq' as const, partitions: 4 },
      ];
      const created = await ensureInternalTopics(client.admin, topics);
      expect(created.map((t) => t.topic)).toEqual(topics.map((t) => t.topic));
      const described = await client.admin.describeTopics(topics.map((t) => t.topic));
      const by = new Map(described.map((d) => [d.topic, d]));
      const rf = Math.min(3, brokerCount);
      for (const t of topics) {
        expect(by.get(t.topic)?.partitions, t.topic).toBe(4);
        expect(by.get(t.topic)?.replicationFactor, t.topic).toBe(rf);
      }
      if (!process.env.KAFKA_BROKERS) expect(rf).toBe(1); // the dev broker and the shared test cluster have one node
      expect(by.get(topics[0]!.topic)?.configs['cleanup.policy']).toBe('compact');
      expect(by.get(topics[1]!.topic)?.configs['cleanup.policy']).toBe('delete');
      expect(by.get(topics[1]!.topic)?.configs['retention.ms']).toBe('-1');
      expect(by.get(topics[2]!.topic)?.configs['cleanup.policy']).toBe('delete');
      // A second start finds them as they should be: nothing created, nothing refused.
      expect(await ensureInternalTopics(client.admin, topics)).toEqual([]);
    }, 60_000);

    it('an existing changelog with the wrong partition count is refused, naming topic, expected and found', async () => {
      const topic = `${uniqueName('parts')}.count.changelog`;
      await client.admin.createTopics([{ topic, partitions: 2, configs: { 'cleanup.policy': 'compact' } }]);
      await expect(ensureInternalTopics(client.admin, [{ topic, kind: 'changelog', partitions: 4 }])).rejects.toThrow(
        `internal topic '${topic}' (changelog) has 2 partitions, expected 4`,
      );
    }, 60_000);

    it('an existing changelog that is not compacted is refused', async () => {
      const topic = `${uniqueName('policy')}.count.changelog`;
      await client.admin.createTopics([{ topic, partitions: 4, configs: { 'cleanup.policy': 'delete' } }]);
      await expect(ensureInternalTopics(client.admin, [{ topic, kind: 'changelog', partitions: 4 }])).rejects.toThrow(
        `internal topic '${topic}' (changelog) has cleanup.policy=delete, expected compact`,
      );
    }, 60_000);

    it('a replication factor above the broker count is refused by the broker, as Kafka does', async () => {
      const topic = `${uniqueName('rf')}.count.changelog`;
      const rf = brokerCount + 1;
      await expect(ensureInternalTopics(client.admin, [{ topic, kind: 'changelog', partitions: 1 }], { replicationFactor: rf })).rejects.toThrow(
        `the target replication factor of ${rf} cannot be reached because only ${brokerCount} broker(s) are registered (INVALID_REPLICATION_FACTOR); set spec.kafka.internalTopics.replicationFactor to at most ${brokerCount}`,
      );
      expect(await client.admin.describeTopics([topic])).toEqual([]);
    }, 60_000);

    it('a worker refuses to start on a mismatched internal topic, with topic, expected and found in its error', async () => {
      const app = uniqueName('refuse');
      const input = `${app}-in`;
      await createTopic(target.brokers, input, 6);
      // user_apply_10m is a window step of the topology: its changelog exists with 3 partitions, compacted... and one with delete.
      await client.admin.createTopics([
        { topic: `${app}.user_apply_10m.changelog`, partitions: 3, configs: { 'cleanup.policy': 'compact' } },
        { topic: `${app}.user_apply_1h.changelog`, partitions: 6, configs: { 'cleanup.policy': 'delete' } },
      ]);
      const w = startWorker(
        ['topologies/loan-risk-features-kafka.yaml', '--app-id', app, '--data-dir', join(dir, app), '--quiet'],
        { KAFKA_BROKERS: target.brokers.join(','), TRIBUTARY_TOPIC: input, TRIBUTARY_OUT: join(dir, `${app}-out`) },
      );
      const exit = await w.exited;
      expect(exit.code, w.stderr().slice(-2000)).not.toBe(0);
      expect(w.stderr()).toContain(`internal topic '${app}.user_apply_10m.changelog' (changelog) has 3 partitions, expected 6`);
      expect(w.stderr()).toContain(`internal topic '${app}.user_apply_1h.changelog' (changelog) has cleanup.policy=delete, expected compact`);
      // It refused before creating anything else or joining the group.
      expect(await client.admin.describeTopics([`${app}.user_apply_3d.changelog`])).toEqual([]);
      expect(await client.admin.groupState(app)).toBe('Dead');
    }, 120_000);
});
