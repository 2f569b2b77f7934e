/**
 * Dev broker benchmark with kafkajs: produce and consume throughput (200-byte records,
 * batches of 1,000; target ≥ 100k records/s each way) and produce→consume latency at
 * 5k records/s for ~5 s (target p99 < 20 ms).
 *
 * The broker runs as its own process (`tributary broker`, from source), as users run it,
 * so the client's event loop does not share a core with the broker's.
 *   node --import tsx bench/broker.bench.ts
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Kafka, logLevel, type Producer } from 'kafkajs';

export interface BenchResult { name: string; value: number; unit: string; note?: string }

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');
const RECORD_BYTES = 200;
const BATCH = 1_000;
const THROUGHPUT_RECORDS = 200_000;
const PARTITIONS = 4;
const LATENCY_RATE = 5_000;
const LATENCY_SECONDS = 5;

const log = (msg: string): void => { process.stderr.write(`[bench:broker] ${msg}\n`); };

async function startBrokerProcess(dataDir: string): Promise<{ child: ChildProcess; address: string }> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(repoRoot, 'src', 'cli', 'entry.ts'), 'broker', '--port', '0', '--data-dir', dataDir], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error('broker did not start within 30 s')), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /broker listening on (\S+:\d+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]); }
    });
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`broker exited with ${code} before listening`)); });
  });
  child.stdout?.resume();
  return { child, address };
}

/** CPU seconds a process has used (Linux /proc), to tell broker-bound from client-bound phases. */
function cpuSeconds(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime + stime, in clock ticks (USER_HZ = 100)
  } catch {
    return NaN;
  }
}

async function measured<T>(label: string, pid: number | undefined, fn: () => Promise<T>): Promise<T> {
  const cpu0 = cpuSeconds(pid);
  const client0 = process.cpuUsage();
  const t0 = performance.now();
  const result = await fn();
  const wall = (performance.now() - t0) / 1_000;
  const client = process.cpuUsage(client0);
  const clientCpu = (client.user + client.system) / 1e6;
  log(`${label}: ${wall.toFixed(2)} s wall, broker CPU ${(cpuSeconds(pid) - cpu0).toFixed(2)} s, client (kafkajs) CPU ${clientCpu.toFixed(2)} s`);
  return result;
}

function payload(seq: number): Buffer {
  const b = Buffer.alloc(RECORD_BYTES, 0x61);
  b.write(`${seq}:`, 0);
  return b;
}

async function produceThroughput(producer: Producer, topic: string): Promise<number> {
  const batches = THROUGHPUT_RECORDS / BATCH;
  const inFlight = PARTITIONS;
  let next = 0;
  const start = performance.now();
  const worker = async (): Promise<void> => {
    for (;;) {
      const b = next++;
      if (b >= batches) return;
      await producer.send({
        topic,
        acks: -1,
        messages: Array.from({ length: BATCH }, (_, i) => ({ partition: b % PARTITIONS, value: payload(b * BATCH + i) })),
      });
      if ((b + 1) % 50 === 0) log(`produced ${(b + 1) * BATCH} records`);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return THROUGHPUT_RECORDS / ((performance.now() - start) / 1_000);
}

async function consumeThroughput(kafka: Kafka, topic: string): Promise<number> {
  const consumer = kafka.consumer({ groupId: `bench-consume-${Date.now()}`, maxBytes: 32 << 20, maxBytesPerPartition: 8 << 20, maxWaitTimeInMs: 100 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: true });
  let seen = 0;
  let start = 0;
  // The clock starts when the first fetch is sent, so group join is not counted but
  // fetching and decoding the first (largest) response is.
  const off = consumer.on(consumer.events.FETCH_START, () => { off(); start = performance.now(); });
  const done = new Promise<number>((resolve) => {
    void consumer.run({
      autoCommit: false,
      eachBatch: async ({ batch }) => {
        const before = seen;
        seen += batch.messages.length;
        if (Math.floor(seen / 50_000) > Math.floor(before / 50_000)) log(`consumed ${seen} records`);
        if (seen >= THROUGHPUT_RECORDS) resolve(performance.now());
      },
    });
  });
  const end = await done;
  await consumer.disconnect();
  return THROUGHPUT_RECORDS / ((end - start) / 1_000);
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

async function latency(kafka: Kafka, producer: Producer, topic: string): Promise<{ p50: number; p99: number; count: number }> {
  const consumer = kafka.consumer({ groupId: `bench-latency-${Date.now()}`, maxWaitTimeInMs: 500, minBytes: 1 });
  await consumer.connect();
  await consumer.subscribe({ topic, fromBeginning: false });
  const samples: number[] = [];
  let warmupUntil = Infinity;
  let positioned: () => void = () => {};
  const ready = new Promise<void>((resolve) => { positioned = resolve; });
  const off = consumer.on(consumer.events.FETCH, () => { off(); positioned(); });
  await consumer.run({
    autoCommit: false,
    eachMessage: async ({ message }) => {
      const sentAt = Number(message.value?.toString('utf8', 0, 24).split('|')[0]);
      const now = performance.now();
      if (now >= warmupUntil) samples.push(now - sentAt);
    },
  });
  await ready;

  // 10 records every 2 ms = 5k records/s, scheduled against absolute time so timer drift
  // does not lower the rate.
  const perTick = 10;
  const tickMs = (perTick / LATENCY_RATE) * 1_000;
  const start = performance.now();
  warmupUntil = start + 500;
  let ticks = 0;
  const sends: Array<Promise<unknown>> = [];
  while (performance.now() - start < LATENCY_SECONDS * 1_000) {
    const due = start + ticks * tickMs;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const sentAt = performance.now().toFixed(3);
    const value = Buffer.alloc(RECORD_BYTES, 0x62);
    value.write(`${sentAt}|`, 0);
    sends.push(producer.send({ topic, acks: 1, messages: Array.from({ length: perTick }, () => ({ value })) }));
    ticks++;
  }
  await Promise.all(sends);
  await new Promise((r) => setTimeout(r, 500));
  await consumer.disconnect();
  const sorted = samples.sort((a, b) => a - b);
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), count: sorted.length };
}

export async function bench(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-broker-'));
  const { child, address } = await startBrokerProcess(dataDir);
  log(`broker at ${address}, data in ${dataDir}`);
  const kafka = new Kafka({ clientId: 'bench', brokers: [address], logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  const producer = kafka.producer();
  try {
    await admin.connect();
    const topic = 'bench-throughput';
    const latencyTopic = 'bench-latency';
    await admin.createTopics({ topics: [{ topic, numPartitions: PARTITIONS }, { topic: latencyTopic, numPartitions: 1 }], waitForLeaders: true });
    await producer.connect();

    const produceRate = await measured('produce phase', child.pid, () => produceThroughput(producer, topic));
    log(`produce: ${Math.round(produceRate)} records/s`);
    const consumeRate = await measured('consume phase', child.pid, () => consumeThroughput(kafka, topic));
    log(`consume: ${Math.round(consumeRate)} records/s`);
    const lat = await measured('latency phase', child.pid, () => latency(kafka, producer, latencyTopic));
    log(`latency at ${LATENCY_RATE}/s: p50 ${lat.p50.toFixed(2)} ms, p99 ${lat.p99.toFixed(2)} ms over ${lat.count} records`);

    const what = `kafkajs, ${RECORD_BYTES} B records, batches of ${BATCH}, ${PARTITIONS} partitions`;
    return [
      { name: 'broker produce throughput', value: Math.round(produceRate), unit: 'records/s', note: `${what}; target >= 100000` },
      { name: 'broker consume throughput', value: Math.round(consumeRate), unit: 'records/s', note: `${what}; target >= 100000` },
      { name: 'broker produce->consume latency p50', value: Number(lat.p50.toFixed(2)), unit: 'ms', note: `${LATENCY_RATE} records/s for ${LATENCY_SECONDS} s, ${lat.count} samples` },
      { name: 'broker produce->consume latency p99', value: Number(lat.p99.toFixed(2)), unit: 'ms', note: `${LATENCY_RATE} records/s for ${LATENCY_SECONDS} s; target < 20` },
    ];
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
    child.kill('SIGTERM');
    await new Promise((r) => child.once('exit', r));
    await rm(dataDir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const results = await bench();
  for (const r of results) process.stdout.write(`${r.name}: ${r.value} ${r.unit}${r.note ? `  (${r.note})` : ''}\n`);
}
