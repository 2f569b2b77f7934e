/**
 * The @confluentinc/kafka-javascript (librdkafka) backend of the client interface (client.ts).
 *
 * The package is optional: it builds librdkafka natively at install time, which needs a C++
 * toolchain, so it is loaded only when `client: confluent` is asked for, and its absence is a
 * clear error saying how to install it. Admin and producer go through its `KafkaJS` namespace
 * (kafkajs' API over librdkafka, so the kafkajs backend's error mapping applies); the assigned
 * consumer uses its node-rdkafka API, which is pull-style already (assign + consume(n)).
 * The package's types are not available at compile time here, so the few shapes used are
 * declared below.
 */
import { TributaryError } from '../../core/errors.js';
import { createConfluentAssignedConsumer, type RdKafkaConsumerCtor } from './confluent-assigned-consumer.js';
import { wrap } from './kafkajs-errors.js';
import {
  KafkaClientError,
  type AssignedConsumer,
  canonicalGroupState,
  explicitPartitionGuard,
  type GroupConsumer,
  type KafkaAdmin,
  type KafkaAcks,
  type KafkaClient,
  type KafkaClientOptions,
  type KafkaProducer,
  type ProducerOptions,
} from './client.js';
import { kjsTopicAdmin } from './kjs-admin.js';

const PACKAGE = '@confluentinc/kafka-javascript';

interface KjsAdmin {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  createTopics(o: { topics: Array<{ topic: string; numPartitions: number; replicationFactor: number; configEntries: Array<{ name: string; value: string }> }> }): Promise<boolean>;
  fetchTopicOffsets(topic: string): Promise<Array<{ partition: number; offset: string; high: string; low: string }>>;
  fetchTopicOffsetsByTimestamp(topic: string, timestamp: number): Promise<Array<{ partition: number; offset: string }>>;
  fetchTopicMetadata(o: { topics: string[] }): Promise<Array<{ name: string; partitions: Array<{ partitionId: number; leader: number; replicas: number[] }> }>>;
  listTopics(): Promise<string[]>;
  deleteTopics(o: { topics: string[] }): Promise<void>;
  describeGroups(groupIds: string[]): Promise<{ groups: Array<{ groupId: string; state: string | number }> }>;
  deleteGroups(groupIds: string[]): Promise<unknown>;
}

interface KjsProducer {
  connect(): Promise<void>;
  disconnect(): Promise<void>;
  send(o: { topic: string; messages: Array<{ key: Buffer | null; value: Buffer | null; headers?: Record<string, Buffer>; partition?: number; timestamp?: string }> }):
    Promise<Array<{ topicName: string; partition: number; baseOffset?: string | null; offset?: string | null }>>;
}

interface KjsKafka {
  admin(): KjsAdmin;
  producer(config: Record<string, unknown>): KjsProducer;
}

export interface ConfluentModule {
  KafkaJS: {
    Kafka: new (config: Record<string, unknown>) => KjsKafka;
    CompressionTypes: { GZIP: unknown; None: unknown };
    logLevel: { WARN: number; ERROR: number };
  };
  KafkaConsumer: RdKafkaConsumerCtor;
  librdkafkaVersion: string;
}

let loaded: Promise<ConfluentModule> | undefined;

/** Loads the package (once); throws a TributaryError saying how to install it when it or its native binding is missing. */
export function loadConfluent(): Promise<ConfluentModule> {
  loaded ??= (async () => {
    // A variable specifier: the package is optional, so the compiler must not resolve it.
    const specifier: string = PACKAGE;
    let mod: { default?: ConfluentModule } & Partial<ConfluentModule>;
    try {
      mod = (await import(specifier)) as typeof mod;
    } catch (err) {
      const code = (err as { code?: string }).code;
      const missing = (code === 'ERR_MODULE_NOT_FOUND' || code === 'MODULE_NOT_FOUND') && String((err as Error).message).includes(PACKAGE);
      throw new TributaryError('TRIB_USAGE', missing
        ? `kafka client 'confluent' needs ${PACKAGE}, which is not installed: run \`npm install ${PACKAGE}\` ` +
          '(it builds librdkafka from source at install: needs a C++ toolchain, Debian packages g++ make python3; ' +
          'without internet access set CKJS_LINKING=dynamic to link the system libssl-dev and zlib1g-dev instead of downloading them)'
        : `kafka client 'confluent': ${PACKAGE} is installed but its native binding did not load (${(err as Error).message}); ` +
          `its install script must build it: run \`npm rebuild ${PACKAGE}\` with a C++ toolchain (g++ make python3) and install scripts allowed`,
      { cause: err });
    }
    const m = (mod.default ?? mod) as ConfluentModule;
    if (!m.KafkaJS || !m.KafkaConsumer) throw new TributaryError('TRIB_USAGE', `kafka client 'confluent': ${PACKAGE} does not export KafkaJS/KafkaConsumer; a version >= 1.0 is required`);
    return m;
  })();
  loaded.catch(() => { loaded = undefined; });
  return loaded;
}

export async function createConfluentClient(options: KafkaClientOptions): Promise<KafkaClient> {
  const m = await loadConfluent();
  const { Kafka, CompressionTypes, logLevel } = m.KafkaJS;
  const log = options.log;
  const kafka = new Kafka({
    kafkaJS: {
      clientId: options.clientId,
      brokers: options.brokers,
      connectionTimeout: options.connectionTimeoutMs ?? 3_000,
      requestTimeout: options.requestTimeoutMs ?? 30_000,
      retry: { retries: options.retries ?? 2, initialRetryTime: 100, maxRetryTime: 1_000 },
      logLevel: logLevel.WARN,
      logger: {
        info: () => {},
        debug: () => {},
        warn: (msg: string, extra?: Record<string, unknown>) => log?.warn(`confluent: ${msg}`, extra),
        error: (msg: string, extra?: Record<string, unknown>) => log?.error(`confluent: ${msg}`, extra),
        setLogLevel: () => {},
        namespace() { return this; },
      },
    },
  });
  let admin: KjsAdmin | undefined;
  const closers = new Set<() => Promise<void>>();

  const getAdmin = async (): Promise<KjsAdmin> => {
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
      const [byTime, ends] = await wrap(`kafka offsetsForTimes(${topic})`, () => Promise.all([a.fetchTopicOffsetsByTimestamp(topic, timestamp), a.fetchTopicOffsets(topic)]));
      const latest = new Map(ends.map((e) => [e.partition, BigInt(e.high)]));
      return byTime
        .map((o) => ({ partition: o.partition, offset: BigInt(o.offset) >= 0n ? BigInt(o.offset) : latest.get(o.partition) ?? 0n }))
        .sort((x, y) => x.partition - y.partition);
    },
    ...kjsTopicAdmin(getAdmin, wrap, { metadataTopics: (md) => md }),
    async groupState(groupId) {
      const a = await getAdmin();
      const { groups } = await wrap(`kafka describeGroups(${groupId})`, () => a.describeGroups([groupId]));
      const g = groups.find((x) => x.groupId === groupId);
      // librdkafka's ConsumerGroupStates enum, by number.
      const states = ['Unknown', 'PreparingRebalance', 'CompletingRebalance', 'Stable', 'Dead', 'Empty'];
      return g === undefined ? 'Dead' : typeof g.state === 'number' ? (states[g.state] ?? 'Unknown') : canonicalGroupState(g.state);
    },
    async deleteGroup(groupId) {
      const a = await getAdmin();
      await wrap(`kafka deleteGroups(${groupId})`, () => a.deleteGroups([groupId]));
    },
  };
  const guardPartitions = explicitPartitionGuard(async (topic) => (await adminApi.fetchTopicMetadata([topic]))[0]?.partitions.length ?? 0);

  return {
    backend: 'confluent',
    admin: adminApi,
    async connect() {
      await getAdmin();
    },
    async disconnect() {
      const all = [...closers].map((close) => close());
      closers.clear();
      if (admin) all.push(admin.disconnect());
      admin = undefined;
      await Promise.allSettled(all);
    },
    async producer(producerOptions: ProducerOptions = {}): Promise<KafkaProducer> {
      // librdkafka fixes acks per producer, not per send: one underlying producer per acks value.
      const byAcks = new Map<KafkaAcks, Promise<KjsProducer>>();
      const compression = producerOptions.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
      const get = (acks: KafkaAcks): Promise<KjsProducer> => {
        let p = byAcks.get(acks);
        if (!p) {
          // murmur2_random: the Java client's partitioner for keyed records (librdkafka's own default is CRC32).
          const producer = kafka.producer({ partitioner: 'murmur2_random', kafkaJS: { acks: acks === 'all' ? -1 : 1, compression, allowAutoTopicCreation: false } });
          p = wrap('kafka producer connect', () => producer.connect()).then(() => producer);
          closers.add(async () => (await p!).disconnect());
          byAcks.set(acks, p);
        }
        return p;
      };
      await get('all');
      return {
        async send(topic, messages, { acks }) {
          await guardPartitions(topic, messages);
          const p = await get(acks);
          const result = await wrap(`kafka produce to ${topic}`, () => p.send({
            topic,
            messages: messages.map((msg) => ({
              key: msg.key,
              value: msg.value,
              headers: msg.headers ? { ...msg.headers } : undefined,
              partition: msg.partition,
              timestamp: msg.timestamp === undefined ? undefined : String(msg.timestamp),
            })),
          }));
          return result.map((r) => ({ topic: r.topicName, partition: r.partition, baseOffset: BigInt(r.baseOffset ?? r.offset ?? '-1') }));
        },
      };
    },
    async assignedConsumer(): Promise<AssignedConsumer> {
      const c = await createConfluentAssignedConsumer(m.KafkaConsumer, options, () => closers.delete(close));
      const close = (): Promise<void> => c.close();
      closers.add(close);
      return c;
    },
    async groupConsumer(): Promise<GroupConsumer> {
      throw new KafkaClientError('confluent backend: the group consumer is not implemented yet (use client: kafkajs or platformatic)', false);
    },
  };
}
