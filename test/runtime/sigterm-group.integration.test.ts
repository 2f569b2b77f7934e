/**
 * Issue 4 acceptance, against the dev broker: SIGTERM to a worker of a consumer group while it
 * processes. It must finish in-flight records, checkpoint, leave the group (the member is gone
 * at once, not after its session timeout) and exit 0; a restart on the same disk starts its
 * tasks at once from local state, and across both runs every input reaches the output exactly
 * once and the window state counts every input exactly once.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import { describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/broker.js';
import { describeOnBrokers, type KafkaUnderTest } from '../helpers/kafka.js';
import { createTopic, diffMaps, finalValues, produceRows, readRows, startWorker, type Row, type Worker } from '../helpers/fleet.js';

const TOPIC = uniqueName('applications');
// Unique: on real Kafka one cluster serves every file of the run.
const APP = uniqueName('graceful');
const REFERENCE = uniqueName('reference');
const PARTITIONS = 4;
const RECORDS = 40_000;
const USERS = 400;
const DAY0 = Date.parse('2026-11-01T00:00:00Z');

// A long session timeout: a member that did not leave would still be listed for 60 s.
const yaml = `apiVersion: tributary/v1
kind: Topology
metadata: { name: graceful }
spec:
  checkpoint: { interval: 30s }
  sources:
    applications:
      kafka: { brokers: "\${KAFKA_BROKERS}", topic: "\${TRIBUTARY_TOPIC}", partitionKey: user_id, sessionTimeout: 60s }
      eventTime: { field: ts, maxOutOfOrderness: 1s }
  pipeline:
    - { id: per_user, from: applications, keyBy: user_id }
    - id: user_hour
      from: per_user
      window: { tumbling: 1h }
      aggregate: { cnt: count(), amt: sum(amount) }
  sinks:
    out: { from: user_hour, file: { path: "\${TRIBUTARY_OUT}/user_hour.jsonl" } }
    raw: { from: per_user, file: { path: "\${TRIBUTARY_OUT}/raw.jsonl" } }
`;

let broker: KafkaUnderTest;
let dir: string;
let topology: string;
const started: Worker[] = [];

function inputRows(): Array<{ partition: number; key: string; value: Row }> {
  return Array.from({ length: RECORDS }, (_, seq) => {
    const u = (seq * 7919) % USERS;
    return { partition: u % PARTITIONS, key: `u${u}`, value: { seq, user_id: `u${u}`, amount: 100 + (seq % 977), ts: DAY0 + seq * 1000 } };
  });
}

/** Final count and sum per user and hour, computed from the input (as finalValues keys them). */
function expectedWindows(): Map<string, string> {
  const acc = new Map<string, { cnt: number; amt: number }>();
  for (const { value } of inputRows()) {
    const start = Math.floor((Number(value.ts) - DAY0) / 3_600_000) * 3_600_000 + DAY0;
    const id = JSON.stringify([value.user_id, start, start + 3_600_000]);
    const a = acc.get(id) ?? { cnt: 0, amt: 0 };
    a.cnt++;
    a.amt += Number(value.amount);
    acc.set(id, a);
  }
  return new Map([...acc].map(([id, a]) => [id, JSON.stringify({ emit: 'update', cnt: a.cnt, amt: a.amt })]));
}

/** Per broker under test: a fresh output dir, the input topic and its records. */
async function setUp(kafka: KafkaUnderTest): Promise<void> {
  broker = kafka;
  dir = await mkdtemp(join(tmpdir(), 'tributary-sigterm-group-'));
  topology = join(dir, 'graceful.yaml');
  await writeFile(topology, yaml);
  await createTopic(broker.brokers, TOPIC, PARTITIONS);
  const rows = inputRows();
  for (let i = 0; i < rows.length; i += 10_000) await produceRows(broker.brokers, TOPIC, rows.slice(i, i + 10_000), 'ts');
}

async function tearDown(): Promise<void> {
  for (const w of started) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  if (dir && !process.env.FLEET_KEEP) await rm(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`sigterm-group: outputs kept in ${dir}\n`);
}

function worker(app: string, name: string, extra: string[] = []): Worker {
  const w = startWorker([topology, '--app-id', app, '--data-dir', join(dir, app, 'state'), '--quiet', ...extra], {
    KAFKA_BROKERS: broker.brokers.join(','),
    TRIBUTARY_TOPIC: TOPIC,
    TRIBUTARY_OUT: join(dir, app, name),
  });
  started.push(w);
  return w;
}

/** The group's state as Kafka names it ('Empty': commits kept, no members). */
async function groupState(group: string): Promise<string> {
  const client = await createKafkaClient({ brokers: broker.brokers, clientId: 'sigterm-test' });
  try {
    return await client.admin.groupState(group);
  } finally {
    await client.disconnect();
  }
}

describeOnBrokers('SIGTERM in a group', () => {
  describe('SIGTERM in a consumer group', () => {
    it('exits 0 and leaves the group; the restart resumes from local state with nothing lost or applied twice', async () => {
      const first = worker(APP, 'run1');
      const raw1 = join(dir, APP, 'run1', 'raw.jsonl');
      const deadline = Date.now() + 60_000;
      while ((await readRows(raw1)).length < 2_000 && first.child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      expect(first.child.exitCode, 'still running when signalled').toBeNull();
      first.child.kill('SIGTERM');
      const r1 = await first.exited;
      expect(r1.code, `first run exit; stderr tail:\n${first.stderr().slice(-3000)}`).toBe(0);
      // Empty: no members left (Kafka's name for a group with commits and no member).
      expect(await groupState(APP), 'the member left the group on the way out').toBe('Empty');

      const rows1 = await readRows(raw1);
      expect(rows1.length, 'the first run stopped mid-stream').toBeLessThan(RECORDS);

      const second = worker(APP, 'run2', ['--exit-when-idle', '3s']);
      const r2 = await second.exited;
      expect(r2.code, `second run exit; stderr tail:\n${second.stderr().slice(-3000)}`).toBe(0);
      // The graceful stop committed the checkpoint it wrote: every task starts from local state.
      expect(second.stderr().match(/task state is current: starting at once/g)?.length, second.stderr().slice(-3000)).toBe(PARTITIONS);
      expect(second.stderr()).not.toMatch(/restored task state from changelog/);

      // Every input reached the output exactly once across both runs.
      const seqs = [...rows1, ...(await readRows(join(dir, APP, 'run2', 'raw.jsonl')))].map((r) => Number(r.seq));
      const seen = new Map<number, number>();
      for (const s of seqs) seen.set(s, (seen.get(s) ?? 0) + 1);
      const twice = [...seen].filter(([, n]) => n > 1).map(([s]) => s);
      const missing = Array.from({ length: RECORDS }, (_, s) => s).filter((s) => !seen.has(s));
      expect({ twice: twice.slice(0, 5), missing: missing.slice(0, 5) }).toEqual({ twice: [], missing: [] });

      // The window state counted every input once: final counts equal one uninterrupted run.
      const ref = worker(REFERENCE, 'out', ['--exit-when-idle', '3s']);
      const rr = await ref.exited;
      expect(rr.code, ref.stderr().slice(-3000)).toBe(0);
      const want = finalValues(await readRows(join(dir, REFERENCE, 'out', 'user_hour.jsonl')), 'cnt');
      const got = finalValues([...(await readRows(join(dir, APP, 'run1', 'user_hour.jsonl'))), ...(await readRows(join(dir, APP, 'run2', 'user_hour.jsonl')))], 'cnt');
      expect(want.size).toBeGreaterThan(USERS);
      // The reference itself counted every input: users sit on partition u % 4, not where murmur2
      // of the key would put them, and a keyBy on the partition key must still keep each record in
      // its own task (a record routed to another task was judged by that task's watermark).
      expect(diffMaps(expectedWindows(), want)).toEqual([]);
      expect(diffMaps(want, got)).toEqual([]);
    }, 180_000);
  });
}, { setUp, tearDown });
