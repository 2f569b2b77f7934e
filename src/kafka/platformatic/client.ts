/**
 * The client interface (../client.ts) over @platformatic/kafka 1.x.
 *
 * Producing goes through platformatic-produce.ts (Tributary's record batch encoder over
 * platformatic's connections). Keyed records without an explicit partition are placed by
 * Tributary's own murmur2 (core/partitioner.ts): platformatic's default partitioner takes
 * `murmur2(key) >>> 0` where the Java client takes `murmur2(key) & 0x7fffffff`, which puts a key
 * with a negative hash on another partition whenever the count is not a power of two.
 */
import { randomBytes } from 'node:crypto';
import { Admin, Consumer, Producer } from '@platformatic/kafka';
import { createPlatformaticGroupConsumer } from './group-consumer.js';
import { PartitionFetcher } from './fetcher.js';
import { createDirectProducer } from './produce.js';
import { protocolIds, toClientError, wrap } from './errors.js';
import { platformaticBaseOptions } from './wire.js';
import { installTaggedFieldsReader } from './tagged-fields.js';
import { canonicalGroupState } from '../client.js';
import type { KafkaRetrier } from '../retry.js';
import type {
  AssignedConsumer,
  GroupConsumer,
  GroupConsumerOptions,
  KafkaAdmin,
  KafkaClient,
  KafkaClientOptions,
  KafkaProducer,
  ProducerOptions,
} from '../client.js';

const EARLIEST = -2n;
/** DescribeConfigs resource_type of a topic. */
const TOPIC_RESOURCE = 2;
const LATEST = -1n;

export function createPlatformaticClient(options: KafkaClientOptions, retrier?: KafkaRetrier): KafkaClient {
  installTaggedFieldsReader();
  let admin: Admin | undefined;
  const closers = new Set<() => Promise<void>>();
  const getAdmin = (): Admin => (admin ??= new Admin(platformaticBaseOptions(options, 'admin')));

  const partitionCount = async (topic: string): Promise<number> => {
    const md = await getAdmin().metadata({ topics: [topic] });
    const count = md.topics.get(topic)?.partitionsCount;
    if (count === undefined) throw new Error(`topic ${topic} has no metadata`);
    return count;
  };

  const listAt = async (topic: string, timestamp: bigint): Promise<Map<number, bigint>> => {
    const count = await partitionCount(topic);
    const partitions = Array.from({ length: count }, (_, partitionIndex) => ({ partitionIndex, timestamp }));
    const res = await getAdmin().listOffsets({ topics: [{ name: topic, partitions }] });
    return new Map(res.flatMap((t) => t.partitions.map((p) => [p.partitionIndex, p.offset] as const)));
  };

  /**
   * Real Kafka answers CreateTopics before every partition has a leader (the controller elects
   * them asynchronously): a produce or fetch right after gets UNKNOWN_TOPIC_OR_PARTITION or
   * LEADER_NOT_AVAILABLE. Kafka's own AdminClient users poll metadata the same way.
   */
  const untilLed = async (topic: string, timeoutMs = 30_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    for (let delay = 20; ; delay = Math.min(delay * 2, 500)) {
      const md = await getAdmin().metadata({ topics: [topic], forceUpdate: true }).catch(() => undefined);
      const partitions = md?.topics.get(topic)?.partitions ?? [];
      if (partitions.length > 0 && partitions.every((p) => p !== undefined && p.leader >= 0)) return;
      if (Date.now() > deadline) throw toClientError(`kafka createTopics(${topic})`, new Error(`not every partition has a leader after ${timeoutMs} ms`));
      await new Promise((r) => setTimeout(r, delay));
    }
  };

  const adminApi: KafkaAdmin = {
    async createTopics(topics) {
      for (const t of topics) {
        try {
          await getAdmin().createTopics({
            topics: [t.topic],
            partitions: t.partitions,
            // Unset: -1, the broker's default.replication.factor (KIP-464; 1 on the dev broker).
            replicas: t.replicationFactor ?? -1,
            configs: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
          });
        } catch (err) {
          const ids = protocolIds(err);
          if (ids.length === 0 || ids.some((id) => id !== 'TOPIC_ALREADY_EXISTS')) throw toClientError(`kafka createTopics(${t.topic})`, err);
        }
        await untilLed(t.topic);
      }
    },
    async describeTopics(topics) {
      if (topics.length === 0) return [];
      return wrap('kafka describeTopics', async () => {
        // Metadata for a missing topic is an error: ask only for the ones listed.
        const all = new Set(await getAdmin().listTopics({ includeInternals: false }));
        const present = topics.filter((t) => all.has(t));
        if (present.length === 0) return [];
        const meta = await getAdmin().metadata({ topics: present, forceUpdate: true });
        const described = await getAdmin().describeConfigs({ resources: present.map((resourceName) => ({ resourceType: TOPIC_RESOURCE, resourceName })) });
        const configs = new Map<string, Record<string, string>>();
        for (const d of described) {
          const values: Record<string, string> = {};
          for (const c of d.configs) if (typeof c.value === 'string') values[c.name] = c.value;
          configs.set(d.resourceName, values);
        }
        return present.map((topic) => {
          const t = meta.topics.get(topic);
          return { topic, partitions: t?.partitionsCount ?? 0, replicationFactor: t?.partitions[0]?.replicas.length ?? 0, configs: configs.get(topic) ?? {} };
        });
      });
    },
    async brokerCount() {
      return wrap('kafka brokerCount', async () => (await getAdmin().metadata({ topics: [], forceUpdate: true })).brokers.size);
    },
    async listOffsets(topic) {
      return wrap(`kafka listOffsets(${topic})`, async () => {
        const [earliest, latest] = await Promise.all([listAt(topic, EARLIEST), listAt(topic, LATEST)]);
        return [...latest.keys()].sort((a, b) => a - b).map((partition) => ({ partition, earliest: earliest.get(partition) ?? 0n, latest: latest.get(partition)! }));
      });
    },
    async offsetsForTimes(topic, timestamp) {
      return wrap(`kafka offsetsForTimes(${topic})`, async () => {
        const [byTime, latest] = await Promise.all([listAt(topic, BigInt(timestamp)), listAt(topic, LATEST)]);
        // -1: no record at or after the timestamp, so the answer is the end of the partition.
        return [...latest.keys()].sort((a, b) => a - b).map((partition) => {
          const at = byTime.get(partition) ?? -1n;
          return { partition, offset: at >= 0n ? at : latest.get(partition)! };
        });
      });
    },
    async fetchTopicMetadata(topics) {
      return wrap('kafka fetchTopicMetadata', async () => {
        const md = await getAdmin().metadata({ topics, forceUpdate: true });
        return topics.map((topic) => ({
          topic,
          partitions: (md.topics.get(topic)?.partitions ?? []).map((p, partition) => ({ partition, leader: p.leader, replicas: [...p.replicas] })),
        }));
      });
    },
    async listTopics() {
      return (await wrap('kafka listTopics', () => getAdmin().listTopics({ includeInternals: false }))).filter((t) => !t.startsWith('__'));
    },
    async deleteTopics(topics) {
      if (topics.length === 0) return;
      await wrap('kafka deleteTopics', () => getAdmin().deleteTopics({ topics }));
      // Its metadata cache would still list them.
      await getAdmin().metadata({ topics: [], forceUpdate: true }).catch(() => undefined);
    },
    async groupState(groupId) {
      // ListGroups, not DescribeGroups: platformatic parses every member's metadata as the
      // standard consumer protocol's and throws, uncaught, on the co-partitioning assignor's.
      const groups = await wrap('kafka listGroups', () => getAdmin().listGroups());
      return canonicalGroupState(groups.get(groupId)?.state ?? 'Dead');
    },
    async deleteGroup(groupId) {
      await wrap(`kafka deleteGroups(${groupId})`, () => getAdmin().deleteGroups({ groups: [groupId] }));
    },
  };

  return {
    admin: adminApi,
    async connect() {
      await wrap('kafka admin connect', () => getAdmin().metadata({ topics: [] }));
    },
    async disconnect() {
      const all = [...closers].map((close) => close());
      closers.clear();
      if (admin) all.push(admin.close());
      admin = undefined;
      await Promise.allSettled(all);
    },
    async producer(producerOptions: ProducerOptions = {}): Promise<KafkaProducer> {
      const p = new Producer({ ...platformaticBaseOptions(options, 'producer'), compression: producerOptions.compression ?? 'none' });
      closers.add(() => p.close());
      await wrap('kafka producer connect', () => p.metadata({ topics: [] }));
      const direct = createDirectProducer(p, producerOptions.compression ?? 'none');
      return {
        send: (topic, messages, { acks, headers }) => wrap(`kafka produce to ${topic}`, () => direct.send(topic, messages, acks === 'all' ? -1 : 1, headers)),
      };
    },
    async assignedConsumer(): Promise<AssignedConsumer> {
      // A consumer only for its connections and Fetch: it never joins the (random) group.
      const c = new Consumer({ ...platformaticBaseOptions(options, 'assigned'), groupId: `tributary-assigned-${randomBytes(6).toString('hex')}` });
      const fetcher = new PartitionFetcher(c);
      const close = async (): Promise<void> => {
        fetcher.close();
        await c.close(true);
      };
      closers.add(close);
      return {
        async assign(partitions) {
          fetcher.clear();
          for (const p of partitions) fetcher.set(p.topic, p.partition, p.offset);
        },
        seek(position) {
          if (!fetcher.has(position.topic, position.partition)) {
            throw toClientError('kafka seek', new Error(`${position.topic}[${position.partition}] is not assigned`));
          }
          fetcher.set(position.topic, position.partition, position.offset);
        },
        fetch: (fetchOptions) => fetcher.fetch(fetchOptions),
        async close() {
          closers.delete(close);
          await close();
        },
      };
    },
    async groupConsumer(groupOptions: GroupConsumerOptions): Promise<GroupConsumer> {
      const g = createPlatformaticGroupConsumer(options, groupOptions, () => closers.delete(closeGroup), retrier);
      const closeGroup = (): Promise<void> => g.close();
      closers.add(closeGroup);
      return g;
    },
  };
}
