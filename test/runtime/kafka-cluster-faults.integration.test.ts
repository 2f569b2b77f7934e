/**
 * Issue 12: a fleet of three workers rides out broker faults of a 3-node Apache Kafka cluster
 * (scripts/kafka-cluster.sh). Every topic — input, changelogs, repartition, output — has
 * replication factor 3 and min.insync.replicas=2, and every producer writes with acks=all, so one
 * broker down never loses an acknowledged record. Each case:
 *   - a loader writes input at a steady rate while the fault happens (it rides it out too);
 *   - three workers of one group process it (windows, changelogs, a repartition, a Kafka sink);
 *   - the fault: a rolling restart / kill -9 of the busiest partition's leader / a broker down 60 s;
 *   - the loader stops; one uninterrupted worker (the reference) then reads the same input.
 * No worker may exit; the fleet's final outputs (files and the output topic) equal the
 * reference's, and every valid input record is counted exactly once.
 * One cluster serves all cases; each case has its own topics and app ids.
 */
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnCli } from '../helpers/cli.js';
import { startKafkaCluster, type KafkaCluster } from '../helpers/kafka-cluster.js';
import { diffCandidates, diffMaps, finalValues, lastCandidates, lastValues, readAll, readRows, startWorker, type Row, type Worker } from '../helpers/fleet.js';
import { readPartition } from '../helpers/kafka-read.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { KafkaClient } from '../../src/kafka/client.js';

const TOPOLOGY = 'test/runtime/fixtures/cluster-faults.yaml';
const PARTITIONS = 6;
/** Input records per second while a fault happens: enough that every worker is busy throughout. */
const RATE = 150;
/**
 * Workers exit once no input arrived for this long after the loader stopped (time spent riding
 * out an outage does not count: runtime/runner.ts).
 */
const IDLE_EXIT = '10s';
// No time retention: the generator's event times (the record timestamps) lie weeks back, and a
// broker's retention check (30 s after it starts: each restart) would delete the input under
// the fleet. min.insync.replicas=2 with acks=all: one broker down loses no acknowledged record.
const TOPIC_CONFIG = { 'min.insync.replicas': '2', 'retention.ms': '-1' };

let cluster: KafkaCluster;
let dir: string;
const started: Worker[] = [];
const names: string[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-cluster-faults-'));
  await mkdir(join(dir, 'reports'));
  // Topics the workers create themselves would get these too; the test creates them up front.
  cluster = await startKafkaCluster({ brokers: 3, brokerConfig: { 'default.replication.factor': '3', 'min.insync.replicas': '2', 'log.retention.ms': '-1' } });
}, 300_000);

afterAll(async () => {
  for (const [i, w] of started.entries()) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    if (dir) await writeFile(join(dir, `${names[i]}.log`), w.stderr()).catch(() => undefined);
  }
  await cluster?.down();
  if (dir && !process.env.FLEET_KEEP) await rm(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`kafka-cluster-faults: outputs and worker logs kept in ${dir}\n`);
}, 180_000);

/** Each worker's stderr also goes to <dir>/<name>.live.log as it comes (a hung worker's log is readable while it hangs). */
function track(name: string, w: Worker): Worker {
  started.push(w);
  names.push(name);
  const file = createWriteStream(join(dir, `${name}.live.log`));
  w.child.stderr?.on('data', (d: Buffer) => file.write(d));
  w.child.on('close', () => file.end());
  return w;
}

/**
 * Node's diagnostic report on SIGUSR2 (open sockets, timers, the JS stack): what a worker that
 * stopped making progress was waiting for, written to <dir>/reports.
 */
function reportEnv(): Record<string, string> {
  return { NODE_OPTIONS: `${process.env.NODE_OPTIONS ?? ''} --report-on-signal --report-signal=SIGUSR2 --report-directory=${join(dir, 'reports')}`.trim() };
}

async function withClient<T>(fn: (c: KafkaClient) => Promise<T>): Promise<T> {
  const client = await createKafkaClient({ brokers: cluster.brokers, clientId: 'cluster-faults-test', retryTimeoutMs: 120_000 });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.disconnect();
  }
}

interface Case {
  name: string;
  input: string;
  output: string;
  out(app: string, worker: string): string;
}

/** Every topic of the case up front: RF 3, min.insync.replicas=2 (changelogs compacted). */
async function prepare(name: string): Promise<Case> {
  const input = `${name}-in`;
  const output = `${name}-out`;
  const internal = (app: string) => [
    { topic: `${app}.user_apply_24h.changelog`, partitions: PARTITIONS, replicationFactor: 3, configs: { ...TOPIC_CONFIG, 'cleanup.policy': 'compact' } },
    { topic: `${app}.device_apply_1h.changelog`, partitions: PARTITIONS, replicationFactor: 3, configs: { ...TOPIC_CONFIG, 'cleanup.policy': 'compact' } },
    { topic: `${app}.per_device.repartition`, partitions: PARTITIONS, replicationFactor: 3, configs: { ...TOPIC_CONFIG, 'cleanup.policy': 'delete' } },
  ];
  const specs = [
    { topic: input, partitions: PARTITIONS, replicationFactor: 3, configs: TOPIC_CONFIG },
    { topic: output, partitions: PARTITIONS, replicationFactor: 3, configs: TOPIC_CONFIG },
    { topic: `${output}-ref`, partitions: PARTITIONS, replicationFactor: 3, configs: TOPIC_CONFIG },
    ...internal(name),
    ...internal(`${name}-ref`),
  ];
  await cluster.createTopics(specs);
  for (const s of specs) {
    const parts = await cluster.partitions(s.topic);
    expect(parts.length, `${s.topic} partitions`).toBe(PARTITIONS);
    for (const p of parts) expect(p.replicas.length, `${s.topic}/${p.partition} replicas`).toBe(3);
  }
  return { name, input, output, out: (app, w) => join(dir, name, app, w, 'out') };
}

/** Generator → input topic at RATE records/s until stopped (SIGTERM: it flushes and exits 0). */
function startLoader(c: Case): Worker {
  const child = spawnCli(['run', 'topologies/loan-applications-to-kafka.yaml', '--data-dir', join(dir, c.name, 'load'), '--quiet'], {
    env: {
      ...process.env, ...reportEnv(), KAFKA_BROKERS: cluster.brokers.join(','), TRIBUTARY_TOPIC: c.input, TRIBUTARY_OUT: join(dir, c.name, 'load'),
      TRIBUTARY_DEMO_RATE: String(RATE), TRIBUTARY_DEMO_COUNT: '1000000', TRIBUTARY_DEMO_USERS: '1500', TRIBUTARY_DEMO_SEED: String(c.name.length * 7),
    },
  });
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  child.stdout?.on('data', () => undefined);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => child.on('close', (code, signal) => resolve({ code, signal })));
  return track(`${c.name}-loader`, { child, exited, stderr: () => err });
}

function startFleetWorker(c: Case, app: string, name: string, output: string): Worker {
  return track(`${c.name}-${app}-${name}`, startWorker(
    [TOPOLOGY, '--app-id', app, '--data-dir', join(dir, c.name, app, name, 'state'), '--quiet', '--exit-when-idle', IDLE_EXIT],
    { KAFKA_BROKERS: cluster.brokers.join(','), TRIBUTARY_TOPIC: c.input, TRIBUTARY_OUTPUT_TOPIC: output, TRIBUTARY_OUT: c.out(app, name), TRIBUTARY_SESSION_TIMEOUT: '10s', ...reportEnv() },
  ));
}

async function recordsIn(topic: string): Promise<Array<{ partition: number; records: number }>> {
  const offsets = await withClient((cl) => cl.admin.listOffsets(topic));
  return offsets.map((o) => ({ partition: o.partition, records: Number(o.latest - o.earliest) }));
}

async function waitUntil(what: string, check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(250);
  }
}

/** Every record of a topic, as rows (JSON values). */
async function readTopic(topic: string): Promise<Row[]> {
  return withClient(async (cl) => {
    const rows: Row[] = [];
    for (const o of await cl.admin.listOffsets(topic)) {
      if (o.latest === o.earliest) continue;
      for (const m of await readPartition(cl, topic, o.latest, { partition: o.partition, from: o.earliest, timeoutMs: 60_000 })) {
        if (m.value) rows.push(JSON.parse(Buffer.from(m.value).toString('utf8')) as Row);
      }
    }
    return rows;
  });
}

const log = (msg: string): void => void process.stderr.write(`kafka-cluster-faults ${new Date().toISOString().slice(11, 19)}: ${msg}\n`);

/**
 * How long the workers may take to exit once the input stopped: they catch up, then idle out
 * (--exit-when-idle). Far above what they need on a loaded machine; past it a worker is hung.
 */
const EXIT_WITHIN_MS = 240_000;

/**
 * The workers' exits; a worker still running after `withinMs` gets SIGUSR2 (a Node diagnostic
 * report in <dir>/reports) and the test fails naming it, instead of waiting out the test timeout.
 */
async function exitedOrReport(workers: Worker[], labels: string[], withinMs: number): Promise<Array<{ code: number | null; signal: NodeJS.Signals | null }>> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), withinMs)));
  const all = Promise.all(workers.map((w) => w.exited));
  const first = await Promise.race([all, timedOut]);
  clearTimeout(timer);
  if (first !== 'timeout') return first;
  const hung = workers.flatMap((w, i) => (w.child.exitCode === null && w.child.signalCode === null ? [i] : []));
  for (const i of hung) workers[i]!.child.kill('SIGUSR2');
  await sleep(3_000);
  const reports = await readdir(join(dir, 'reports')).catch(() => [] as string[]);
  throw new Error(
    `worker(s) ${hung.map((i) => labels[i]).join(', ')} still running ${withinMs / 1000} s after the input stopped (hung); ` +
      `Node reports: ${reports.join(', ') || 'none'} in ${join(dir, 'reports')}\n` +
      hung.map((i) => `--- ${labels[i]} stderr tail ---\n${workers[i]!.stderr().slice(-3000)}`).join('\n'),
  );
}

/**
 * Runs one case: loader and fleet start, `fault` runs once the fleet is writing output, then the
 * loader stops, the reference runs over the same input, and the outputs are compared.
 */
async function runCase(name: string, fault: (c: Case) => Promise<void>): Promise<void> {
  const t0 = Date.now();
  const c = await prepare(name);
  // Loader and fleet start together: the workers join while the first records arrive.
  const loader = startLoader(c);
  const fleet = ['w1', 'w2', 'w3'].map((w) => startFleetWorker(c, name, w, c.output));
  const written = async (): Promise<number> => (await Promise.all(['w1', 'w2', 'w3'].map((w) => readRows(join(c.out(name, w), 'user_apply_24h.jsonl'))))).reduce((n, r) => n + r.length, 0);
  await waitUntil('fleet output', async () => (await written()) > 200, 180_000);
  log(`${name}: fleet writing after ${Math.round((Date.now() - t0) / 1000)} s; fault starts`);
  await fault(c);
  log(`${name}: fault over after ${Math.round((Date.now() - t0) / 1000)} s`);
  // The reference sees no fault: it starts now and reads the input to its end (it exits once
  // idle after the loader stopped). A few more seconds of input with the cluster whole again.
  const ref = startFleetWorker(c, `${name}-ref`, 'w0', `${c.output}-ref`);
  await sleep(3_000);
  loader.child.kill('SIGTERM');
  const loaded = await loader.exited;
  expect(loaded.code, `loader exit; stderr tail:\n${loader.stderr().slice(-3000)}`).toBe(0);
  const all = [...fleet, ref];
  const results = await exitedOrReport(all, [...['w1', 'w2', 'w3'].map((w) => `${name}-${w}`), `${name}-ref-w0`], EXIT_WITHIN_MS);
  log(`${name}: done after ${Math.round((Date.now() - t0) / 1000)} s`);
  for (const [i, r] of results.entries()) {
    expect(r.code, `${name} worker ${i} exit; stderr tail:\n${all[i]!.stderr().slice(-3000)}`).toBe(0);
  }
  const logs = fleet.map((w) => w.stderr()).join('\n');
  for (const w of fleet) expect(w.stderr(), 'each worker of the fleet was assigned tasks').toContain('"msg":"task assigned"');

  // Nothing lost, nothing counted twice: the device windows count every valid input record once.
  const input = await readTopic(c.input);
  const valid = input.filter((r) => typeof r.amount === 'number' && r.amount > 0 && r.user_id != null && r.device_id != null).length;
  expect(valid, 'valid input records').toBeGreaterThan(RATE * 10);
  const fleetDirs = ['w1', 'w2', 'w3'].map((w) => c.out(name, w));
  const refDirs = [c.out(`${name}-ref`, 'w0')];
  const want = finalValues(await readAll(refDirs, 'device_apply_1h.jsonl'), 'apply_cnt_1h');
  const got = finalValues(await readAll(fleetDirs, 'device_apply_1h.jsonl'), 'apply_cnt_1h');
  const total = (m: Map<string, string>): number => [...m.values()].reduce((n, v) => n + Number((JSON.parse(v) as { apply_cnt_1h: number }).apply_cnt_1h), 0);
  expect(total(want), 'reference: records counted over all device windows').toBe(valid);
  expect(total(got), 'fleet: records counted over all device windows').toBe(valid);
  expect(diffMaps(want, got), `${name}: device_apply_1h (files)`).toEqual([]);
  // The output topic holds the same final values.
  expect(diffMaps(want, finalValues(await readTopic(c.output), 'apply_cnt_1h')), `${name}: device_apply_1h (topic ${c.output})`).toEqual([]);
  // Rolling 24h per user (changelog, timers): the last value per user.
  const wantUser = lastValues(await readAll(refDirs, 'user_apply_24h.jsonl'), false);
  const perWorker = await Promise.all(fleetDirs.map((d) => readAll([d], 'user_apply_24h.jsonl')));
  expect(wantUser.size, 'reference has per-user output').toBeGreaterThan(500);
  expect(diffCandidates(wantUser, lastCandidates(perWorker)), `${name}: user_apply_24h`).toEqual([]);
  // The generator's bad records (an amount that is not a number) are dead-lettered by fleet and
  // reference alike (at least once: a replay after a fault may repeat one); none is late.
  const deadLetters = async (dirs: string[]) => new Set((await readAll(dirs, 'dlq.jsonl')).map((r) => JSON.stringify([r.partition, r.offset])));
  expect(await deadLetters(fleetDirs), `${name}: dead letters (partition, offset)`).toEqual(await deadLetters(refDirs));
  for (const d of [...fleetDirs, ...refDirs]) expect(await readAll([d], 'late.jsonl'), `${d}: late records`).toEqual([]);
  log(`${name}: ${valid} valid records; ${want.size} device windows; outage warnings: ${(logs.match(/kafka unavailable; retrying/g) ?? []).length}`);
}

/** The input partition with the most records now, and its leader. */
async function busiestLeader(c: Case): Promise<{ partition: number; node: number }> {
  const parts = await recordsIn(c.input);
  const busiest = parts.reduce((a, b) => (b.records > a.records ? b : a));
  return { partition: busiest.partition, node: await cluster.leaderOf(c.input, busiest.partition) };
}

describe('a fleet on a 3-node Kafka cluster rides out broker faults', () => {
  it('a rolling restart of all three brokers, one at a time', async () => {
    await runCase('rolling', async () => {
      for (const node of [1, 2, 3]) {
        await cluster.stopNode(node, 'TERM');
        log(`rolling: node ${node} stopped`);
        await cluster.startNode(node);
        log(`rolling: node ${node} back`);
        // It catches up into the ISR before the next one goes (what a rolling upgrade waits for).
        await cluster.waitInSync(180_000);
        log(`rolling: node ${node} in sync`);
      }
    });
  }, 900_000);

  it('kill -9 of the leader of the busiest partition, restarted 20 s later', async () => {
    await runCase('leader-kill', async (c) => {
      const { partition, node } = await busiestLeader(c);
      log(`leader-kill: ${c.input}/${partition} led by node ${node}: kill -9`);
      await cluster.stopNode(node, 'KILL');
      await sleep(20_000);
      await cluster.startNode(node);
    });
  }, 900_000);

  it('one broker down for 60 s', async () => {
    await runCase('broker-down', async (c) => {
      const { node } = await busiestLeader(c);
      await cluster.stopNode(node, 'TERM');
      log(`broker-down: node ${node} down`);
      await sleep(60_000);
      await cluster.startNode(node);
    });
  }, 900_000);
});
