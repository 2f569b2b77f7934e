/**
 * Consume throughput of each Kafka client backend (client.ts) against one in-process dev
 * broker: RECORDS records of RECORD_BYTES are produced once, then every backend that loads
 * here reads all of them with an assigned consumer (replay/restore path), and the backends
 * with a group consumer read them again through a fresh group (the fleet's path).
 *   npm run bench -- kafka-consume          (KAFKA_BENCH_RECORDS=50000 for a quick run)
 *
 * The broker shares this process with the client being measured, the same for every backend,
 * so the ratios between backends are the figure to read; absolute rates are lower than with
 * the broker in a process of its own (bench/broker.bench.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startBroker } from '../src/broker/index.js';
import { createKafkaClient } from '../src/kafka/create-client.js';
import type { ConsumedMessage, KafkaClient } from '../src/kafka/client.js';
import { createLogger } from '../src/core/logger.js';
import type { BenchResult } from './types.js';

const RECORDS = Number(process.env.KAFKA_BENCH_RECORDS ?? 200_000);
const RECORD_BYTES = 200;
const PARTITIONS = 4;
const BATCH = 1_000;
const IN_FLIGHT = 4;
/** A reader that receives nothing for this long is reported as stalled, with what it did read. */
const STALL_MS = 10_000;

const progress = (msg: string): void => { process.stderr.write(`[bench:kafka-consume] ${msg}\n`); };

interface Figure { backend: string; mode: 'assigned' | 'group'; records: number; seconds: number; bytes: number }
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

export async function bench(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-consume-'));
  const broker = await startBroker({ port: 0, dataDir, logger: createLogger({ level: 'warn' }) });
  const brokers = [broker.address];
  const figures: Figure[] = [];
  try {
    // One client library since kafkajs and confluent were retired; the label stays in the figures' names.
    const backends = ['platformatic'];
    const topic = 'bench-consume';
    const admin = await createKafkaClient({ brokers, clientId: 'bench-admin' });
    try {
      await admin.admin.createTopics([{ topic, partitions: PARTITIONS }]);
      progress(`producing ${RECORDS} records of ${RECORD_BYTES} bytes into ${PARTITIONS} partitions`);
      const t0 = performance.now();
      await produceAll(admin, topic);
      progress(`produced in ${((performance.now() - t0) / 1_000).toFixed(1)} s`);
    } finally {
      await admin.disconnect();
    }
    for (const backend of backends) {
      progress(`${backend}: assigned consumer`);
      figures.push(await assignedRead(backend, brokers, topic));
    }
    for (const backend of backends) {
      progress(`${backend}: group consumer`);
      try {
        figures.push(await groupRead(backend, brokers, topic));
      } catch (err) {
        progress(`${backend}: group consumer not measured: ${(err as Error).message}`);
      }
    }
  } finally {
    await broker.close();
    await rm(dataDir, { recursive: true, force: true });
  }
  return report(figures);
}

function report(figures: Figure[]): BenchResult[] {
  const rate = (f: Figure): number => f.records / f.seconds;
  const fastest = Math.max(...figures.map(rate));
  const incomplete = (f: Figure): string => (f.records < RECORDS ? `  INCOMPLETE: ${f.records} of ${RECORDS} records` : '');
  process.stderr.write('\nbackend        consumer     records/s        MB/s   vs fastest\n');
  for (const f of figures) {
    process.stderr.write(`${f.backend.padEnd(14)} ${f.mode.padEnd(9)} ${Math.round(rate(f)).toLocaleString('en-US').padStart(12)} ${(f.bytes / f.seconds / 1e6).toFixed(1).padStart(11)}   ${(rate(f) / fastest).toFixed(2)}x${incomplete(f)}\n`);
  }
  return figures.map((f) => ({
    name: `${f.backend} ${f.mode} consume`,
    value: rate(f),
    unit: 'records/s',
    note: `${(f.bytes / f.seconds / 1e6).toFixed(1)} MB/s, ${(rate(f) / fastest).toFixed(2)}x fastest${incomplete(f)}`,
  }));
}
