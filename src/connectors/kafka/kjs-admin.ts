/**
 * Admin calls shared by the backends whose admin has KafkaJS's shape (kafkajs itself and
 * @confluentinc/kafka-javascript's KafkaJS API), each passing its own error wrapper.
 */
import type { KafkaAdmin } from './client.js';

export interface KjsTopicAdmin {
  listTopics(): Promise<string[]>;
  deleteTopics(options: { topics: string[] }): Promise<void>;
}

type Wrap = <T>(what: string, fn: () => Promise<T>) => Promise<T>;

export function kjsTopicAdmin(getAdmin: () => Promise<KjsTopicAdmin>, wrap: Wrap): Pick<KafkaAdmin, 'listTopics' | 'deleteTopics'> {
  return {
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
