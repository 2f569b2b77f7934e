/**
 * Admin calls shared by the backends whose admin has KafkaJS's shape (kafkajs itself and
 * @confluentinc/kafka-javascript's KafkaJS API), each passing its own error wrapper. They differ
 * in two places: kafkajs can wait for leaders after createTopics, and fetchTopicMetadata answers
 * `{topics}` in kafkajs but the list itself in confluent (`metadataTopics` reads either).
 */
import type { KafkaAdmin, TopicMetadata } from './client.js';

interface KjsTopicMetadata {
  name: string;
  partitions: Array<{ partitionId: number; leader: number; replicas: number[] }>;
}

export interface KjsTopicAdmin<Metadata> {
  createTopics(options: {
    waitForLeaders?: boolean;
    topics: Array<{ topic: string; numPartitions: number; replicationFactor: number; configEntries: Array<{ name: string; value: string }> }>;
  }): Promise<boolean>;
  fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; high: string; low: string }>>;
  fetchTopicMetadata(options: { topics: string[] }): Promise<Metadata>;
  listTopics(): Promise<string[]>;
  deleteTopics(options: { topics: string[] }): Promise<void>;
}

type Wrap = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

export interface KjsAdminOptions<Metadata> {
  /** kafkajs: wait until the new topics have leaders (confluent's createTopics has no such option). */
  waitForLeaders?: boolean;
  metadataTopics(metadata: Metadata): readonly KjsTopicMetadata[];
}

export function kjsTopicAdmin<Metadata>(
  getAdmin: () => Promise<KjsTopicAdmin<Metadata>>, wrap: Wrap, options: KjsAdminOptions<Metadata>,
): Pick<KafkaAdmin, 'createTopics' | 'listOffsets' | 'fetchTopicMetadata' | 'listTopics' | 'deleteTopics'> {
  return {
    async createTopics(topics) {
      const a = await getAdmin();
      // Resolves false (not an error) when a topic already exists.
      await wrap('kafka createTopics', () => a.createTopics({
        ...(options.waitForLeaders ? { waitForLeaders: true } : {}),
        topics: topics.map((t) => ({
          topic: t.topic,
          numPartitions: t.partitions,
          replicationFactor: t.replicationFactor ?? 1,
          configEntries: Object.entries(t.configs ?? {}).map(([name, value]) => ({ name, value })),
        })),
      }));
    },
    async listOffsets(topic) {
      const a = await getAdmin();
      const offsets = await wrap(`kafka listOffsets(${topic})`, () => a.fetchTopicOffsets(topic));
      return offsets
        .map((o) => ({ partition: o.partition, earliest: BigInt(o.low), latest: BigInt(o.high) }))
        .sort((x, y) => x.partition - y.partition);
    },
    async fetchTopicMetadata(topics): Promise<TopicMetadata[]> {
      const a = await getAdmin();
      const md = await wrap('kafka fetchTopicMetadata', () => a.fetchTopicMetadata({ topics }));
      return options.metadataTopics(md).map((t) => ({
        topic: t.name,
        partitions: t.partitions
          .map((p) => ({ partition: p.partitionId, leader: p.leader, replicas: [...p.replicas] }))
          .sort((x, y) => x.partition - y.partition),
      }));
    },
    async listTopics() {
      const a = await getAdmin();
      return (await wrap('kafka listTopics', () => a.listTopics())).filter((t) => !t.startsWith('__'));
    },
    async deleteTopics(topics) {
      if (topics.length === 0) return;
      const a = await getAdmin();
      await wrap('kafka deleteTopics', () => a.deleteTopics({ topics }));
    },
  };
}
