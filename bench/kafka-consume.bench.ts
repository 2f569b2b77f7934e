/**
 * Produce and consume throughput of the Kafka client (client.ts) against the dev broker and real
 * Kafka, side by side in one run: per broker, RECORDS records of RECORD_BYTES are produced,
 * then read with an assigned consumer (replay/restore path) and again through a fresh group (the
 * fleet's path).
 *   npm run bench -- kafka-consume [--broker dev|kafka|both]   (default both; KAFKA_BENCH_RECORDS=50000 for a quick run)
 * Real Kafka: one node from scripts/kafka-cluster.sh (bench/kafka-brokers.ts), or KAFKA_BROKERS.
 *
 * The dev broker shares this process with the client being measured (its CPU counts against the
 * client); real Kafka runs in a JVM of its own. kafka÷dev is the figure to read; absolute rates
 * of the dev broker in a process of its own are in bench/broker.bench.ts.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../src/broker/index.js';
import { createKafkaClient } from '../src/kafka/create-client.js';
import type { ConsumedMessage, KafkaClient } from '../src/kafka/client.js';
import { createLogger } from '../src/core/logger.js';
import type { BenchResult } from './types.js';
import { benchBrokers, sideBySide, startRealKafka, type BrokerFigure } from './kafka-brokers.js';

const RECORDS = Number(process.env.KAFKA_BENCH_RECORDS ?? 200_000);
const RECORD_BYTES = 200;
const PARTITIONS = 4;
const BATCH = 1_000;
const IN_FLIGHT = 4;
/** A reader that receives nothing for this long is reported as stalled, with what it did read. */
const STALL_MS = 10_000;

const progress = (msg: string): void => { process.stderr.write(`[bench:kafka-consume] ${msg}\n`); };

interface Figure { backend: string; mode: 'produce' | 'assigned' | 'group'; records: number; seconds: number; bytes: number }
interface Drained { records: number; bytes: number; seconds: number }

async function produceAll(client: KafkaClient, topic: string): Promise<void> {
  const producer = await client.producer();
  const value = Buffer.alloc(RECORD_BYTES, 'x');
  let sent = 0;
  let lastReport = Date.now();
  const worker = async (): Promise<void> => {
    while (sent < RECORDS) {
      const n = Math.min(BATCH, RECORDS - sent);
      const base = sent;
      sent += n;
      await producer.send(topic, Array.from({ length: n }, (_, i) => ({
        key: Buffer.from(`k${base + i}`),
        value,
        partition: (base + i) % PARTITIONS,
      })), { acks: 1 });
      if (Date.now() - lastReport > 1_000) {
        lastReport = Date.now();
        progress(`produced ${sent} / ${RECORDS}`);
      }
    }
  };
  await Promise.all(Array.from({ length: IN_FLIGHT }, worker));
}

/**
 * Reads until `RECORDS` records arrived, reporting progress every second. The time runs to the
 * last record received: a reader that stalls short of the end is reported with what it read.
 */
async function drain(label: string, fetch: () => Promise<ConsumedMessage[]>): Promise<Drained> {
  let records = 0;
  let bytes = 0;
  const t0 = performance.now();
  let lastReport = t0;
  let lastRecordAt = t0;
  while (records < RECORDS) {
    const batch = await fetch();
    const now = performance.now();
    if (batch.length > 0) lastRecordAt = now;
    for (const m of batch) bytes += (m.value?.length ?? 0) + (m.key?.length ?? 0);
    records += batch.length;
    if (now - lastReport > 1_000) {
      lastReport = now;
      progress(`${label}: ${records} / ${RECORDS} (${Math.round(records / ((lastRecordAt - t0) / 1_000))} records/s)`);
    }
    if (now - lastRecordAt > STALL_MS) {
      progress(`${label}: STALLED at ${records} / ${RECORDS}: nothing new for ${STALL_MS / 1_000} s`);
      break;
    }
  }
  return { records, bytes, seconds: (lastRecordAt - t0) / 1_000 };
}

async function assignedRead(backend: string, brokers: string[], topic: string): Promise<Figure> {
  const client = await createKafkaClient({ brokers, clientId: `bench-${backend}` });
  try {
    const consumer = await client.assignedConsumer();
    await consumer.assign(Array.from({ length: PARTITIONS }, (_, partition) => ({ topic, partition, offset: 0n })));
    const r = await drain(`${backend} assigned`, () => consumer.fetch({ maxWaitMs: 100 }));
    await consumer.close();
    return { backend, mode: 'assigned', ...r };
  } finally {
    await client.disconnect();
  }
}

async function groupRead(backend: string, brokers: string[], topic: string): Promise<Figure> {
  const client = await createKafkaClient({ brokers, clientId: `bench-${backend}-group` });
  try {
    const consumer = await client.groupConsumer({ groupId: `bench-${backend}-${Date.now()}`, heartbeatIntervalMs: 1_000 });
    // A fresh group has no commits: every partition starts at its log start.
    await consumer.subscribe([topic], { assigned: async () => {}, revoked: async () => {} });
    const r = await drain(`${backend} group`, () => consumer.fetch({ maxWaitMs: 100 }));
    await consumer.close();
    return { backend, mode: 'group', ...r };
  } finally {
    await client.disconnect();
  }
}

/** One broker's figures: produce, assigned consume and group consume rates. */
async function measure(label: string, brokers: string[]): Promise<Figure[]> {
  const figures: Figure[] = [];
  // One client library since kafkajs and confluent were retired; the label names the broker.
  const topic = `bench-consume-${Date.now()}`;
  const admin = await createKafkaClient({ brokers, clientId: 'bench-admin' });
  try {
    await admin.connect();
    await admin.admin.createTopics([{ topic, partitions: PARTITIONS }]);
    progress(`${label}: producing ${RECORDS} records of ${RECORD_BYTES} bytes into ${PARTITIONS} partitions`);
    const t0 = performance.now();
    await produceAll(admin, topic);
    const seconds = (performance.now() - t0) / 1_000;
    progress(`${label}: produced in ${seconds.toFixed(1)} s`);
    figures.push({ backend: label, mode: 'produce', records: RECORDS, seconds, bytes: RECORDS * RECORD_BYTES });
  } finally {
    await admin.disconnect();
  }
  progress(`${label}: assigned consumer`);
  figures.push(await assignedRead(label, brokers, topic));
  progress(`${label}: group consumer`);
  try {
    figures.push(await groupRead(label, brokers, topic));
  } catch (err) {
    progress(`${label}: group consumer not measured: ${(err as Error).message}`);
  }
  return figures;
}

export async function bench(): Promise<BenchResult[]> {
  const figures: Figure[] = [];
  for (const which of benchBrokers()) {
    if (which === 'dev') {
      const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-consume-'));
      const broker = await startBroker({ port: 0, dataDir, logger: createLogger({ level: 'warn' }) });
      progress(`dev broker (in this process) at ${broker.address}`);
      try {
        figures.push(...(await measure('dev', [broker.address])));
      } finally {
        await broker.close();
        await rm(dataDir, { recursive: true, force: true });
      }
    } else {
      const kafka = await startRealKafka(progress);
      try {
        figures.push(...(await measure('kafka', kafka.brokers)));
      } finally {
        await kafka.stop();
      }
    }
  }
  return report(figures);
}

function report(figures: Figure[]): BenchResult[] {
  const rate = (f: Figure): number => f.records / f.seconds;
  const incomplete = (f: Figure): string => (f.records < RECORDS ? `INCOMPLETE: ${f.records} of ${RECORDS} records` : '');
  const rows: BrokerFigure[] = [];
  for (const mode of ['produce', 'assigned', 'group'] as const) {
    const of = (b: string): Figure | undefined => figures.find((f) => f.backend === b && f.mode === mode);
    const dev = of('dev');
    const kafka = of('kafka');
    if (!dev && !kafka) continue;
    const note = [dev && incomplete(dev) ? `dev ${incomplete(dev)}` : '', kafka && incomplete(kafka) ? `kafka ${incomplete(kafka)}` : ''].filter((x) => x).join('; ');
    const name = mode === 'produce' ? 'produce (acks=1, 4 in flight)' : `${mode} consume`;
    rows.push({ name, unit: 'records/s', ...(dev ? { dev: rate(dev) } : {}), ...(kafka ? { kafka: rate(kafka) } : {}), ...(note ? { note } : {}) });
    rows.push({ name: `${name}, bytes`, unit: 'MB/s', ...(dev ? { dev: dev.bytes / dev.seconds / 1e6 } : {}), ...(kafka ? { kafka: kafka.bytes / kafka.seconds / 1e6 } : {}) });
  }
  return sideBySide(`kafka-consume: ${RECORDS} records of ${RECORD_BYTES} bytes, ${PARTITIONS} partitions; the dev broker runs in this process, real Kafka in its JVM`, rows, (v) => (v >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(1)));
}
