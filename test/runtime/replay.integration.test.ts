/**
 * Issue 4 acceptance, against the dev broker: run a topology to the end, then replay it from a
 * timestamp under new app ids (twice): the replayed windows come out exactly as the first run
 * produced them, and the two replays are identical row for row. `--from-offsets earliest` under
 * a new app id reproduces the first run. `--reset-state` under the same app id is refused while a
 * worker runs, then starts the app over: its replay from the timestamp equals a fresh app's.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from '../helpers/broker.js';
import { describeOnBrokers, type KafkaUnderTest } from '../helpers/kafka.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { KafkaAdmin, KafkaClient } from '../../src/kafka/client.js';
import { readPartition } from '../helpers/kafka-read.js';
import { createTopic, diffMaps, lastValues, loadApplications, readRows, startWorker, type Row, type Worker } from '../helpers/fleet.js';

const TOPIC = uniqueName('loan-applications');
// App ids unique to this file: on real Kafka one cluster serves every file of the run.
const SUFFIX = uniqueName('replay');
const named = (app: string): string => `${app}-${SUFFIX}`;
// The generator starts at 2026-11-01T00:00Z, one record per 2 s: 20 000 records span ~11 h.
const START = Date.parse('2026-11-01T00:00:00Z');
const T = '2026-11-01T05:00:00Z';
const T_MS = Date.parse(T);

let broker: KafkaUnderTest;
let dir: string;
let topology: string;
const started: Worker[] = [];

// Keyed by user_id as the topic is: no repartition topic, each task reads its partition in order.
const yaml = `apiVersion: tributary/v1
kind: Topology
metadata: { name: user-hourly }
spec:
  checkpoint: { interval: 1s }
  sources:
    applications:
      kafka: { brokers: "\${KAFKA_BROKERS}", topic: "\${TRIBUTARY_TOPIC}", partitionKey: user_id, sessionTimeout: 4s }
      eventTime: { field: applied_at, maxOutOfOrderness: 10s, idleTimeout: 30s }
  pipeline:
    - { id: valid, from: applications, filter: "amount > 0 && user_id != null" }
    - { id: per_user, from: valid, keyBy: user_id }
    - id: user_apply_1h
      from: per_user
      window: { tumbling: 1h }
      aggregate: { apply_cnt_1h: count(), apply_amt_1h: sum(amount) }
  sinks:
    features: { from: user_apply_1h, file: { path: "\${TRIBUTARY_OUT}/user_apply_1h.jsonl" } }
`;

/** Per broker under test: a fresh output dir, the input topic and its records. */
async function setUp(kafka: KafkaUnderTest): Promise<void> {
  broker = kafka;
  dir = await mkdtemp(join(tmpdir(), 'tributary-replay-'));
  topology = join(dir, 'user-hourly.yaml');
  await writeFile(topology, yaml);
  await createTopic(broker.brokers, TOPIC, 6);
  await loadApplications(broker.brokers, TOPIC, join(dir, 'load'), { TRIBUTARY_DEMO_COUNT: '20000', TRIBUTARY_DEMO_USERS: '2000' });
}

async function tearDown(): Promise<void> {
  // Whatever happened, no worker outlives the test; their logs go next to the outputs.
  for (const [i, w] of started.splice(0).entries()) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    if (dir) await writeFile(join(dir, `worker-${i}.log`), w.stderr()).catch(() => undefined);
  }
  // FLEET_KEEP=1 keeps the outputs and every worker's log for a post-mortem.
  if (dir && !process.env.FLEET_KEEP) await rm(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`replay: outputs and worker logs kept in ${dir}\n`);
}

/** A worker of `app`, writing to <dir>/<out>. */
function worker(app: string, out: string, extra: string[]): Worker {
  const w = startWorker(
    [topology, '--app-id', app, '--data-dir', join(dir, app, 'state'), '--quiet', ...extra],
    { KAFKA_BROKERS: broker.brokers.join(','), TRIBUTARY_TOPIC: TOPIC, TRIBUTARY_OUT: join(dir, out) },
  );
  started.push(w);
  return w;
}

/** Runs one app to idle and returns its output rows. */
async function runApp(app: string, extra: string[] = [], out = join(app, 'out')): Promise<Row[]> {
  const w = worker(app, out, ['--exit-when-idle', '5s', ...extra]);
  const r = await w.exited;
  expect(r.code, `${app} exit; stderr tail:\n${w.stderr().slice(-3000)}`).toBe(0);
  return readRows(join(dir, out, 'user_apply_1h.jsonl'));
}

async function withClient<T>(fn: (client: KafkaClient) => Promise<T>): Promise<T> {
  const client = await createKafkaClient({ brokers: broker.brokers, clientId: 'replay-test' });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.disconnect();
  }
}

const withAdmin = <T>(fn: (admin: KafkaAdmin) => Promise<T>): Promise<T> => withClient((client) => fn(client.admin));

/** Latest offset summed over a topic's partitions (0 when it does not exist). */
const topicEnd = (topic: string): Promise<number> =>
  withAdmin(async (admin) => ((await admin.listTopics()).includes(topic) ? (await admin.listOffsets(topic)).reduce((n, o) => n + Number(o.latest), 0) : 0));

const from = (rows: Row[], t: number) => rows.filter((r) => Number(r.window_start) >= t);
/** Rows in one run and not the other (as multisets), at most 5 each way: [] when identical. */
function rowDiff(want: Row[], got: Row[]): string[] {
  const count = new Map<string, number>();
  for (const r of want) count.set(JSON.stringify(r), (count.get(JSON.stringify(r)) ?? 0) + 1);
  const extra: string[] = [];
  for (const r of got) {
    const k = JSON.stringify(r);
    const n = count.get(k) ?? 0;
    if (n > 0) count.set(k, n - 1);
    else extra.push(`unexpected ${k}`);
  }
  const missing = [...count].filter(([, n]) => n > 0).map(([k]) => `missing ${k}`);
  return [...missing.slice(0, 5), ...extra.slice(0, 5)];
}

describeOnBrokers('replay', () => {
  describe('replay', () => {
    it('replays from a timestamp reproduce the windows they cover, twice; from earliest reproduces the run', async () => {
      const [a, earliest] = await Promise.all([runApp(named('run-a')), runApp(named('replay-earliest'), ['--from-offsets', 'earliest'])]);
      const [b, c] = await Promise.all([runApp(named('replay-b'), ['--from-timestamp', T]), runApp(named('replay-c'), ['--from-timestamp', T])]);

      const want = lastValues(a, true);
      expect(want.size, 'run A has output').toBeGreaterThan(5000);
      expect(Math.min(...a.map((r) => Number(r.window_start))), 'run A starts at the data').toBe(START);
      expect(diffMaps(want, lastValues(earliest, true)), '--from-offsets earliest vs run A').toEqual([]);
      // Each task reads its partition in order, so even the intermediate updates are the same.
      expect(rowDiff(a, earliest), '--from-offsets earliest vs run A, row for row').toEqual([]);

      // The replays started at T: nothing from well before it (records up to 30 s out of order may
      // open the hour before T), and far less than the whole run.
      for (const [name, rows] of [['B', b], ['C', c]] as const) {
        expect(Math.min(...rows.map((r) => Number(r.window_start))), `replay ${name} starts at ${T}`).toBeGreaterThanOrEqual(T_MS - 3_600_000);
        expect(from(rows, T_MS).length, `replay ${name} has output from ${T}`).toBeGreaterThan(1000);
        expect(rows.length, `replay ${name} skipped the hours before ${T}`).toBeLessThan(a.length * 0.7);
        expect(diffMaps(lastValues(from(a, T_MS), true), lastValues(from(rows, T_MS), true)), `replay ${name} vs run A from ${T}`).toEqual([]);
      }
      // The same replay twice: the same rows, including the partial windows before T.
      expect(b.length, 'replay B rows').toBe(c.length);
      expect(rowDiff(b, c), 'replay C vs replay B, row for row').toEqual([]);
      // Four workers, two at a time, each until 5 s idle: ~40 s alone, several times that while
      // the suite runs three files at a time beside a 3-broker cluster.
    }, 240_000);

    it('--reset-state is refused while a worker of the app runs, then starts the app over like a new app id', async () => {
      const app = named('reset-app');
      const changelog = `${app}.user_apply_1h.changelog`;
      const a = await runApp(app, [], 'out-1');
      const endBefore = await topicEnd(changelog);
      expect(endBefore, 'the first run wrote its changelog').toBeGreaterThan(100);

      // A worker of the app is in the group (it stays: no --exit-when-idle).
      const live = worker(app, 'out-live', []);
      await waitFor(async () => (await withAdmin((admin) => admin.groupState(app))) === 'Stable' || undefined, 30_000, () => `the live worker did not join: ${live.stderr().slice(-2000)}`, 200);
      const refused = worker(app, 'out-refused', ['--reset-state', '--exit-when-idle', '5s']);
      const r = await refused.exited;
      expect(r.code, refused.stderr()).toBe(1);
      expect(refused.stderr()).toMatch(new RegExp(`group '${app}' has active members .*Stop every worker of '${app}' first`, 's'));
      live.child.kill('SIGTERM');
      expect((await live.exited).code, live.stderr().slice(-2000)).toBe(0);

      // Same app id, same data dir, now reset: the commits and changelogs of the runs before are
      // gone, so the replay from T equals a fresh app's (with either left, nothing would be read
      // again or the hours from T would count twice).
      const resetStarted = Date.now();
      const reset = await runApp(app, ['--reset-state', '--from-timestamp', T], 'out-2');
      expect(Math.min(...reset.map((row) => Number(row.window_start))), 'the reset run starts at T').toBeGreaterThanOrEqual(T_MS - 3_600_000);
      expect(from(reset, T_MS).length).toBeGreaterThan(1000);
      expect(diffMaps(lastValues(from(a, T_MS), true), lastValues(from(reset, T_MS), true)), 'reset replay vs the first run from T').toEqual([]);
      const fresh = await runApp(named('reset-fresh'), ['--from-timestamp', T]);
      expect(rowDiff(fresh, reset), 'reset replay vs a new app id, row for row').toEqual([]);
      // The changelog was deleted and written again: every record in it was written by the reset
      // run (a changelog record's timestamp is its time of sending). Kept, it would still hold the
      // first run's records, written before the reset started. (Comparing its end offset with a
      // new app's was timing-dependent: more checkpoints on a loaded machine write more records.)
      const changelogRecords = await withClient(async (client) => {
        const rows: Array<{ partition: number; offset: bigint; timestamp: number }> = [];
        for (const o of await client.admin.listOffsets(changelog)) {
          if (o.latest === o.earliest) continue;
          for (const m of await readPartition(client, changelog, o.latest, { partition: o.partition, from: o.earliest, timeoutMs: 60_000 })) {
            rows.push({ partition: o.partition, offset: m.offset, timestamp: Number(m.timestamp) });
          }
        }
        return rows;
      });
      expect(changelogRecords.length, 'the reset run wrote a changelog').toBeGreaterThan(100);
      const older = changelogRecords.filter((r) => r.timestamp < resetStarted - 1_000);
      expect(older.slice(0, 3), `changelog records older than the reset (of ${changelogRecords.length})`).toEqual([]);
    }, 240_000);
  });
}, { setUp, tearDown });
