/**
 * End-to-end throughput of one Kafka-mode worker against raw consume in the same run (issue 4:
 * target e2e ≥ 0.5× raw), on the dev broker and on real Kafka side by side (issue 12).
 *   npm run bench -- kafka-e2e [--broker dev|kafka|both]   (default both; KAFKA_E2E_RECORDS=30000 for a quick run)
 * Real Kafka: one node from scripts/kafka-cluster.sh, stopped after (bench/kafka-brokers.ts), or KAFKA_BROKERS.
 *
 * The broker runs in a process of its own (`tributary broker`, or Kafka's JVM), so its CPU does
 * not count against the worker, which runs in this process (Engine + runEngine, as `tributary
 * run` builds them). Per broker, RECORDS loan applications (the generator's loan-applications preset, JSON, keyed by
 * user_id, murmur2-partitioned over 6 partitions) are produced once; then for each backend that
 * loads here:
 *   raw  a fresh group consumer of that backend reads every record (records/s, from joined to
 *        the last record);
 *   pass-through  consume, parse, serialize, produce (acks=all), no engine; and the same writing
 *        2 records per input, about what the worker writes (outputs and changelog)
 *   e2e  kafka source (that backend) → filter → keyBy user_id → rolling 3d / 1m count, sum,
 *        count_distinct → kafka sink (that backend, acks=all), under a fresh app id: events/s
 *        from joined (Engine.open returned) until every input record was processed and a final
 *        checkpoint flushed the sink, wrote the changelog and committed the offsets. The worker's
 *        producers (sink, changelog) run in it too: their client CPU counts, as in production.
 * Besides wall-clock rates it reports rates per CPU-second of the process and of its main thread.
 * KAFKA_E2E_CPU_PROFILE=<dir> writes a V8 CPU profile of the pass-through and e2e phases (the
 * worker only) there, or a sampling heap profile with KAFKA_E2E_PROFILE_KIND=heap (all allocations) or
 * =promoted (only what survived a scavenge);
 * KAFKA_E2E_REPARTITION=1 leaves partitionKey out of the source, so the keyBy goes through a repartition topic.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
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
import { benchBrokers, sideBySide, startRealKafka, type BrokerFigure } from './kafka-brokers.js';

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
/**
 * The bench's own topics (input, pass-through output, e2e output) keep every record. Their record
 * timestamps are event times from the generator's start (2026-11-01 on, ~11.6 days of them):
 * Kafka ages a segment by its newest record timestamp and rolls one once timestamps span
 * segment.ms (7 days), so with the broker's default retention.ms (7 days) its retention check
 * (30 s after start, then every 5 min) deleted the first segment of a partition while the bench
 * ran. The e2e output count (latest − earliest offset) then fell from ~174k to ~101k on Kafka
 * against the dev broker's full count, and a slow run lost input under the worker ("offset …
 * out of range (deleted by retention)"). Not a worker defect; README's dev-broker table lists the
 * difference, and the test cluster runs with log.retention.ms=-1 for the same reason.
 */
const TOPIC_CONFIGS = { 'retention.ms': '-1' };

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const progress = (msg: string): void => { process.stderr.write(`[bench:kafka-e2e] ${msg}\n`); };

interface Figures { backend: string; produceSeconds?: number; raw?: Phase; pass?: Phase; pass2?: Phase; e2e?: Phase & { outputs: number; outputTopic: number; changelog: number; processSeconds: number } }
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

/**
 * `copies` records written per input (each serialized on its own): 2 is about what the worker
 * writes per input (its outputs, updates and expiries, and its changelog: "e2e records written per
 * input"), so e2e ÷ that phase compares the engine with a processor that writes as much.
 */
async function passThrough(backend: string, brokers: string[], topic: string, admin: KafkaClient, copies = 1): Promise<Phase> {
  const output = `bench-e2e-pass${copies > 1 ? `x${copies}` : ''}-${backend}`;
  await admin.admin.createTopics([{ topic: output, partitions: PARTITIONS, configs: TOPIC_CONFIGS }]);
  const client = await createKafkaClient({ brokers, clientId: `bench-e2e-pass-${backend}` });
  const what = copies > 1 ? `pass-through ×${copies}` : 'pass-through';
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
          for (let c = 0; c < copies; c++) out.push({ key: m.key, value: Buffer.from(JSON.stringify(row), 'utf8'), partition: m.partition });
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
        progress(`${backend} ${what}: ${records} / ${RECORDS} (${Math.round(records / ((last - t0) / 1_000))} records/s)`);
      }
      if (now - last > STALL_MS) {
        progress(`${backend} ${what}: STALLED at ${records} / ${RECORDS}`);
        break;
      }
    }
    await Promise.all(inFlight);
    last = performance.now();
    const used = cpuOf();
    if (profiler) await profiler.stop(join(PROFILE_DIR!, `kafka-pass${copies > 1 ? `x${copies}` : ''}-${backend}.cpuprofile`));
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
  await admin.admin.createTopics([{ topic: output, partitions: PARTITIONS, configs: TOPIC_CONFIGS }]);
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
      progress(`${backend} e2e: ${processed()} processed in ${s(t0, consumed)}; then sink backlog ${backlog} flushed in ${s(consumed + quiet, flushed)}, final checkpoint (changelog, state, commit) ${s(flushed, performance.now())}; ${engine.checkpointCount} checkpoints; ${engine.sinks.get('features')?.emitted ?? 0} outputs emitted, ${engine.counters.get('late')} late, ${engine.counters.get('deadLettered')} dead-lettered`);
      if (profiler) await profiler.stop(join(PROFILE_DIR!, `kafka-e2e-${backend}.cpuprofile`));
      const outputs = engine.sinks.get('features')?.emitted ?? 0;
      await engine.close({ checkpoint: false });
      closed = true;
      const offsets = await admin.admin.listOffsets(output);
      const outputTopic = offsets.reduce((n, o) => n + Number(o.latest - o.earliest), 0);
      // What the worker produced besides its outputs: the state's changelog (<app>.<step>.changelog).
      let changelog = 0;
      for (const topic of (await admin.admin.listTopics()).filter((t) => t.startsWith(`${appId}.`) && t.endsWith('.changelog'))) {
        changelog += (await admin.admin.listOffsets(topic)).reduce((n, o) => n + Number(o.latest - o.earliest), 0);
      }
      return { records: processed(), seconds, ...used, outputs, outputTopic, changelog, processSeconds: (consumed - t0) / 1_000 };
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
  const heap = process.env.KAFKA_E2E_PROFILE_KIND === 'heap' || process.env.KAFKA_E2E_PROFILE_KIND === 'promoted';
  const session = new Session();
  session.connect();
  if (heap) {
    // Every 32 KB allocated, keeping the objects already collected too: allocation volume, not
    // retention. KAFKA_E2E_PROFILE_KIND=promoted leaves out what died young: what survived a
    // scavenge (the GC's copying and old-space work), by allocation site.
    const promoted = process.env.KAFKA_E2E_PROFILE_KIND === 'promoted';
    await session.post('HeapProfiler.startSampling', { samplingInterval: 32_768, includeObjectsCollectedByMajorGC: true, includeObjectsCollectedByMinorGC: !promoted });
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

/** Every phase against one broker; `label` (dev / kafka) names the figures. */
async function measure(label: string, brokers: string[], figures: Figures[]): Promise<void> {
  const input = `bench-e2e-loan-applications-${Date.now()}`;
  const admin = await createKafkaClient({ brokers, clientId: 'bench-e2e-admin' });
  await admin.connect();
  const f: Figures = { backend: label };
  figures.push(f);
  try {
    await admin.admin.createTopics([{ topic: input, partitions: PARTITIONS, configs: TOPIC_CONFIGS }]);
    progress(`${label}: producing ${RECORDS} loan applications into ${PARTITIONS} partitions, keyed by user_id`);
    const t0 = performance.now();
    await produceInput(admin, input);
    f.produceSeconds = (performance.now() - t0) / 1_000;
    progress(`${label}: produced in ${f.produceSeconds.toFixed(1)} s`);
    progress(`${label}: raw group consume`);
    f.raw = await rawConsume(label, brokers, input);
    progress(`${label}: pass-through (parse, serialize, produce; no engine)`);
    f.pass = await passThrough(label, brokers, input, admin);
    progress(`${label}: pass-through writing 2 records per input`);
    f.pass2 = await passThrough(label, brokers, input, admin, 2);
    progress(`${label}: end to end, one worker`);
    f.e2e = await endToEnd(label, brokers, input, admin);
  } catch (err) {
    progress(`${label}: not measured: ${(err as Error).stack ?? String(err)}`);
  } finally {
    await admin.disconnect();
  }
}

export async function bench(): Promise<BenchResult[]> {
  const figures: Figures[] = [];
  for (const which of benchBrokers()) {
    if (which === 'dev') {
      const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-e2e-broker-'));
      const broker = await startBrokerProcess(dataDir);
      progress(`dev broker (own process) at ${broker.address}`);
      try {
        await measure('dev', [broker.address], figures);
      } finally {
        await broker.stop();
        brokerPid = undefined;
        await rm(dataDir, { recursive: true, force: true });
      }
    } else {
      const kafka = await startRealKafka(progress);
      brokerPid = kafka.pid;
      try {
        await measure('kafka', kafka.brokers, figures);
      } finally {
        brokerPid = undefined;
        await kafka.stop();
      }
    }
  }
  return report(figures);
}

function report(figures: Figures[]): BenchResult[] {
  const rate = (p: Phase | undefined): number | undefined => (p ? p.records / p.seconds : undefined);
  const perK = (cpu: number | undefined, p: Phase | undefined): number | undefined => (p && cpu !== undefined && Number.isFinite(cpu) ? (1e6 * cpu) / p.records : undefined);
  const of = (b: string): Figures | undefined => figures.find((f) => f.backend === b);
  const dev = of('dev');
  const kafka = of('kafka');
  const row = (name: string, unit: string, value: (f: Figures) => number | undefined): BrokerFigure => {
    const d = dev && value(dev);
    const k = kafka && value(kafka);
    return { name, unit, ...(d !== undefined ? { dev: d } : {}), ...(k !== undefined ? { kafka: k } : {}) };
  };
  const short = (p: Phase | undefined): boolean => p !== undefined && p.records < RECORDS;
  const incomplete = figures.filter((f) => short(f.raw) || short(f.pass) || short(f.pass2) || short(f.e2e)).map((f) => f.backend);
  const rows: BrokerFigure[] = [
    row('produce input (acks=1)', 'records/s', (f) => (f.produceSeconds ? RECORDS / f.produceSeconds : undefined)),
    row('raw group consume', 'records/s', (f) => rate(f.raw)),
    row('pass-through (parse, serialize, produce acks=all)', 'records/s', (f) => rate(f.pass)),
    row('e2e rolling-3d → kafka, 1 worker', 'events/s', (f) => rate(f.e2e)),
    // Without the final checkpoint, whose size depends on where the 5 s checkpoint interval
    // fell (0.07 to 1 s of state, changelog and commit in the runs so far): steadier.
    row('e2e processing only (no final flush, checkpoint)', 'events/s', (f) => (f.e2e ? f.e2e.records / f.e2e.processSeconds : undefined)),
    row('pass-through ×2 (2 records written per input)', 'records/s', (f) => rate(f.pass2)),
    row('e2e ÷ pass-through (target ≥ 0.7)', '×', (f) => { const e = rate(f.e2e); const p = rate(f.pass); return e !== undefined && p !== undefined ? e / p : undefined; }),
    // The same ratio in main-thread CPU (what bounds one worker): steadier than wall time on a busy machine.
    row('pass-through ÷ e2e main thread CPU per record', '×', (f) => { const e = perK(f.e2e?.mainCpu, f.e2e); const p = perK(f.pass?.mainCpu, f.pass); return e !== undefined && p !== undefined ? p / e : undefined; }),
    row('e2e ÷ pass-through ×2', '×', (f) => { const e = rate(f.e2e); const p = rate(f.pass2); return e !== undefined && p !== undefined ? e / p : undefined; }),
    row('e2e ÷ raw consume', '×', (f) => { const e = rate(f.e2e); const r = rate(f.raw); return e !== undefined && r !== undefined ? e / r : undefined; }),
    row('pass-through CPU per 1k records', 'ms', (f) => perK(f.pass?.cpu, f.pass)),
    row('pass-through main thread CPU per 1k', 'ms', (f) => perK(f.pass?.mainCpu, f.pass)),
    row('pass-through ×2 main thread CPU per 1k inputs', 'ms', (f) => perK(f.pass2?.mainCpu, f.pass2)),
    row('e2e worker CPU per 1k records', 'ms', (f) => perK(f.e2e?.cpu, f.e2e)),
    row('e2e worker main thread CPU per 1k', 'ms', (f) => perK(f.e2e?.mainCpu, f.e2e)),
    row('e2e broker CPU per 1k records', 'ms', (f) => perK(f.e2e?.brokerCpu, f.e2e)),
    row('e2e outputs emitted by the sink', 'records', (f) => f.e2e?.outputs),
    row('e2e outputs written', 'records', (f) => f.e2e?.outputTopic),
    row('e2e changelog records written', 'records', (f) => f.e2e?.changelog),
    // The pass-through writes one record per input; the worker its outputs (updates and expiries)
    // and its changelog: each costs a serialization and a produce there too.
    row('e2e records written per input (outputs + changelog)', '×', (f) => (f.e2e ? (f.e2e.outputTopic + f.e2e.changelog) / f.e2e.records : undefined)),
  ];
  // Every emitted record must be in the output topic exactly once (one uninterrupted run).
  const lost = figures.filter((f) => f.e2e !== undefined && f.e2e.outputTopic !== f.e2e.outputs).map((f) => f.backend);
  if (lost.length > 0) rows.push({ name: `OUTPUT TOPIC ≠ SINK EMISSIONS on ${lost.join(', ')}`, unit: '-' });
  if (incomplete.length > 0) rows.push({ name: `INCOMPLETE phases on ${incomplete.join(', ')} (see the progress lines)`, unit: '-' });
  const fmt = (v: number): string => (Math.abs(v) >= 100 ? Math.round(v).toLocaleString('en-US') : v.toFixed(2));
  return sideBySide(`kafka-e2e: ${RECORDS} records, ${PARTITIONS} partitions${REPARTITION ? ', keyBy through a repartition topic' : ''}; worker in this process, the broker in its own (dev: tributary broker; kafka: a JVM)`, rows, fmt);
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
