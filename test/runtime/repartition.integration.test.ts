/**
 * Issue 4 acceptance, against the dev broker: input partitioned by application id, features keyed
 * by device id. The keyBy goes through `<app>.per_device.repartition`; two workers in one group
 * must produce what one worker produces (final value per device and window), and every valid
 * input record must be counted exactly once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/broker.js';
import { describeOnBrokers, type KafkaUnderTest } from '../helpers/kafka.js';
import { createTopic, diffMaps, finalValues, loadTopic, produceRows, readAll, startWorker, topicStats, type Worker } from '../helpers/fleet.js';
import { startRetryProxy } from '../helpers/kafka-retry-proxy.js';

const TOPIC = uniqueName('applications-by-id');
// App ids and topics unique to this file: on real Kafka one cluster serves every file of the run.
const SUFFIX = uniqueName('repartition');
const named = (app: string): string => `${app}-${SUFFIX}`;
const SEED = 23;
const COUNT = 20_000;

let broker: KafkaUnderTest;
let dir: string;
let features: string;
const started: Worker[] = [];

// One ordered stream keyed by application_id: Kafka spreads each device's records over all partitions.
const loadYaml = `apiVersion: tributary/v1
kind: Topology
metadata: { name: load-applications-by-id }
spec:
  checkpoint: { interval: 2s }
  sources:
    applications:
      generator: { preset: loan-applications, rate: 0, keys: 2000, seed: ${SEED}, count: ${COUNT}, partitions: 1, outOfOrder: 0.02, duplicates: 0.001, badRecords: 0.0005 }
      eventTime: { field: applied_at, maxOutOfOrderness: 10s, idleTimeout: 30s }
  pipeline:
    - { id: valid, from: applications, filter: "amount > 0 && device_id != null" }
  sinks:
    topic: { from: valid, kafka: { brokers: "\${KAFKA_BROKERS}", topic: "\${TRIBUTARY_TOPIC}", key: "{application_id}" } }
    dead_letters: { from: dlq, file: { path: "\${TRIBUTARY_OUT}/dlq.jsonl" } }
`;

// Tumbling 1h with 2 days of allowed lateness (the data spans ~11 h): no record is late however
// the upstream partitions interleave in the repartition topic, so outputs cannot depend on timing.
const featuresYaml = (idleTimeout: string): string => `apiVersion: tributary/v1
kind: Topology
metadata: { name: device-features }
spec:
  checkpoint: { interval: 1s }
  sources:
    applications:
      kafka: { brokers: "\${KAFKA_BROKERS}", topic: "\${TRIBUTARY_TOPIC}", partitionKey: application_id, sessionTimeout: 4s }
      eventTime: { field: applied_at, maxOutOfOrderness: 10s, idleTimeout: ${idleTimeout} }
  pipeline:
    - { id: valid, from: applications, filter: "amount > 0 && device_id != null" }
    - { id: per_device, from: valid, keyBy: device_id }
    - id: device_apply_1h
      from: per_device
      window: { tumbling: 1h }
      allowedLateness: 2d
      aggregate: { apply_cnt_1h: count(), apply_amt_1h: sum(amount) }
  sinks:
    features: { from: device_apply_1h, file: { path: "\${TRIBUTARY_OUT}/device_apply_1h.jsonl" } }
    late: { from: device_apply_1h.late, file: { path: "\${TRIBUTARY_OUT}/late.jsonl" } }
    dead_letters: { from: dlq, file: { path: "\${TRIBUTARY_OUT}/dlq.jsonl" } }
`;

/** Per broker under test: a fresh output dir, the input topic and its records. */
async function setUp(kafka: KafkaUnderTest): Promise<void> {
  broker = kafka;
  dir = await mkdtemp(join(tmpdir(), 'tributary-repartition-'));
  await writeFile(join(dir, 'load.yaml'), loadYaml);
  features = join(dir, 'features.yaml');
  await writeFile(features, featuresYaml('30s'));
  await writeFile(join(dir, 'features-idle.yaml'), featuresYaml('1s'));
  await createTopic(broker.brokers, TOPIC, 6);
  await loadTopic(join(dir, 'load.yaml'), broker.brokers, TOPIC, join(dir, 'load'));
}

async function tearDown(): Promise<void> {
  for (const w of started) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
}

function worker(app: string, name: string, topology = features, topic = TOPIC, brokers = broker.brokers): Worker {
  const w = startWorker(
    [topology, '--app-id', named(app), '--data-dir', join(dir, app, name, 'state'), '--quiet', '--exit-when-idle', '6s'],
    { KAFKA_BROKERS: brokers.join(','), TRIBUTARY_TOPIC: topic, TRIBUTARY_OUT: join(dir, app, name, 'out') },
  );
  started.push(w);
  return w;
}

const outputs = (app: string, names: string[], file: string) => readAll(names.map((n) => join(dir, app, n, 'out')), file);

describeOnBrokers('repartition', () => {
  describe('repartition', () => {
    it('2 workers keyed by device id over an application-id-partitioned topic equal one worker', async () => {
      const input = await topicStats(broker.brokers, TOPIC);
      expect(input?.partitions).toBe(6);
      expect(input!.records, 'valid records loaded').toBeGreaterThan(COUNT * 0.99);

      const ref = worker('ref', 'w0');
      const pair = [worker('pair', 'w1'), worker('pair', 'w2')];
      const all = [ref, ...pair];
      const results = await Promise.all(all.map((w) => w.exited));
      for (const [i, r] of results.entries()) expect(r.code, `worker ${i} exit (seed ${SEED}); stderr tail:\n${all[i]!.stderr().slice(-3000)}`).toBe(0);

      for (const app of ['ref', 'pair']) {
        const rp = await topicStats(broker.brokers, `${named(app)}.per_device.repartition`);
        expect(rp?.partitions, `${app}.per_device.repartition partitions`).toBe(6);
        expect(rp!.records, `${app}: records went through the repartition topic`).toBeGreaterThanOrEqual(input!.records);
      }

      const refRows = await outputs('ref', ['w0'], 'device_apply_1h.jsonl');
      const pairRows = await outputs('pair', ['w1', 'w2'], 'device_apply_1h.jsonl');
      const want = finalValues(refRows, 'apply_cnt_1h');
      const got = finalValues(pairRows, 'apply_cnt_1h');
      expect(want.size, 'reference has output').toBeGreaterThan(1000);
      expect(diffMaps(want, got), `seed ${SEED}`).toEqual([]);

      // Both workers of the pair owned tasks (otherwise this would test one worker twice). How the
      // output splits between them depends on when the second one joined, so that is not asserted.
      for (const w of pair) expect(w.stderr(), 'each worker of the pair was assigned tasks').toContain('"msg":"task assigned"');

      // Every valid record counted exactly once: no loss in the repartition topic, no double count.
      const total = (m: Map<string, string>) => [...m.values()].reduce((n, v) => n + Number((JSON.parse(v) as { apply_cnt_1h: number }).apply_cnt_1h), 0);
      expect(total(want), 'reference: records counted over all windows').toBe(input!.records);
      expect(total(got), 'pair: records counted over all windows').toBe(input!.records);
      for (const app of ['ref', 'pair']) {
        const names = app === 'ref' ? ['w0'] : ['w1', 'w2'];
        expect(await outputs(app, names, 'late.jsonl'), `${app}: late records`).toEqual([]);
        expect(await outputs(app, names, 'dlq.jsonl'), `${app}: dead letters`).toEqual([]);
      }
    }, 60_000);

    it('upstream partitions that never get a record go idle and let the workers finish', async () => {
      // Partitions 3..5 stay empty: their tasks mark themselves idle in the repartition topic once;
      // the readers' watermarks move on and, the input drained, the worker exits when idle.
      const topic = named('sparse-applications');
      await createTopic(broker.brokers, topic, 6);
      const t0 = Date.parse('2026-11-01T00:00:00Z');
      const rows = Array.from({ length: 60 }, (_, i) => ({
        partition: i % 3,
        key: `app-${i}`,
        value: { application_id: `app-${i}`, device_id: `d${i % 5}`, amount: 1000 + i, applied_at: t0 + i * 60_000 },
      }));
      await produceRows(broker.brokers, topic, rows, 'applied_at');
      const w = worker('sparse', 'w0', join(dir, 'features-idle.yaml'), topic);
      const timer = setTimeout(() => w.child.kill('SIGKILL'), 40_000);
      const r = await w.exited;
      clearTimeout(timer);
      expect(r, `the worker exits by itself; stderr tail:\n${w.stderr().slice(-3000)}`).toEqual({ code: 0, signal: null });
      const got = finalValues(await outputs('sparse', ['w0'], 'device_apply_1h.jsonl'), 'apply_cnt_1h');
      const want = new Map<string, string>();
      for (let d = 0; d < 5; d++) {
        const mine = rows.filter((x) => x.value.device_id === `d${d}`);
        want.set(JSON.stringify([`d${d}`, t0, t0 + 3_600_000]), JSON.stringify({ emit: 'update', apply_cnt_1h: mine.length, apply_amt_1h: mine.reduce((n, x) => n + x.value.amount, 0) }));
      }
      expect(diffMaps(want, got)).toEqual([]);
    }, 60_000);

    it('produce responses lost after the broker appended (the worker sends them again) double count nothing, nor does a restore from those changelogs', async () => {
      // Every 3rd Produce to this app's repartition and changelog topics is appended and its
      // answer lost (the connection drops): the retried send writes those records a second time.
      // Two runs over one topic: the second starts from an empty data dir, so it restores the
      // windows from the changelogs the first wrote (duplicates included) and adds to them.
      const topic = named('lost-acks-input');
      await createTopic(broker.brokers, topic, 6);
      const t0 = Date.parse('2026-11-01T00:00:00Z');
      const rows = Array.from({ length: 3_000 }, (_, i) => ({
        partition: i % 6,
        key: `app-${i}`,
        value: { application_id: `app-${i}`, device_id: `d${(i * 7) % 40}`, amount: 100 + (i % 13), applied_at: t0 + (i % 1_500) * 7_000 },
      }));
      const want = new Map<string, string>();
      for (let d = 0; d < 40; d++) {
        for (let h = 0; h < 3; h++) {
          const start = t0 + h * 3_600_000;
          const mine = rows.filter((x) => x.value.device_id === `d${d}` && x.value.applied_at >= start && x.value.applied_at < start + 3_600_000);
          if (mine.length > 0) want.set(JSON.stringify([`d${d}`, start, start + 3_600_000]), JSON.stringify({ emit: 'update', apply_cnt_1h: mine.length, apply_amt_1h: mine.reduce((n, x) => n + x.value.amount, 0) }));
        }
      }
      const [host, port] = broker.brokers[0]!.split(':');
      const proxy = await startRetryProxy({ host: host!, port: Number(port) }, {
        dropAcks: { topics: (t) => t.startsWith(`${named('lost-acks')}.`), every: 3, max: 6 },
      });
      try {
        for (const [run, half] of [rows.slice(0, 1_500), rows.slice(1_500)].entries()) {
          await produceRows(broker.brokers, topic, half, 'applied_at');
          const w = worker('lost-acks', `w${run}`, features, topic, [proxy.address]);
          const r = await w.exited;
          expect(r.code, `run ${run} exit; stderr tail:\n${w.stderr().slice(-3000)}`).toBe(0);
          const restored = w.stderr().split('\n').filter((l) => l.includes('"task assigned"')).reduce((n, l) => n + Number(/"restored":(\d+)/.exec(l)?.[1] ?? 0), 0);
          if (run === 1) expect(restored, 'the second run restored its windows from the changelogs').toBeGreaterThan(0);
        }
        expect(proxy.dropped.length, 'answers lost').toBe(6);
        expect(proxy.dropped.every((a) => a.errorCode === 0), 'the broker had appended each lost batch').toBe(true);
        const lost = new Set(proxy.dropped.map((a) => a.topic.slice(a.topic.lastIndexOf('.') + 1)));
        expect([...lost].sort(), 'lost answers of both kinds').toEqual(['changelog', 'repartition']);

        const got = finalValues(await outputs('lost-acks', ['w0', 'w1'], 'device_apply_1h.jsonl'), 'apply_cnt_1h');
        expect(diffMaps(want, got)).toEqual([]);
        expect(await outputs('lost-acks', ['w0', 'w1'], 'late.jsonl')).toEqual([]);
        expect(await outputs('lost-acks', ['w0', 'w1'], 'dlq.jsonl')).toEqual([]);
      } finally {
        await proxy.close();
      }
    }, 90_000);
  });
}, { setUp, tearDown });
