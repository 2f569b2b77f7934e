/**
 * A KafkaClient whose calls ride out broker faults (retry.ts): admin calls, produce, fetch,
 * committed offsets and commits are retried while their failure is retriable, up to the bound.
 * Group membership (JoinGroup/SyncGroup after a broker came back) retries inside the group
 * consumer with the same retrier, so one outage is one warning whichever call saw it first.
 */
import type { AssignedConsumer, GroupConsumer, KafkaAdmin, KafkaClient, KafkaProducer } from './client.js';
import type { KafkaRetrier } from './retry.js';

export function withRetries(client: KafkaClient, retrier: KafkaRetrier): KafkaClient {
  const r = <T>(what: string, fn: () => Promise<T>): Promise<T> => retrier.run(what, fn);
  const a = client.admin;
  const admin: KafkaAdmin = {
    createTopics: (topics) => r('kafka createTopics', () => a.createTopics(topics)),
    describeTopics: (topics) => r('kafka describeTopics', () => a.describeTopics(topics)),
    brokerCount: () => r('kafka brokerCount', () => a.brokerCount()),
    listOffsets: (topic) => r(`kafka listOffsets(${topic})`, () => a.listOffsets(topic)),
    offsetsForTimes: (topic, timestamp) => r(`kafka offsetsForTimes(${topic})`, () => a.offsetsForTimes(topic, timestamp)),
    fetchTopicMetadata: (topics) => r('kafka fetchTopicMetadata', () => a.fetchTopicMetadata(topics)),
    listTopics: () => r('kafka listTopics', () => a.listTopics()),
    deleteTopics: (topics) => r('kafka deleteTopics', () => a.deleteTopics(topics)),
    groupState: (groupId) => r(`kafka groupState(${groupId})`, () => a.groupState(groupId)),
    deleteGroup: (groupId) => r(`kafka deleteGroup(${groupId})`, () => a.deleteGroup(groupId)),
  };
  return {
    admin,
    connect: () => r('kafka connect', () => client.connect()),
    disconnect: () => client.disconnect(),
    async producer(options) {
      const p = await r('kafka producer connect', () => client.producer(options));
      const producer: KafkaProducer = { send: (topic, messages, o) => r(`kafka produce to ${topic}`, () => p.send(topic, messages, o)) };
      return producer;
    },
    async assignedConsumer() {
      const c = await client.assignedConsumer();
      const consumer: AssignedConsumer = {
        assign: (partitions) => c.assign(partitions),
        seek: (position) => c.seek(position),
        fetch: (options) => retrier.run('kafka fetch', () => c.fetch(options), options?.signal),
        close: () => c.close(),
      };
      return consumer;
    },
    async groupConsumer(options) {
      const g = await client.groupConsumer(options);
      const consumer: GroupConsumer = {
        get generation() { return g.generation; },
        subscribe: (topics, listener) => g.subscribe(topics, listener),
        assignment: () => g.assignment(),
        seek: (position) => g.seek(position),
        fetch: (o) => retrier.run('kafka fetch', () => g.fetch(o), o?.signal),
        pause: (partitions) => g.pause(partitions),
        resume: (partitions) => g.resume(partitions),
        committed: (partitions) => r('kafka committed offsets', () => g.committed(partitions)),
        commit: (offsets) => r('kafka commit', () => g.commit(offsets)),
        close: () => g.close(),
      };
      return consumer;
    },
  };
}
