/**
 * A changelog can end with records of a checkpoint that never counted: the owner wrote its state
 * changes, then died (or had its commit refused) before the group commit. The next owner restores
 * only up to the committed end, but those records stay in the topic ahead of its fence, where a
 * later restore would apply them. The next owner must overwrite them (KafkaTasks.overwriteTail).
 *
 * Deterministic version of that race, against the dev broker: worker A runs and commits; the test
 * appends such a tail (tombstones for every state entry, tagged with A's generation); worker B
 * takes the tasks over on a fresh disk; worker C takes them over again on a fresh disk and reads
 * more input. C's windows must equal one worker that read all the input.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { ConsumedMessage } from '../../src/kafka/client.js';
import { uniqueName } from '../helpers/broker.js';
import { describeOnBrokers, type KafkaUnderTest } from '../helpers/kafka.js';
import { createTopic, diffMaps, finalValues, produceRows, readRows, startWorker, type Row, type Worker } from '../helpers/fleet.js';

const TOPIC = uniqueName('applications');
// Unique: on real Kafka one cluster serves every file of the run.
const APP = uniqueName('tail');
const REFERENCE = uniqueName('reference');
const STEP = 'user_day';
const PARTITIONS = 2;
const DAY0 = Date.parse('2026-11-01T00:00:00Z');

const yaml = `apiVersion: tributary/v1
kind: Topology
metadata: { name: tail }
spec:
  checkpoint: { interval: 1s }
  sources:
    applications:
      kafka: { brokers: "\${KAFKA_BROKERS}", topic: "\${TRIBUTARY_TOPIC}", partitionKey: user_id, sessionTimeout: 10s }
      eventTime: { field: ts, maxOutOfOrderness: 1s }
  pipeline:
    - { id: per_user, from: applications, keyBy: user_id }
    - id: ${STEP}
      from: per_user
      window: { tumbling: 1d }
      aggregate: { cnt: count(), amt: sum(amount) }
  sinks:
    out: { from: ${STEP}, file: { path: "\${TRIBUTARY_OUT}/out.jsonl" } }
`;

let broker: KafkaUnderTest;
let dir: string;
let topology: string;
const started: Worker[] = [];

/** Per broker under test: a fresh output dir, the input topic and its records. */
async function setUp(kafka: KafkaUnderTest): Promise<void> {
  broker = kafka;
  dir = await mkdtemp(join(tmpdir(), 'tributary-tail-'));
  topology = join(dir, 'tail.yaml');
  await writeFile(topology, yaml);
  await createTopic(broker.brokers, TOPIC, PARTITIONS);
}

async function tearDown(): Promise<void> {
  for (const w of started) if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** `n` applications of 20 users, one per minute from `from`; user i always on partition i % 2. */
function applications(n: number, from: number, seed: number): Array<{ partition: number; key: string; value: Row }> {
  return Array.from({ length: n }, (_, i) => {
    const u = (i * 7 + seed) % 20;
    return { partition: u % PARTITIONS, key: `u${u}`, value: { user_id: `u${u}`, amount: 100 + ((i * 37 + seed) % 900), ts: from + i * 60_000 } };
  });
}

async function run(app: string, name: string): Promise<{ rows: Row[]; stderr: string }> {
  const w = startWorker([topology, '--app-id', app, '--data-dir', join(dir, name, 'state'), '--quiet', '--exit-when-idle', '3s'], {
    KAFKA_BROKERS: broker.brokers.join(','),
    TRIBUTARY_TOPIC: TOPIC,
    TRIBUTARY_OUT: join(dir, name, 'out'),
  });
  started.push(w);
  const r = await w.exited;
  expect(r.code, `${name} exit; stderr tail:\n${w.stderr().slice(-3000)}`).toBe(0);
  return { rows: await readRows(join(dir, name, 'out', 'out.jsonl')), stderr: w.stderr() };
}

/** Every record of the step's changelog, per partition, in offset order. */
async function readChangelog(): Promise<ConsumedMessage[][]> {
  const client = await createKafkaClient({ brokers: broker.brokers, clientId: 'tail-test' });
  await client.connect();
  try {
    const topic = `${APP}.${STEP}.changelog`;
    const ends = await client.admin.listOffsets(topic);
    const consumer = await client.assignedConsumer();
    try {
      const out: ConsumedMessage[][] = [];
      for (let p = 0; p < PARTITIONS; p++) {
        const end = ends.find((o) => o.partition === p)?.latest ?? 0n;
        const got: ConsumedMessage[] = [];
        await consumer.assign([{ topic, partition: p, offset: 0n }]);
        const deadline = Date.now() + 15_000;
        while ((got.at(-1)?.offset ?? -1n) < end - 1n && Date.now() < deadline) got.push(...(await consumer.fetch({ maxWaitMs: 200 })).filter((m) => m.partition === p));
        expect(got.at(-1)?.offset, `changelog partition ${p} read to its end`).toBe(end - 1n);
        out.push(got);
      }
      return out;
    } finally {
      await consumer.close();
    }
  } finally {
    await client.disconnect();
  }
}

/** Appends what a dead owner's uncounted checkpoint could leave: a tombstone per state entry, in the latest generation. */
async function appendUncountedTail(changelog: ConsumedMessage[][]): Promise<number> {
  const client = await createKafkaClient({ brokers: broker.brokers, clientId: 'tail-test' });
  await client.connect();
  let written = 0;
  try {
    const producer = await client.producer();
    for (const [p, records] of changelog.entries()) {
      const gen = records.at(-1)!.headers['trib-gen']!;
      const keys = new Map<string, Buffer>();
      for (const m of records) if (m.key && m.key[0] !== 0x00 && m.value !== null) keys.set(m.key.toString('hex'), m.key);
      const messages = [...keys.values()].map((key) => ({ partition: p, key, value: null, headers: { 'trib-gen': gen, 'trib-pos': Buffer.from('{}') } }));
      if (messages.length > 0) await producer.send(`${APP}.${STEP}.changelog`, messages, { acks: 'all' });
      written += messages.length;
    }
  } finally {
    await client.disconnect();
  }
  return written;
}

describeOnBrokers('changelog tail', () => {
  describe('changelog records of a checkpoint that never counted', () => {
    it('are overwritten by the next owner, so a later restore does not apply them', async () => {
      const first = applications(200, DAY0, 1);
      const second = applications(100, DAY0 + 200 * 60_000, 3);
      await produceRows(broker.brokers, TOPIC, first, 'ts');

      await run(APP, 'a');
      const tail = await appendUncountedTail(await readChangelog());
      expect(tail, 'state entries to tombstone').toBeGreaterThan(10);

      // B restores up to A's committed end, which the tail lies beyond, and must overwrite the tail.
      const b = await run(APP, 'b');
      expect(b.stderr).toContain('overwrote changelog records of a checkpoint that never counted');

      // C restores everything B's commit covers (tail included), then reads the second batch.
      await produceRows(broker.brokers, TOPIC, second, 'ts');
      const c = await run(APP, 'c');
      const ref = await run(REFERENCE, 'ref');

      const want = finalValues(ref.rows, 'cnt');
      const got = finalValues(c.rows, 'cnt');
      const touched = new Set(second.map((r) => r.key));
      const wantTouched = new Map([...want].filter(([k]) => touched.has(JSON.parse(k)[0] as string)));
      expect(wantTouched.size).toBeGreaterThan(0);
      expect(diffMaps(wantTouched, got)).toEqual([]);
    }, 120_000);
  });
}, { setUp, tearDown });
