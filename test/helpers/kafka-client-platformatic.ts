/** The @platformatic/kafka 1.35 adapter for the conformance suite (see kafka-clients.ts). */
import {
  Admin,
  Consumer,
  Producer,
  stringDeserializers,
  stringSerializers,
  type Message,
  type MessagesStream,
} from '@platformatic/kafka';
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

type StringMessage = Message<string, string, string, string>;
type StringConsumer = Consumer<string, string, string, string>;
type StringStream = MessagesStream<string, string, string, string>;

function toConsumed(m: StringMessage): ConsumedRecord {
  return {
    topic: m.topic,
    partition: m.partition,
    offset: m.offset,
    key: m.key ?? null,
    value: m.value ?? null,
    timestamp: Number(m.timestamp),
  };
}

export function createPlatformaticClient(brokers: string[]): KafkaTestClient {
  const base = { bootstrapBrokers: brokers, connectTimeout: 3_000, requestTimeout: 10_000, retries: 5, retryDelay: 200 };
  let admin: Admin | undefined;
  const producers = new Map<string, Producer<string, string, string, string>>();
  const consumers = new Set<StringConsumer>();

  const getAdmin = (): Admin => (admin ??= new Admin({ clientId: 'tributary-conformance-admin', ...base }));

  const getProducer = (idempotent: boolean): Producer<string, string, string, string> => {
    const key = idempotent ? 'idempotent' : 'plain';
    let p = producers.get(key);
    if (!p) {
      p = new Producer({ clientId: `tributary-conformance-${key}`, ...base, serializers: stringSerializers, idempotent });
      producers.set(key, p);
    }
    return p;
  };

  const newConsumer = (groupId: string, extra: { sessionTimeout?: number; heartbeatInterval?: number } = {}): StringConsumer => {
    const c = new Consumer({
      clientId: 'tributary-conformance-consumer',
      ...base,
      groupId,
      deserializers: stringDeserializers,
      maxWaitTime: 200,
      ...extra,
    });
    consumers.add(c);
    return c;
  };

  const closeConsumer = async (c: StringConsumer, stream?: StringStream): Promise<void> => {
    consumers.delete(c);
    if (stream) await stream.close();
    await c.close(true);
  };

  return {
    async createTopic(topic, partitions, configs = {}) {
      await getAdmin().createTopics({
        topics: [topic],
        partitions,
        replicas: 1,
        configs: Object.entries(configs).map(([name, value]) => ({ name, value })),
      });
    },

    async deleteTopic(topic) {
      await getAdmin().deleteTopics({ topics: [topic] });
    },

    async listTopics() {
      return getAdmin().listTopics();
    },

    async partitionCount(topic) {
      const md = await getAdmin().metadata({ topics: [topic], forceUpdate: true });
      return md.topics.get(topic)?.partitionsCount ?? 0;
    },

    async produce(topic: string, records: ProducedRecord[], options: ProduceOptions) {
      const p = getProducer(options.idempotent ?? false);
      await p.send({
        acks: options.acks,
        compression: options.compression ?? 'none',
        messages: records.map((r) => ({
          topic,
          key: r.key ?? undefined,
          value: r.value ?? undefined,
          partition: r.partition,
          timestamp: r.timestamp === undefined ? undefined : BigInt(r.timestamp),
        })),
      });
    },

    async consume(options: ConsumeOptions) {
      const groupId = options.groupId ?? `conformance-${randomBytes(4).toString('hex')}`;
      const c = newConsumer(groupId);
      const collector = new Collector(options.count);
      let stream: StringStream | undefined;
      try {
        const from = options.from;
        const common: { topics: string[]; autocommit: number | boolean } = { topics: [options.topic], autocommit: options.commit ? 100 : false };
        if (from.kind === 'timestamp') {
          const byTime = await c.listOffsets({ topics: [options.topic], timestamp: BigInt(from.timestamp) });
          const latest = await c.listOffsets({ topics: [options.topic] });
          const offsets = (byTime.get(options.topic) ?? []).map((offset, partition) => ({
            topic: options.topic,
            partition,
            // -1: no record at or after the timestamp, so start at the end.
            offset: offset >= 0n ? offset : (latest.get(options.topic)?.[partition] ?? 0n),
          }));
          stream = await c.consume({ ...common, mode: 'manual', offsets });
        } else {
          const mode = from.kind === 'committed' ? 'committed' : from.kind;
          stream = await c.consume({ ...common, mode, fallbackMode: 'earliest' });
        }
        const s = stream;
        // 'offsets' fires once the start offsets are resolved; manual mode starts from given ones.
        const positioned = from.kind === 'timestamp' ? Promise.resolve() : new Promise<void>((resolve) => s.once('offsets', () => resolve()));
        s.on('data', (m: StringMessage) => collector.add(toConsumed(m)));
        s.on('error', () => {});
        await withTimeout(positioned, options.timeoutMs ?? 15_000, 'platformatic consumer: offsets resolved');
        if (options.whenReady) await options.whenReady();
        return await collector.wait(options.timeoutMs ?? 15_000, `platformatic consume ${options.topic} from ${from.kind}`);
      } finally {
        await closeConsumer(c, stream);
      }
    },

    async committedOffsets(groupId, topic) {
      const res = await getAdmin().listConsumerGroupOffsets({ groups: [groupId] });
      const out = new Map<number, bigint>();
      for (const g of res) {
        for (const t of g.topics) {
          if (t.name !== topic) continue;
          for (const p of t.partitions) if (p.committedOffset >= 0n) out.set(p.partitionIndex, p.committedOffset);
        }
      }
      return out;
    },

    async joinGroup(options: GroupMemberOptions) {
      const c = newConsumer(options.groupId, { sessionTimeout: options.sessionTimeoutMs, heartbeatInterval: options.heartbeatIntervalMs });
      c.on('consumer:group:join', (p) => {
        options.onAssignment((p.assignments ?? []).filter((a) => a.topic === options.topic).flatMap((a) => a.partitions));
      });
      const stream = await c.consume({ topics: [options.topic], mode: 'committed', fallbackMode: 'earliest', autocommit: 100 });
      stream.on('data', (m: StringMessage) => options.onRecord(toConsumed(m)));
      stream.on('error', () => {});
      return { stop: () => closeConsumer(c, stream) };
    },

    async close() {
      await Promise.allSettled([...consumers].map((c) => c.close(true)));
      await Promise.allSettled([...producers.values()].map((p) => p.close()));
      await admin?.close();
    },
  };
}

export const platformaticAdapter: ClientAdapter = { name: '@platformatic/kafka', connect: createPlatformaticClient };
