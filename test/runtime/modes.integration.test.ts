/**
 * One execution model: the same topology — out-of-order and late data, a keyBy on a key the input
 * is not partitioned by, tumbling, hopping and session windows — gives identical window results
 * and late rows, row for row, in local mode (a file), in Kafka mode (the dev broker, through the
 * repartition topic) and through the TopologyTestDriver.
 *
 * One input partition: with several, which upstream task's records reach a repartition reader
 * first decides what is late there (in Flink and Kafka Streams alike), so no run could be compared
 * row for row with another. The seed is printed on failure (TEST_SEED repeats a run).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { stepRegistry } from '../../src/operators/registry.js';
import type { Sink } from '../../src/connectors/types.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Row as CoreRow } from '../../src/core/record.js';
import { Engine } from '../../src/runtime/engine.js';
import { runEngine } from '../../src/runtime/runner.js';
import { MemorySink, TopologyTestDriver } from '../../src/testing/index.js';
import { compileTopology } from '../../src/topology/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { createTopic, produceRows, type Row } from '../helpers/fleet.js';
import { makeRng } from '../state/random.js';

const T0 = Date.parse('2026-11-01T08:00:00Z');
const S = 1000;
const TOPIC = 'modes-events';
const OUTPUTS = ['tumbling', 'hopping', 'session', 'tumbling.late', 'hopping.late', 'session.late'] as const;

const topology = (source: string): string => `apiVersion: tributary/v1
kind: Topology
metadata: { name: modes }
spec:
  checkpoint: { interval: 1s }
  sources:
    events:
${source}
      eventTime: { field: ts, maxOutOfOrderness: 20s, idleTimeout: 1h }
  pipeline:
    - { id: valid, from: events, filter: "amount > 0" }
    - { id: per_user, from: valid, keyBy: user }
    - id: tumbling
      from: per_user
      window: { tumbling: 1m }
      aggregate: { n: count(), total: sum(amount) }
      emit: final
    - id: hopping
      from: per_user
      window: { hopping: { size: 2m, slide: 1m } }
      aggregate: { n: count(), hi: max(amount) }
      emit: final
      allowedLateness: 10s
    - id: session
      from: per_user
      window: { session: { gap: 45s } }
      aggregate: { n: count(), first: first(id) }
      emit: final
  sinks:
${OUTPUTS.map((o) => `    ${o.replace('.', '_')}: { from: ${o}, stdout: {} }`).join('\n')}
`;

/** ~25 min of events for 12 users: jitter inside maxOutOfOrderness, a few records minutes late, a sentinel a day later that closes every window. */
function makeEvents(seed: number): Row[] {
  const rng = makeRng(seed);
  const rows: Row[] = [];
  let t = T0;
  for (let i = 0; i < 900; i++) {
    t += rng.int(0, 3 * S);
    let ts = t - rng.int(0, 15 * S);
    if (rng.next() < 0.04) ts = t - rng.int(2 * 60 * S, 6 * 60 * S);
    rows.push({ id: `e${i}`, user: `u${rng.int(0, 11)}`, amount: rng.next() < 0.03 ? 0 : rng.int(1, 500), ts });
  }
  rows.push({ id: 'sentinel', user: 'u0', amount: 1, ts: t + 24 * 3600 * S });
  return rows;
}

type Results = Record<(typeof OUTPUTS)[number], string[]>;

/** Each output as sorted JSON lines (emission order may differ between modes; content may not). */
function normalise(get: (output: string) => Row[]): Results {
  const out = {} as Results;
  for (const o of OUTPUTS) {
    out[o] = get(o).map((r) => {
      // A late row says which watermark refused it: that depends on when markers arrive, not on the data.
      const { watermark: _w, topic: _t, source: _s, partition: _p, offset: _o, ...rest } = r;
      return JSON.stringify(rest, Object.keys(rest).sort());
    }).sort();
  }
  return out;
}

async function runEngineOn(plan: ReturnType<typeof compileTopology>, dataDir: string, exitWhenIdleMs?: number): Promise<Results> {
  const sinks = new Map<string, Sink>();
  const memory = new Map<string, MemorySink>();
  for (const s of plan.sinks) {
    const m = new MemorySink(s.id);
    sinks.set(s.id, m);
    memory.set(s.from, m);
  }
  const engine = await Engine.open(plan, { dataDir, logger: silentLogger, sinks, syncCheckpoints: false });
  try {
    await runEngine(engine, exitWhenIdleMs === undefined ? {} : { exitWhenIdleMs });
  } finally {
    await engine.close();
  }
  return normalise((o) => memory.get(o)!.records.map((r) => r.value));
}

const seed = Number(process.env.TEST_SEED ?? Date.now() % 1_000_000);
let dir: string;
let broker: TestBroker;
const events = makeEvents(seed);

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-modes-'));
  broker = await startTestBroker();
});
afterAll(async () => {
  await broker?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe(`one execution model (seed ${seed})`, () => {
  it('local mode, Kafka mode and the TopologyTestDriver give identical window results and late rows', async () => {
    const input = join(dir, 'events.jsonl');
    await writeFile(input, events.map((e) => JSON.stringify(e)).join('\n') + '\n');

    const local = await runEngineOn(compileTopology(topology(`      file: { path: ${JSON.stringify(input)} }`), join(dir, 'local.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env: {} }), join(dir, 'local'));

    await createTopic(broker.brokers, TOPIC, 1);
    await produceRows(broker.brokers, TOPIC, events.map((e) => ({ partition: 0, key: String(e.id), value: e })), 'ts');
    const kafkaPlan = compileTopology(topology(`      kafka: { brokers: "${broker.brokers.join(',')}", topic: ${TOPIC}, partitionKey: id, sessionTimeout: 4s }`), join(dir, 'kafka.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    expect(kafkaPlan.steps.find((s) => s.id === 'per_user')).toMatchObject({ kind: 'keyBy', repartition: true });
    const kafka = await runEngineOn(kafkaPlan, join(dir, 'kafka'), 4000);

    const driver = await TopologyTestDriver.fromText(topology('      file: { path: unused.jsonl }'));
    let viaDriver: Results;
    try {
      for (const e of events) driver.pipe('events', e as CoreRow);
      viaDriver = normalise((o) => driver.stepOutput(o));
    } finally {
      await driver.close();
    }

    const total = (r: Results): number => OUTPUTS.reduce((n, o) => n + r[o].length, 0);
    expect(local.tumbling.length, 'windows were emitted').toBeGreaterThan(50);
    expect(local['tumbling.late'].length + local['hopping.late'].length, 'late rows were produced').toBeGreaterThan(5);
    for (const o of OUTPUTS) {
      expect(kafka[o], `Kafka mode, ${o} (seed ${seed})`).toEqual(local[o]);
      expect(viaDriver![o], `TopologyTestDriver, ${o} (seed ${seed})`).toEqual(local[o]);
    }
    expect(total(kafka)).toBe(total(local));
  }, 120_000);
});
