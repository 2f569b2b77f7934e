/**
 * The kafkajs 2.x backend of the client interface (client.ts).
 */
// First, before kafkajs loads: replaces kafkajs' quadratic per-partition grouping of a send.
import './kafkajs-grouping.js';
import {
  CompressionTypes,
  Kafka,
  Partitioners,
  logLevel,
  type Admin,
  type IHeaders,
  type LogEntry,
  type Producer,
} from 'kafkajs';
import { createKafkajsAssignedConsumer } from './kafkajs-assigned-consumer.js';
import { createKafkajsGroupConsumer } from './kafkajs-group-consumer.js';
import { wrap } from './kafkajs-errors.js';
import {
  canonicalGroupState,
  explicitPartitionGuard,
  type AssignedConsumer,
  type ClientLog,
  type GroupConsumer,
  type KafkaAdmin,
  type KafkaClient,
  type KafkaClientOptions,
  type KafkaProducer,
  type ProduceMessage,
  type ProducerOptions,
} from './client.js';
import { kjsTopicAdmin } from './kjs-admin.js';

function logCreator(log: ClientLog | undefined) {
  return () => ({ level, log: entry }: LogEntry): void => {
    if (!log) return;
    const { message, ...fields } = entry;
    if (level === logLevel.ERROR) log.error(`kafkajs: ${message}`, fields);
    else if (level === logLevel.WARN) log.warn(`kafkajs: ${message}`, fields);
  };
}

function toIHeaders(headers: ProduceMessage['headers']): IHeaders | undefined {
  if (!headers) return undefined;
  return { ...headers };
}

export function createKafkajsClient(options: KafkaClientOptions): KafkaClient {
  const kafka = new Kafka({
    clientId: options.clientId,
    brokers: options.brokers,
    logLevel: logLevel.WARN,
    logCreator: logCreator(options.log),
    connectionTimeout: options.connectionTimeoutMs ?? 3_000,
    requestTimeout: options.requestTimeoutMs ?? 30_000,
    retry: { retries: options.retries ?? 2, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  let admin: Admin | undefined;
  const producers: Producer[] = [];
  const consumers = new Set<AssignedConsumer | GroupConsumer>();

  const getAdmin = async (): Promise<Admin> => {
    if (!admin) {
      const a = kafka.admin();
      await wrap('kafka admin connect', () => a.connect());
      admin = a;
    }
    return admin;
  };

  const adminApi: KafkaAdmin = {
    async offsetsForTimes(topic, timestamp) {
      const a = await getAdmin();
      const offsets = await wrap(`kafka offsetsForTimes(${topic})`, () => a.fetchTopicOffsetsByTimestamp(topic, timestamp));
      return offsets
        .map((o) => ({ partition: o.partition, offset: BigInt(o.offset) }))
        .sort((x, y) => x.partition - y.partition);
    },
    ...kjsTopicAdmin(getAdmin, wrap, { waitForLeaders: true, metadataTopics: (md) => md.topics }),
    async groupState(groupId) {
      const a = await getAdmin();
      const { groups } = await wrap(`kafka describeGroups(${groupId})`, () => a.describeGroups([groupId]));
      return canonicalGroupState(groups.find((x) => x.groupId === groupId)?.state ?? 'Dead');
    },
    async deleteGroup(groupId) {
      const a = await getAdmin();
      await wrap(`kafka deleteGroups(${groupId})`, async () => {
        try {
          await a.deleteGroups([groupId]);
        } catch (err) {
          // KafkaJSDeleteGroupsError says only "Error in DeleteGroups"; the reason is per group.
          const groups = (err as { groups?: Array<{ error?: { type?: string; message?: string } }> }).groups ?? [];
          const reasons = groups.map((g) => g.error?.type ?? g.error?.message).filter((r) => r !== undefined);
          if (reasons.length > 0 && err instanceof Error) err.message = `${err.message}: ${reasons.join(', ')}`;
          throw err;
        }
      });
    },
  };
  const guardPartitions = explicitPartitionGuard(async (topic) => (await adminApi.fetchTopicMetadata([topic]))[0]?.partitions.length ?? 0);

  return {
    backend: 'kafkajs',
    admin: adminApi,
    async connect() {
      await getAdmin();
    },
    async disconnect() {
      // Consumers first: a group consumer's close() runs listener.revoked(), which may still
      // commit or read committed offsets through the admin.
      await Promise.allSettled([...consumers].map((c) => c.close()));
      const all = [...producers.map((p) => p.disconnect()), admin?.disconnect()];
      producers.length = 0;
      admin = undefined;
      await Promise.allSettled(all);
    },
    async producer(producerOptions: ProducerOptions = {}): Promise<KafkaProducer> {
      // Explicit: kafkajs 2's default is the Java-compatible murmur2 partitioner; naming it
      // keeps it so (and silences kafkajs' partitioner-change warning).
      const p = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
      await wrap('kafka producer connect', () => p.connect());
      producers.push(p);
      const compression = producerOptions.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
      return {
        async send(topic, messages, { acks }) {
          await guardPartitions(topic, messages);
          const result = await wrap(`kafka produce to ${topic}`, () => p.send({
            topic,
            acks: acks === 'all' ? -1 : 1,
            compression,
            messages: messages.map((m) => ({
              key: m.key,
              value: m.value,
              headers: toIHeaders(m.headers),
              partition: m.partition,
              timestamp: m.timestamp === undefined ? undefined : String(m.timestamp),
            })),
          }));
          return result.map((r) => ({ topic: r.topicName, partition: r.partition, baseOffset: BigInt(r.baseOffset ?? '-1') }));
        },
      };
    },
    async assignedConsumer(): Promise<AssignedConsumer> {
      const c = createKafkajsAssignedConsumer(kafka, () => consumers.delete(c));
      consumers.add(c);
      return c;
    },
    async groupConsumer(groupOptions): Promise<GroupConsumer> {
      const c = createKafkajsGroupConsumer({ kafka, admin: getAdmin, log: options.log, onClose: () => consumers.delete(c) }, groupOptions);
      consumers.add(c);
      return c;
    },
  };
}
