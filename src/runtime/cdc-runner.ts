/**
 * `tributary cdc`: the binlog of one database server into Kafka, one topic per table
 * (`<prefix>.<db>.<table>`, key = the primary key as JSON, value = the DESIGN.md envelope as JSON),
 * with ONE active reader per server in a fleet.
 *
 * Why it is safe to run several copies:
 * - a Lease in Redis (runAsLeader, standby after loss) lets one process read; the others wait;
 * - the reader's position (the source's opaque token) lives in a FencedStore next to the lease,
 *   written only after Kafka acknowledged (acks all) every record before it, and refused with
 *   TRIB_FENCED when a newer leader exists. A standby that takes over restores that position, so
 *   nothing committed is lost; what the old leader produced after its last stored position is
 *   produced again (at least once: consumers dedupe by (table, pk, source file/pos) or are idempotent).
 */
import { hostname } from 'node:os';
import { Redis } from 'ioredis';
import { cdcReaderSpec, createCdcReader } from '../connectors/registry.js';
import { createKafkaClient, parseBrokers } from '../kafka/create-client.js';
import type { KafkaClient, KafkaProducer, ProduceMessage } from '../kafka/client.js';
import type { RawRecord } from '../connectors/types.js';
import { s, type Infer } from '../core/spec.js';
import { errorMessage } from '../core/errors.js';
import { FencedStore, Lease, runAsLeader, type FencingToken } from './lease.js';
import { PositionWriter } from './cdc-position.js';
import type { Logger } from '../core/logger.js';

export const cdcConfigSpec = s.object({
  mysql: cdcReaderSpec,
  kafka: s.object({
    brokers: s.any().describe('Bootstrap brokers: a list of "host:port" or one comma-separated string'),
    topicPrefix: s.string({ minLength: 1 }).default('cdc').describe('Topics are <topicPrefix>.<db>.<table>'),
    partitions: s.number({ integer: true, min: 1 }).default(1).describe('Partitions of topics the reader creates'),
  }),
  redis: s.object({
    url: s.string({ pattern: '^rediss?://', patternHint: 'write redis://host:port' }).describe('Redis holding the lease and the position (run it with AOF)'),
  }),
  lease: s.object({
    name: s.string({ minLength: 1 }).optional().describe('Lease name; default cdc:<mysql host>:<port>'),
    ttl: s.duration({ min: 1 }).default(10_000).describe('A dead leader is replaced after at most this long'),
  }).optional(),
  batchSize: s.number({ integer: true, min: 1 }).default(500).describe('Changes per produce at most; the position of what Kafka acknowledged is stored at most every 100 ms'),
});
export type CdcConfig = Infer<typeof cdcConfigSpec>;

export interface CdcRunOptions {
  logger: Logger;
  signal: AbortSignal;
  /** Unique per process; default host:pid. */
  owner?: string;
}

const POSITION_KEY = 'position';
/**
 * At most one position write per this long. Every batch's write (an EVAL sending the fencing
 * script) was ~3 % of the reader's CPU under load, for positions that matter only at a takeover,
 * which now produces again at most this much more (at least once, as before).
 */
const POSITION_EVERY_MS = 100;

interface Envelope { source?: { db?: string; table?: string } }

export async function runCdc(config: CdcConfig, options: CdcRunOptions): Promise<void> {
  const { logger, signal } = options;
  const leaseName = config.lease?.name ?? `cdc:${config.mysql.host}:${config.mysql.port}`;
  const redis = new Redis(config.redis.url, { maxRetriesPerRequest: 2, retryStrategy: (n) => Math.min(1000, 50 * n) });
  redis.on('error', (err) => logger.debug('redis connection error', { error: errorMessage(err) }));
  const lease = new Lease({ redis, name: leaseName, owner: options.owner ?? `${hostname()}:${process.pid}`, ttlMs: config.lease?.ttl ?? 10_000, logger });
  const store = new FencedStore(redis, leaseName);
  const brokers = parseBrokers(config.kafka.brokers, 'kafka.brokers');
  let kafka: KafkaClient | undefined;
  try {
    kafka = await createKafkaClient({ brokers, clientId: `tributary-cdc-${process.pid}` });
    await kafka.connect();
    const producer = await kafka.producer();
    logger.info('standing by for the cdc lease', { lease: leaseName });
    await runAsLeader(lease, (token, sig) => lead(config, kafka!, producer, store, token, sig, logger), { signal, standbyAfterLoss: true, logger });
  } finally {
    await kafka?.disconnect().catch(() => undefined);
    redis.disconnect();
  }
}

async function lead(config: CdcConfig, kafka: KafkaClient, producer: KafkaProducer, store: FencedStore, token: FencingToken, signal: AbortSignal, logger: Logger): Promise<void> {
  const source = await createCdcReader('cdc', config.mysql, { idleWaitMs: 100 });
  await source.open({ logger, signal });
  const prefix = config.kafka.topicPrefix ?? 'cdc';
  const created = new Set<string>();
  // Stored beside the loop, not inside it: a Redis round trip per batch delayed every change behind it.
  const position = new PositionWriter({ set: (value) => store.set(POSITION_KEY, value, token) }, POSITION_EVERY_MS);
  try {
    // Every included table's topic exists from the start, so workers deployed with this reader
    // find their sources even for tables that have not changed yet. Tables created later get
    // theirs at their first change (below).
    const topics = (await source.capturedTables()).map((table) => `${prefix}.${table}`);
    if (topics.length > 0) await kafka.admin.createTopics(topics.map((topic) => ({ topic, partitions: config.kafka.partitions ?? 1 })));
    for (const t of topics) created.add(t);
    logger.info('cdc topics ready', { topics });
    const saved = await store.get(POSITION_KEY);
    if (saved) source.restore(0, saved);
    logger.info('leading: reading the binlog', { token, resume: saved ? 'stored position' : 'start' });
    const send = async (byTopic: Map<string, ProduceMessage[]>): Promise<void> => {
      for (const [topic, messages] of byTopic) {
        if (!created.has(topic)) {
          await kafka.admin.createTopics([{ topic, partitions: config.kafka.partitions ?? 1 }]).catch((err: unknown) => {
            if (!/exist/i.test(errorMessage(err))) throw err;
          });
          created.add(topic);
        }
        await producer.send(topic, messages, { acks: 'all' });
      }
    };
    // One batch in flight while the next is read from the binlog and converted: that work no
    // longer waits for the previous batch's acknowledgement. Batches still go out one at a time
    // and in order (a batch never starts before the one before it is acknowledged).
    let sending: { done: Promise<void>; token: string } | undefined;
    const acknowledged = async (): Promise<void> => {
      const s = sending;
      if (!s) return;
      sending = undefined;
      await s.done;
      // Only now is everything up to its last record durable in Kafka; a stale leader is refused
      // at this write (cdc-position.ts: the loop stops at the next check).
      position.acknowledged(s.token);
    };
    while (!signal.aborted) {
      position.check();
      const batch = await source.poll(config.batchSize ?? 500);
      if (batch.records.length === 0 || signal.aborted) {
        await acknowledged();
        continue;
      }
      const byTopic = new Map<string, ProduceMessage[]>();
      for (const record of batch.records) {
        const topic = topicOf(prefix, record);
        let list = byTopic.get(topic);
        if (!list) byTopic.set(topic, (list = []));
        list.push({ key: Buffer.from(JSON.stringify(record.key)), value: Buffer.from(JSON.stringify(record.value)), timestamp: record.timestamp });
      }
      await acknowledged();
      const done = send(byTopic);
      done.catch(() => undefined); // awaited (and thrown) by acknowledged()
      sending = { done, token: batch.records[batch.records.length - 1]!.token! };
    }
    await acknowledged();
    await position.settle();
  } finally {
    await source.close();
  }
}

function topicOf(prefix: string, record: RawRecord): string {
  const source = (record.value as Envelope).source ?? {};
  return `${prefix}.${source.db ?? 'unknown'}.${source.table ?? 'unknown'}`;
}
