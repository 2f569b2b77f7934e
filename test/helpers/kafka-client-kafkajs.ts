/** The kafkajs 2.2 adapter for the conformance suite (see kafka-clients.ts). */
import { CompressionTypes, Kafka, logLevel, type Admin, type Consumer, type KafkaMessage, type Producer } from 'kafkajs';
import { randomBytes } from 'node:crypto';
import {
  Collector,
  withTimeout,
  type ClientAdapter,
  type ConsumedRecord,
  type ConsumeOptions,
  type GroupMemberOptions,
  type KafkaTestClient,
  type ProducedRecord,
  type ProduceOptions,
} from './kafka-clients.js';

function toConsumed(topic: string, partition: number, m: KafkaMessage): ConsumedRecord {
  return {
    topic,
    partition,
    offset: BigInt(m.offset),
    key: m.key === null ? null : m.key.toString(),
    value: m.value === null ? null : m.value.toString(),
    timestamp: Number(m.timestamp),
  };
}

export function createKafkajsClient(brokers: string[]): KafkaTestClient {
  const kafka = new Kafka({
    clientId: 'tributary-conformance',
    brokers,
    logLevel: logLevel.NOTHING,
    connectionTimeout: 3_000,
    requestTimeout: 10_000,
    retry: { retries: 5, initialRetryTime: 100, maxRetryTime: 1_000 },
  });
  let admin: Admin | undefined;
  const producers = new Map<string, Producer>();
  const consumers = new Set<Consumer>();

  const getAdmin = async (): Promise<Admin> => {
    if (!admin) {
      admin = kafka.admin();
      await admin.connect();
    }
    return admin;
  };

  const getProducer = async (idempotent: boolean): Promise<Producer> => {
    const key = idempotent ? 'idempotent' : 'plain';
    let p = producers.get(key);
    if (!p) {
      p = kafka.producer(idempotent ? { idempotent: true, maxInFlightRequests: 1 } : {});
      producers.set(key, p);
      await p.connect();
    }
    return p;
  };

  const startConsumer = async (groupId: string, extra: Partial<Parameters<Kafka['consumer']>[0]> = {}): Promise<Consumer> => {
    const c = kafka.consumer({ groupId, maxWaitTimeInMs: 200, ...extra });
    consumers.add(c);
    await c.connect();
    return c;
  };

  const stopConsumer = async (c: Consumer): Promise<void> => {
    consumers.delete(c);
    await c.disconnect();
  };

  return {
    async createTopic(topic, partitions, configs = {}) {
      const a = await getAdmin();
      const created = await a.createTopics({
        waitForLeaders: true,
        topics: [{ topic, numPartitions: partitions, configEntries: Object.entries(configs).map(([name, value]) => ({ name, value })) }],
      });
      if (!created) throw new Error(`kafkajs createTopics(${topic}) returned false (topic already exists?)`);
    },

    async deleteTopic(topic) {
      await (await getAdmin()).deleteTopics({ topics: [topic], timeout: 5_000 });
    },

    async listTopics() {
      return (await getAdmin()).listTopics();
    },

    async partitionCount(topic) {
      const md = await (await getAdmin()).fetchTopicMetadata({ topics: [topic] });
      return md.topics[0]?.partitions.length ?? 0;
    },

    async produce(topic: string, records: ProducedRecord[], options: ProduceOptions) {
      const p = await getProducer(options.idempotent ?? false);
      await p.send({
        topic,
        acks: options.acks,
        compression: options.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: records.map((r) => ({
          key: r.key,
          value: r.value,
          partition: r.partition,
          timestamp: r.timestamp === undefined ? undefined : String(r.timestamp),
        })),
      });
    },

    async consume(options: ConsumeOptions) {
      const groupId = options.groupId ?? `conformance-${randomBytes(4).toString('hex')}`;
      const c = await startConsumer(groupId);
      const collector = new Collector(options.count);
      try {
        const fromBeginning = options.from.kind === 'earliest' || options.from.kind === 'committed';
        await c.subscribe({ topic: options.topic, fromBeginning });
        // A completed fetch means the group is joined and the start offsets are resolved.
        const fetched = new Promise<void>((resolve) => {
          const off = c.on(c.events.FETCH, () => { off(); resolve(); });
        });
        let seeks: Array<{ partition: number; offset: string }> = [];
        if (options.from.kind === 'timestamp') {
          seeks = await (await getAdmin()).fetchTopicOffsetsByTimestamp(options.topic, options.from.timestamp);
        }
        await c.run({
          autoCommit: options.commit ?? false,
          eachMessage: async ({ topic, partition, message }) => collector.add(toConsumed(topic, partition, message)),
        });
        for (const s of seeks) c.seek({ topic: options.topic, partition: s.partition, offset: s.offset });
        await withTimeout(fetched, options.timeoutMs ?? 15_000, 'kafkajs consumer: first fetch');
        if (options.whenReady) await options.whenReady();
        return await collector.wait(options.timeoutMs ?? 15_000, `kafkajs consume ${options.topic} from ${options.from.kind}`);
      } finally {
        await stopConsumer(c);
      }
    },

    async committedOffsets(groupId, topic) {
      const res = await (await getAdmin()).fetchOffsets({ groupId, topics: [topic] });
      const out = new Map<number, bigint>();
      for (const p of res[0]?.partitions ?? []) {
        if (Number(p.offset) >= 0) out.set(p.partition, BigInt(p.offset));
      }
      return out;
    },

    async joinGroup(options: GroupMemberOptions) {
      const c = await startConsumer(options.groupId, {
        sessionTimeout: options.sessionTimeoutMs,
        heartbeatInterval: options.heartbeatIntervalMs,
        rebalanceTimeout: options.sessionTimeoutMs,
      });
      c.on(c.events.GROUP_JOIN, (e) => options.onAssignment(e.payload.memberAssignment[options.topic] ?? []));
      await c.subscribe({ topic: options.topic, fromBeginning: true });
      await c.run({ autoCommit: true, eachMessage: async ({ topic, partition, message }) => options.onRecord(toConsumed(topic, partition, message)) });
      return { stop: () => stopConsumer(c) };
    },

    async close() {
      await Promise.allSettled([...consumers].map((c) => c.disconnect()));
      await Promise.allSettled([...producers.values()].map((p) => p.disconnect()));
      await admin?.disconnect();
    },
  };
}

export const kafkajsAdapter: ClientAdapter = { name: 'kafkajs', connect: createKafkajsClient };
