/**
 * End-to-end throughput of one Kafka-mode worker, per client backend, against raw consume of the
 * same backend in the same run (issue 4: target e2e ≥ 0.5× raw).
 *   npm run bench -- kafka-e2e          (KAFKA_E2E_RECORDS=30000 for a quick run)
 *
 * The dev broker runs in a process of its own (`tributary broker`), so its CPU does not count
 * against the worker, which runs in this process (Engine + runEngine, as `tributary run` builds
 * them). RECORDS loan applications (the generator's loan-applications preset, JSON, keyed by
 * user_id, murmur2-partitioned over 6 partitions) are produced once; then for each backend that
 * loads here:
 *   raw  a fresh group consumer of that backend reads every record (records/s, from joined to
 *        the last record);
 *   e2e  kafka source (that backend) → filter → keyBy user_id → rolling 3d / 1m count, sum,
 *        count_distinct → kafka sink (that backend, acks=all), under a fresh app id: events/s
 *        from joined (Engine.open returned) until every input record was processed and a final
 *        checkpoint flushed the sink, wrote the changelog and committed the offsets. The worker's
 *        producers (sink, changelog) run in it too: their client CPU counts, as in production.
 * Besides wall-clock rates it reports rates per CPU-second of the process and of its main thread.
 * KAFKA_E2E_CPU_PROFILE=<dir> writes a V8 CPU profile of each e2e phase (the worker only) there;
 * KAFKA_E2E_BACKENDS=platformatic measures only the backends listed; KAFKA_E2E_REPARTITION=1
 * leaves partitionKey out of the source, so the keyBy goes through a repartition topic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { availableKafkaBackends, createKafkaClient } from '../src/connectors/kafka/backends.js';
import type { ConsumedMessage, KafkaClient, ProduceMessage } from '../src/connectors/kafka/client.js';
import { RecordFactory } from '../src/connectors/generator/records.js';
import { generatorSpec } from '../src/connectors/generator/spec.js';
import { connectorCatalog } from '../src/connectors/registry.js';
import { BatchingSink } from '../src/connectors/sink-base.js';
import { partitionForKey } from '../src/runtime/partitioner.js';
import { Engine } from '../src/runtime/engine.js';
import { runEngine } from '../src/runtime/runner.js';
import { silentLogger } from '../src/runtime/logger.js';
import { compileTopology } from '../src/topology/index.js';
import { parseConfig } from '../src/topology/spec.js';
import type { BenchResult } from './types.js';

const RECORDS = Number(process.env.KAFKA_E2E_RECORDS ?? 100_000);
const PARTITIONS = 6;
const USERS = 100_000;
/** Event time advances 10 s per record: 100k records span ~11.6 days, so 3-day slices really expire. */
const EVENTS_PER_SECOND = 0.1;
const PRODUCE_BATCH = 1_000;
const PRODUCE_IN_FLIGHT = 4;
/** A phase that makes no progress for this long is reported as stalled, with what it did. */
const STALL_MS = 20_000;
const PROFILE_DIR = process.env.KAFKA_E2E_CPU_PROFILE;
const REPARTITION = process.env.KAFKA_E2E_REPARTITION === '1';
/** Repartition mode: how long the inputs must be quiet once every source record is in. */
const QUIET_MS = 500;

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const progress = (msg: string): void => { process.stderr.write(`[bench:kafka-e2e] ${msg}\n`); };

interface Figures { backend: string; raw?: Phase; e2e?: Phase & { outputs: number; outputTopic: number } }
/**
 * `cpu`: CPU seconds this process (the consumer / the worker) spent in the phase, all threads;
 * `mainCpu`: its main thread only (what bounds one worker). Both are steadier than wall time on
 * a shared machine.
 */
interface Phase { records: number; seconds: number; cpu: number; mainCpu: number }

// ---------------------------------------------------------------------------------------
// The broker, in a process of its own.

interface BrokerProcess { address: string; stop(): Promise<void> }

async function startBrokerProcess(dataDir: string): Promise<BrokerProcess> {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/entry.ts'), 'broker', '--port', '0', '--data-dir', dataDir], {
    cwd: root,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let errTail = '';
  child.stderr!.on('data', (d: Buffer) => { errTail = (errTail + d.toString()).slice(-4_000); });
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const address = await new Promise<string>((resolve, reject) => {
    let out = '';
    const timer = setTimeout(() => reject(new Error(`broker did not start within 30 s: ${errTail}`)), 30_000);
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /broker listening on (\S+)/.exec(out);
      if (m) { clearTimeout(timer); resolve(m[1]!); }
    });
    void exited.then(() => { clearTimeout(timer); reject(new Error(`broker exited before listening: ${errTail}`)); });
  });
  return {
    address,
    async stop() {
      if (child.exitCode !== null || child.signalCode !== null) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    },
  };
}

// ---------------------------------------------------------------------------------------
// Input: the loan-applications preset, keyed by user_id like topologies/loan-applications-to-kafka.yaml.

async function produceInput(client: KafkaClient, topic: string): Promise<void> {
  const factory = new RecordFactory(parseConfig(generatorSpec, {
    preset: 'loan-applications', rate: 0, keys: USERS, seed: 7, count: RECORDS, partitions: 1,
    outOfOrder: 0.02, duplicates: 0.001, badRecords: 0.0005, eventsPerSecond: EVENTS_PER_SECOND,
  }));
  const producer = await client.producer();
  let next = 0;
  let lastReport = Date.now();
  const message = (i: number): ProduceMessage => {
    const raw = factory.record(0, i);
    const row = raw.value;
    const text = typeof row === 'string' ? row : JSON.stringify(row);
    const userId = typeof row === 'object' && row !== null && !(row instanceof Uint8Array) ? row.user_id : undefined;
    const key = typeof userId === 'string' ? Buffer.from(userId, 'utf8') : null;
    return { key, value: Buffer.from(text, 'utf8'), partition: key ? partitionForKey(key, PARTITIONS) : i % PARTITIONS, timestamp: raw.timestamp };
  };
  const worker = async (): Promise<void> => {
    while (next < RECORDS) {
      const base = next;
      const n = Math.min(PRODUCE_BATCH, RECORDS - base);
      next += n;
      await producer.send(topic, Array.from({ length: n }, (_, j) => message(base + j)), { acks: 1 });
      if (Date.now() - lastReport > 1_000) {
        lastReport = Date.now();
        progress(`produced ${next} / ${RECORDS}`);
      }
    }
  };
  await Promise.all(Array.from({ length: PRODUCE_IN_FLIGHT }, worker));
}

// ---------------------------------------------------------------------------------------
// (a) raw consume: the backend's group consumer, nothing else.

async function rawConsume(backend: string, brokers: string[], topic: string): Promise<Phase> {
  const client = await createKafkaClient(backend, { brokers, clientId: `bench-e2e-raw-${backend}` });
  try {
    const consumer = await client.groupConsumer({ groupId: `bench-e2e-raw-${backend}-${Date.now()}` });
    // A fresh group has no commits: every partition starts at its log start.
    await consumer.subscribe([topic], { assigned: async () => {}, revoked: async () => {} });
    let records = 0;
    const cpu0 = cpuSeconds();
    const main0 = mainThreadCpuSeconds();
    const t0 = performance.now();
    let last = t0;
    let lastReport = t0;
    while (records < RECORDS) {
      const batch: ConsumedMessage[] = await consumer.fetch({ maxWaitMs: 100 });
      const now = performance.now();
      if (batch.length > 0) last = now;
      records += batch.length;
      if (now - lastReport > 1_000) {
        lastReport = now;
        progress(`${backend} raw: ${records} / ${RECORDS} (${Math.round(records / ((last - t0) / 1_000))} records/s)`);
      }
      if (now - last > STALL_MS) {
        progress(`${backend} raw: STALLED at ${records} / ${RECORDS}`);
        break;
      }
    }
    const cpu = cpuSeconds() - cpu0;
    const mainCpu = mainThreadCpuSeconds() - main0;
    await consumer.close();
    return { records, seconds: (last - t0) / 1_000, cpu, mainCpu };
  } finally {
    await client.disconnect();
  }
}

// ---------------------------------------------------------------------------------------
// (b) one worker: kafka → filter → keyBy → rolling 3d → kafka.

function topology(backend: string, brokers: string[], input: string, output: string): string {
  return `apiVersion: tributary/v1
kind: Topology
metadata: { name: bench-e2e }
spec:
  checkpoint: { interval: 5s }
  state: { distinctExactLimit: 10000 }
  sources:
    applications:
      kafka: { brokers: "${brokers.join(',')}", topic: ${input},${REPARTITION ? '' : ' partitionKey: user_id,'} client: ${backend} }
      eventTime: { field: applied_at, maxOutOfOrderness: 10s, idleTimeout: 30s }
  pipeline:
    - id: valid
      from: applications
      filter: "amount > 0 && user_id != null"
    - id: per_user
      from: valid
      keyBy: user_id
    - id: user_apply_3d
      from: per_user
      window: { rolling: 3d, resolution: 1m }
      aggregate:
        apply_cnt_3d: count()
        apply_amt_3d: sum(amount)
        device_cnt_3d: count_distinct(device_id)
  sinks:
    features:
      from: user_apply_3d
      kafka: { brokers: "${brokers.join(',')}", topic: ${output}, key: "{key}", client: ${backend}, acks: all }
`;
}

async function endToEnd(backend: string, brokers: string[], input: string, admin: KafkaClient): Promise<NonNullable<Figures['e2e']>> {
  const output = `bench-e2e-out-${backend}`;
  await admin.admin.createTopics([{ topic: output, partitions: PARTITIONS }]);
  const plan = compileTopology(topology(backend, brokers, input, output), 'bench/kafka-e2e.yaml', { catalog: connectorCatalog, env: {} });
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-e2e-'));
  const appId = `bench-e2e-${backend}-${Date.now()}`;
  try {
    const engine = await Engine.open(plan, { dataDir, logger: silentLogger, appId, resetState: true });
    const profiler = PROFILE_DIR === undefined ? undefined : await startProfiler();
    const stop = new AbortController();
    const cpu0 = cpuSeconds();
    const main0 = mainThreadCpuSeconds();
    const t0 = performance.now();
    let lastIn = 0;
    let lastMoved = t0;
    let lastReport = t0;
    const processed = (): number => engine.counters.get('in');
    // Records read by every input, repartition topics included (markers count too).
    const work = (): number => engine.sources.reduce((n, s) => n + s.recordsIn, 0);
    let lastWork = 0;
    let workMoved = t0;
    let closed = false;
    try {
      await runEngine(engine, {
        signal: stop.signal,
        progressIntervalMs: 20,
        onProgress: () => {
          const now = performance.now();
          const n = processed();
          if (n !== lastIn) { lastIn = n; lastMoved = now; }
          if (now - lastReport > 1_000) {
            lastReport = now;
            progress(`${backend} e2e: ${n} / ${RECORDS} (${Math.round(n / ((now - t0) / 1_000))} events/s)`);
          }
          const w = work();
          if (w !== lastWork) { lastWork = w; workMoved = now; }
          // With a repartition topic, 'in' counts only the first leg: the run ends once the
          // second leg went quiet too (the quiet wait itself is not counted; a remainder under
          // the writer's send threshold waits for the final checkpoint and is not processed).
          if (n >= RECORDS && (!REPARTITION || now - workMoved > QUIET_MS)) stop.abort();
          else if (now - lastMoved > STALL_MS) {
            progress(`${backend} e2e: STALLED at ${n} / ${RECORDS}`);
            stop.abort();
          }
        },
      });
      const quiet = REPARTITION ? performance.now() - workMoved : 0;
      const consumed = performance.now() - quiet;
      const sink = engine.sinks.get('features')!.sink;
      const backlog = sink instanceof BatchingSink ? sink.buffered : NaN;
      // The output counts once the cluster holds it: flush the sink, write the changelog, commit.
      // (The sink's own flush first, timed apart: how far the sink lagged behind processing.)
      await sink.flush();
      const flushed = performance.now();
      await engine.checkpoint();
      const seconds = (performance.now() - t0 - quiet) / 1_000;
      const cpu = cpuSeconds() - cpu0;
      const mainCpu = mainThreadCpuSeconds() - main0;
      const s = (a: number, b: number): string => `${((b - a) / 1_000).toFixed(2)} s`;
      progress(`${backend} e2e: ${processed()} processed in ${s(t0, consumed)}; then sink backlog ${backlog} flushed in ${s(consumed + quiet, flushed)}, final checkpoint (changelog, state, commit) ${s(flushed, performance.now())}; ${engine.checkpointCount} checkpoints`);
      if (profiler) await profiler.stop(join(PROFILE_DIR!, `kafka-e2e-${backend}.cpuprofile`));
      const outputs = engine.sinks.get('features')?.emitted ?? 0;
      await engine.close({ checkpoint: false });
      closed = true;
      const offsets = await admin.admin.listOffsets(output);
      const outputTopic = offsets.reduce((n, o) => n + Number(o.latest - o.earliest), 0);
      return { records: processed(), seconds, cpu, mainCpu, outputs, outputTopic };
    } finally {
      if (!closed) await engine.close({ checkpoint: false }).catch(() => undefined);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

async function startProfiler(): Promise<{ stop(file: string): Promise<void> }> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 200 });
  await session.post('Profiler.start');
  return {
    async stop(file) {
      const { profile } = await session.post('Profiler.stop');
      await mkdir(dirname(file), { recursive: true });
      await writeFile(file, JSON.stringify(profile));
      session.disconnect();
      progress(`CPU profile: ${file}`);
    },
  };
}

// ---------------------------------------------------------------------------------------

export async function bench(): Promise<BenchResult[]> {
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-e2e-broker-'));
  const broker = await startBrokerProcess(dataDir);
  progress(`broker (own process) at ${broker.address}`);
  const brokers = [broker.address];
  const figures: Figures[] = [];
  try {
    const availability = await availableKafkaBackends();
    for (const a of availability) if (!a.available) progress(`${a.backend}: not measured: ${a.reason}`);
    const only = process.env.KAFKA_E2E_BACKENDS?.split(',').map((b) => b.trim());
    const backends = availability.filter((a) => a.available && (!only || only.includes(a.backend))).map((a) => a.backend);
    const input = 'bench-e2e-loan-applications';
    const admin = await createKafkaClient('kafkajs', { brokers, clientId: 'bench-e2e-admin' });
    await admin.connect();
    try {
      await admin.admin.createTopics([{ topic: input, partitions: PARTITIONS }]);
      progress(`producing ${RECORDS} loan applications into ${PARTITIONS} partitions, keyed by user_id`);
      const t0 = performance.now();
      await produceInput(admin, input);
      progress(`produced in ${((performance.now() - t0) / 1_000).toFixed(1)} s`);
      for (const backend of backends) {
        const f: Figures = { backend };
        figures.push(f);
        try {
          progress(`${backend}: raw group consume`);
          f.raw = await rawConsume(backend, brokers, input);
          progress(`${backend}: end to end, one worker`);
          f.e2e = await endToEnd(backend, brokers, input, admin);
        } catch (err) {
          progress(`${backend}: not measured: ${(err as Error).stack ?? String(err)}`);
        }
      }
    } finally {
      await admin.disconnect();
    }
  } finally {
    await broker.stop();
    await rm(dataDir, { recursive: true, force: true });
  }
  return report(figures);
}

function report(figures: Figures[]): BenchResult[] {
  const rate = (p: Phase | undefined): number => (p ? p.records / p.seconds : NaN);
  const cpuRate = (p: Phase | undefined): number => (p ? p.records / p.cpu : NaN);
  const mainRate = (p: Phase | undefined): number => (p ? p.records / p.mainCpu : NaN);
  const short = (p: Phase | undefined): string => (p && p.records < RECORDS ? `  INCOMPLETE: ${p.records} of ${RECORDS}` : '');
  const out: BenchResult[] = [];
  process.stderr.write('\n                                                        per process CPU-s           per main-thread CPU-s\n');
  process.stderr.write('backend        raw consume/s     e2e events/s   e2e/raw      raw       e2e  e2e/raw      raw       e2e  e2e/raw   outputs (topic)\n');
  for (const f of figures) {
    const raw = rate(f.raw);
    const e2e = rate(f.e2e);
    const rawCpu = cpuRate(f.raw);
    const e2eCpu = cpuRate(f.e2e);
    const rawMain = mainRate(f.raw);
    const e2eMain = mainRate(f.e2e);
    process.stderr.write(`${f.backend.padEnd(14)} ${fmt(raw).padStart(13)} ${fmt(e2e).padStart(16)} ${(e2e / raw).toFixed(2).padStart(8)}x ${fmt(rawCpu).padStart(9)} ${fmt(e2eCpu).padStart(9)} ${(e2eCpu / rawCpu).toFixed(2).padStart(7)}x ${fmt(rawMain).padStart(9)} ${fmt(e2eMain).padStart(9)} ${(e2eMain / rawMain).toFixed(2).padStart(7)}x   ${f.e2e ? `${f.e2e.outputs} (${f.e2e.outputTopic})` : '-'}${short(f.raw)}${short(f.e2e)}\n`);
    if (f.raw) out.push({ name: `${f.backend} raw group consume`, value: raw, unit: 'records/s', note: `${fmt(rawCpu)} per CPU-second (main thread ${fmt(mainRate(f.raw))}), ${RECORDS} records${short(f.raw)}` });
    if (f.e2e) {
      out.push({ name: `${f.backend} e2e rolling-3d → kafka, 1 worker`, value: e2e, unit: 'events/s', note: `${fmt(e2eCpu)} per CPU-second (main thread ${fmt(mainRate(f.e2e))}); ${f.e2e.outputs} outputs, ${f.e2e.outputTopic} in the topic${short(f.e2e)}` });
      if (f.raw) out.push({ name: `${f.backend} ratio e2e / raw consume`, value: e2e / raw, unit: '×', note: `target ≥ 0.5; per process CPU-second ${(e2eCpu / rawCpu).toFixed(2)}×, per main-thread CPU-second ${(mainRate(f.e2e) / mainRate(f.raw)).toFixed(2)}×` });
    }
  }
  return out;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds of this process's main thread (the event loop: what bounds one worker), Linux only; NaN elsewhere. */
function mainThreadCpuSeconds(): number {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them, in clock ticks (100/s).
    const stat = readFileSync(`/proc/self/task/${process.pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-';
}
