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
 * KAFKA_E2E_CPU_PROFILE=<dir> writes a V8 CPU profile of the pass-through and e2e phases (the
 * worker only) there, or a sampling heap profile with KAFKA_E2E_PROFILE_KIND=heap;
 * KAFKA_E2E_REPARTITION=1 leaves partitionKey out of the source, so the keyBy goes through a repartition topic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createKafkaClient } from '../src/kafka/create-client.js';
import type { ConsumedMessage, KafkaClient, ProduceMessage } from '../src/kafka/client.js';
import { RecordFactory } from '../src/connectors/generator/records.js';
import { generatorSpec } from '../src/connectors/generator/spec.js';
import { connectorCatalog } from '../src/connectors/registry.js';
import { stepRegistry } from '../src/operators/registry.js';
import { BatchingSink } from '../src/connectors/sink-base.js';
import { partitionForKey } from '../src/core/partitioner.js';
import { Engine } from '../src/runtime/engine.js';
import { runEngine } from '../src/runtime/runner.js';
import { silentLogger } from '../src/core/logger.js';
import { compileTopology } from '../src/topology/index.js';
import { parseConfig } from '../src/core/spec.js';
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

interface Figures { backend: string; raw?: Phase; pass?: Phase; e2e?: Phase & { outputs: number; outputTopic: number } }
/**
 * `cpu`: CPU seconds this process (the consumer / the worker) spent in the phase, all threads;
 * `mainCpu`: its main thread only (what bounds one worker). Both are steadier than wall time on
 * a shared machine.
 */
interface Phase { records: number; seconds: number; cpu: number; mainCpu: number; brokerCpu: number }

/** CPU meter of a phase: this process, its main thread, and the broker's process. */
function meter(): () => Pick<Phase, 'cpu' | 'mainCpu' | 'brokerCpu'> {
  const cpu0 = cpuSeconds();
  const main0 = mainThreadCpuSeconds();
  const broker0 = brokerCpuSeconds();
  return () => ({ cpu: cpuSeconds() - cpu0, mainCpu: mainThreadCpuSeconds() - main0, brokerCpu: brokerCpuSeconds() - broker0 });
}

// ---------------------------------------------------------------------------------------
// The broker, in a process of its own.

interface BrokerProcess { address: string; stop(): Promise<void> }
let brokerPid: number | undefined;

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
  brokerPid = child.pid;
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
  const client = await createKafkaClient({ brokers, clientId: `bench-e2e-raw-${backend}` });
  try {
    const consumer = await client.groupConsumer({ groupId: `bench-e2e-raw-${backend}-${Date.now()}` });
    // A fresh group has no commits: every partition starts at its log start.
    await consumer.subscribe([topic], { assigned: async () => {}, revoked: async () => {} });
    let records = 0;
    const cpuOf = meter();
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
    const used = cpuOf();
    await consumer.close();
    return { records, seconds: (last - t0) / 1_000, ...used };
  } finally {
    await client.disconnect();
  }
}

// ---------------------------------------------------------------------------------------
// (a') pass-through: the least any processor of that client does per record: consume, parse the
// JSON value, serialize it again, produce it to another topic (acks=all), no state, no engine.
// Its rate bounds what one worker thread can reach on this client and machine.

async function passThrough(backend: string, brokers: string[], topic: string, admin: KafkaClient): Promise<Phase> {
  const output = `bench-e2e-pass-${backend}`;
  await admin.admin.createTopics([{ topic: output, partitions: PARTITIONS }]);
  const client = await createKafkaClient({ brokers, clientId: `bench-e2e-pass-${backend}` });
  try {
    const consumer = await client.groupConsumer({ groupId: `bench-e2e-pass-${backend}-${Date.now()}` });
    await consumer.subscribe([topic], { assigned: async () => {}, revoked: async () => {} });
    const producer = await client.producer();
    const profiler = PROFILE_DIR === undefined ? undefined : await startProfiler();
    let records = 0;
    const cpuOf = meter();
    const t0 = performance.now();
    let last = t0;
    let lastReport = t0;
    const inFlight = new Set<Promise<unknown>>();
    while (records < RECORDS) {
      const batch: ConsumedMessage[] = await consumer.fetch({ maxWaitMs: 100 });
      const now = performance.now();
      if (batch.length > 0) {
        last = now;
        const out: ProduceMessage[] = [];
        for (const m of batch) {
          let row: unknown;
          try { row = JSON.parse(m.value!.toString('utf8')); } catch { continue; } // the generator's bad records
          out.push({ key: m.key, value: Buffer.from(JSON.stringify(row), 'utf8'), partition: m.partition });
        }
        // Requests of at most 2,000 records (~600 KB): the broker refuses requests over 1 MB.
        for (let i = 0; i < out.length; i += 2_000) {
          const p = producer.send(output, out.slice(i, i + 2_000), { acks: 'all' }).finally(() => inFlight.delete(p));
          inFlight.add(p);
          if (inFlight.size >= 4) await Promise.race(inFlight);
        }
      }
      records += batch.length;
      if (now - lastReport > 1_000) {
        lastReport = now;
        progress(`${backend} pass-through: ${records} / ${RECORDS} (${Math.round(records / ((last - t0) / 1_000))} records/s)`);
      }
      if (now - last > STALL_MS) {
        progress(`${backend} pass-through: STALLED at ${records} / ${RECORDS}`);
        break;
      }
    }
    await Promise.all(inFlight);
    last = performance.now();
    const used = cpuOf();
    if (profiler) await profiler.stop(join(PROFILE_DIR!, `kafka-pass-${backend}.cpuprofile`));
    await consumer.close();
    return { records, seconds: (last - t0) / 1_000, ...used };
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
      kafka: { brokers: "${brokers.join(',')}", topic: ${input},${REPARTITION ? '' : ' partitionKey: user_id'} }
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
      kafka: { brokers: "${brokers.join(',')}", topic: ${output}, key: "{key}", acks: all }
`;
}

async function endToEnd(backend: string, brokers: string[], input: string, admin: KafkaClient): Promise<NonNullable<Figures['e2e']>> {
  const output = `bench-e2e-out-${backend}`;
  await admin.admin.createTopics([{ topic: output, partitions: PARTITIONS }]);
  const plan = compileTopology(topology(backend, brokers, input, output), 'bench/kafka-e2e.yaml', { catalog: connectorCatalog, steps: stepRegistry, env: {} });
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-e2e-'));
  const appId = `bench-e2e-${backend}-${Date.now()}`;
  try {
    const engine = await Engine.open(plan, { dataDir, logger: silentLogger, appId });
    const profiler = PROFILE_DIR === undefined ? undefined : await startProfiler();
    const stop = new AbortController();
    const cpuOf = meter();
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
      const used = cpuOf();
      const s = (a: number, b: number): string => `${((b - a) / 1_000).toFixed(2)} s`;
      progress(`${backend} e2e: ${processed()} processed in ${s(t0, consumed)}; then sink backlog ${backlog} flushed in ${s(consumed + quiet, flushed)}, final checkpoint (changelog, state, commit) ${s(flushed, performance.now())}; ${engine.checkpointCount} checkpoints`);
      if (profiler) await profiler.stop(join(PROFILE_DIR!, `kafka-e2e-${backend}.cpuprofile`));
      const outputs = engine.sinks.get('features')?.emitted ?? 0;
      await engine.close({ checkpoint: false });
      closed = true;
      const offsets = await admin.admin.listOffsets(output);
      const outputTopic = offsets.reduce((n, o) => n + Number(o.latest - o.earliest), 0);
      return { records: processed(), seconds, ...used, outputs, outputTopic };
    } finally {
      if (!closed) await engine.close({ checkpoint: false }).catch(() => undefined);
    }
  } finally {
    await rm(dataDir, { recursive: true, force: true });
  }
}

/**
 * A V8 CPU profile of a phase, or with KAFKA_E2E_PROFILE_KIND=heap a sampling heap profile
 * (where the allocations come from: GC is a fifth of a worker's CPU), written as
 * <name>.cpuprofile or <name>.heapprofile.
 */
async function startProfiler(): Promise<{ stop(file: string): Promise<void> }> {
  const heap = process.env.KAFKA_E2E_PROFILE_KIND === 'heap';
  const session = new Session();
  session.connect();
  if (heap) {
    // Every 32 KB allocated, keeping the objects already collected too: allocation volume, not retention.
    await session.post('HeapProfiler.startSampling', { samplingInterval: 32_768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: true });
  } else {
    await session.post('Profiler.enable');
    await session.post('Profiler.setSamplingInterval', { interval: 200 });
    await session.post('Profiler.start');
  }
  return {
    async stop(file) {
      const { profile } = heap ? await session.post('HeapProfiler.stopSampling') : await session.post('Profiler.stop');
      const out = heap ? file.replace(/\.cpuprofile$/, '.heapprofile') : file;
      await mkdir(dirname(out), { recursive: true });
      await writeFile(out, JSON.stringify(profile));
      session.disconnect();
      progress(`${heap ? 'heap' : 'CPU'} profile: ${out}`);
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
    // One client library since kafkajs and confluent were retired; the label stays in the figures' names.
    const backends = ['platformatic'];
    const input = 'bench-e2e-loan-applications';
    const admin = await createKafkaClient({ brokers, clientId: 'bench-e2e-admin' });
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
          progress(`${backend}: pass-through (parse, serialize, produce; no engine)`);
          f.pass = await passThrough(backend, brokers, input, admin);
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
  const perK = (cpu: number, p: Phase): string => (Number.isFinite(cpu) ? ((1e6 * cpu) / p.records).toFixed(1) : '-');
  /**
   * The most this phase could reach against raw consume if its CPU, worker and broker together,
   * were spread perfectly over all the machine's cores: what more threads could buy at best.
   */
  const bound = (p: Phase, raw: number): number => p.records / ((p.cpu + p.brokerCpu) / availableParallelism()) / raw;
  const short = (p: Phase | undefined): string => (p && p.records < RECORDS ? `  INCOMPLETE: ${p.records} of ${RECORDS}` : '');
  const out: BenchResult[] = [];
  process.stderr.write(`\n                                           CPU ms per 1,000 records    bound on ×raw with ${availableParallelism()} cores busy\n`);
  process.stderr.write('backend       phase          records/s  ×raw   worker  main thr  broker   (worker + broker CPU / cores)   outputs (topic)\n');
  for (const f of figures) {
    const raw = rate(f.raw);
    for (const [name, p] of [['raw consume', f.raw], ['pass-through', f.pass], ['e2e', f.e2e]] as const) {
      if (!p) continue;
      const outputs = p === f.e2e && f.e2e ? `${f.e2e.outputs} (${f.e2e.outputTopic})` : '';
      process.stderr.write(`${f.backend.padEnd(13)} ${name.padEnd(13)} ${fmt(rate(p)).padStart(10)} ${(rate(p) / raw).toFixed(2).padStart(5)} ${perK(p.cpu, p).padStart(8)} ${perK(p.mainCpu, p).padStart(9)} ${perK(p.brokerCpu, p).padStart(7)}   ${bound(p, raw).toFixed(2).padStart(10)}${' '.repeat(22)}${outputs}${short(p)}\n`);
    }
    const cpuNote = (p: Phase): string => `worker ${perK(p.cpu, p)} ms CPU per 1k (main thread ${perK(p.mainCpu, p)}), broker ${perK(p.brokerCpu, p)}`;
    if (f.raw) out.push({ name: `${f.backend} raw group consume`, value: raw, unit: 'records/s', note: `${cpuNote(f.raw)}; ${RECORDS} records${short(f.raw)}` });
    if (f.pass) out.push({ name: `${f.backend} pass-through (parse, serialize, produce)`, value: rate(f.pass), unit: 'records/s', note: `${(rate(f.pass) / raw).toFixed(2)}× raw (all cores: ≤ ${bound(f.pass, raw).toFixed(2)}×); ${cpuNote(f.pass)}${short(f.pass)}` });
    if (f.e2e) {
      out.push({ name: `${f.backend} e2e rolling-3d → kafka, 1 worker`, value: rate(f.e2e), unit: 'events/s', note: `${cpuNote(f.e2e)}; ${f.e2e.outputs} outputs, ${f.e2e.outputTopic} in the topic${short(f.e2e)}` });
      if (f.pass) out.push({ name: `${f.backend} ratio e2e / pass-through`, value: rate(f.e2e) / rate(f.pass), unit: '×', note: 'target ≥ 0.7 (Kafka → rolling-3d → Kafka against the least any processor does)' });
      if (f.raw) out.push({ name: `${f.backend} ratio e2e / raw consume`, value: rate(f.e2e) / raw, unit: '×', note: `target ≥ 0.5; with all ${availableParallelism()} cores busy at this CPU per record: ≤ ${bound(f.e2e, raw).toFixed(2)}×` });
    }
  }
  return out;
}

function cpuSeconds(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

/** CPU seconds of the broker's process, all threads (Linux only; NaN elsewhere). */
function brokerCpuSeconds(): number {
  return brokerPid === undefined ? NaN : statCpuSeconds(`/proc/${brokerPid}/stat`);
}

/** CPU seconds of this process's main thread (the event loop: what bounds one worker), Linux only; NaN elsewhere. */
function mainThreadCpuSeconds(): number {
  return statCpuSeconds(`/proc/self/task/${process.pid}/stat`);
}

/** utime + stime of a /proc stat file, in seconds; NaN where there is no /proc. */
function statCpuSeconds(file: string): number {
  try {
    // Fields after the parenthesised command name; utime and stime are the 12th and 13th of them, in clock ticks (100/s).
    const stat = readFileSync(file, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return NaN;
  }
}

function fmt(v: number): string {
  return Number.isFinite(v) ? Math.round(v).toLocaleString('en-US') : '-';
}
