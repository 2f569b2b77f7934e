/**
 * A record a sink refuses for good goes to the dlq output with the reason and the source
 * position of the input that produced it, like any other bad record; processing goes on.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { compileTopology } from '../../src/topology/index.js';
import { connectorCatalog } from '../../src/connectors/registry.js';
import type { Sink } from '../../src/connectors/types.js';
import { Engine } from '../../src/runtime/engine.js';
import { silentLogger } from '../../src/core/logger.js';
import { partitionForKey } from '../../src/core/partitioner.js';
import type { Row } from '../../src/core/record.js';
import { keyToPartitionBytes } from '../../src/state/codec/key.js';
import { ManualSource, MemorySink } from '../../src/testing/memory.js';
import { RefusingSink } from '../helpers/refusing-sink.js';
import { stepRegistry } from '../../src/operators/registry.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');

const TOPOLOGY = `apiVersion: tributary/v1
kind: Topology
metadata: { name: sink-dlq }
spec:
  sources:
    events:
      file: { path: unused.jsonl }
      eventTime: { field: ts, maxOutOfOrderness: 0s }
  pipeline:
    - { id: shaped, from: events, map: { set: { cents: "amount * 100" } } }
    - { id: per_user, from: shaped, keyBy: user_id }
    - id: counts
      from: per_user
      window: { tumbling: 1m }
      aggregate: { n: count() }
      emit: final
  sinks:
    rows: { from: shaped, stdout: {} }
    totals: { from: counts, stdout: {} }
    dead: { from: dlq, stdout: {} }
    dead_copy: { from: dlq, stdout: {} }
`;

let engine: Engine | undefined;
let dir: string | undefined;
afterEach(async () => {
  await engine?.close({ checkpoint: false });
  engine = undefined;
  if (dir) await rm(dir, { recursive: true, force: true });
  dir = undefined;
});

async function open(sinks: Record<string, Sink>): Promise<{ engine: Engine; feed: (partition: number, offset: number, value: Row) => void }> {
  const plan = compileTopology(TOPOLOGY, join(process.cwd(), 'sink-dlq.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env: {} });
  dir = await mkdtemp(join(tmpdir(), 'tributary-sink-dlq-'));
  const opened = await Engine.open(plan, {
    dataDir: dir,
    logger: silentLogger,
    sources: new Map([['events', new ManualSource('events', 2)]]),
    sinks: new Map(Object.entries(sinks)),
    syncCheckpoints: false,
  });
  engine = opened;
  const src = opened.sources.find((s) => s.id === 'events')!;
  return {
    engine: opened,
    feed: (partition, offset, value) => opened.processRaw(src, partition, { offset, timestamp: 0, key: null, value }),
  };
}

describe('records a sink rejects for good', () => {
  it('reach the dlq with the source id, partition and offset of the input that produced them', async () => {
    const rows = new RefusingSink('rows', (row) => (row.user_id === 'mallory' ? 'value refused: mallory' : undefined));
    const dead = new MemorySink('dead');
    const { engine, feed } = await open({ rows, totals: new MemorySink('totals'), dead, dead_copy: new MemorySink('dead_copy') });
    feed(0, 40, { user_id: 'alice', amount: 1, ts: T0 });
    feed(1, 7, { user_id: 'mallory', amount: 2, ts: T0 + 1 });
    feed(0, 41, { user_id: 'mallory', amount: 3, ts: T0 + 2 });
    feed(1, 8, { user_id: 'bob', amount: 4, ts: T0 + 3 });
    // The base sink writes at flush: the checkpoint hands the rejections to the engine.
    await engine.checkpoint();

    expect(rows.rows.map((r) => r.user_id)).toEqual(['alice', 'bob']);
    expect(dead.records.map((r) => r.value)).toEqual([
      { reason: 'value refused: mallory', error_code: 'TRIB_SINK', step: 'rows', source: 'events', partition: 1, offset: 7, record: { user_id: 'mallory', amount: 2, ts: T0 + 1, cents: 200 } },
      { reason: 'value refused: mallory', error_code: 'TRIB_SINK', step: 'rows', source: 'events', partition: 0, offset: 41, record: { user_id: 'mallory', amount: 3, ts: T0 + 2, cents: 300 } },
    ]);
    expect(engine.counters.get('deadLettered')).toBe(2);

    // Processing goes on after the rejections.
    feed(0, 42, { user_id: 'carol', amount: 5, ts: T0 + 4 });
    await engine.checkpoint();
    expect(rows.rows.map((r) => r.user_id)).toEqual(['alice', 'bob', 'carol']);
    expect(dead.records).toHaveLength(2);
  });

  it('are durable in a batching dlq sink when the checkpoint that counts their input completes', async () => {
    // Rejections settle while `rows` flushes, after `dead` began its own flush: the checkpoint
    // must flush `dead` again, or a crash after it would lose the dead letter for good.
    const rows = new RefusingSink('rows', (row) => (row.user_id === 'mallory' ? 'value refused: mallory' : undefined));
    const dead = new RefusingSink('dead', () => undefined);
    const { engine, feed } = await open({ rows, totals: new MemorySink('totals'), dead, dead_copy: new MemorySink('dead_copy') });
    feed(1, 7, { user_id: 'mallory', amount: 2, ts: T0 });
    await engine.checkpoint();
    expect(dead.rows).toMatchObject([{ reason: 'value refused: mallory', step: 'rows', source: 'events', partition: 1, offset: 7 }]);
  });

  it('a window result a timer emitted names its step and task partition, and says it came from a timer', async () => {
    const totals = new RefusingSink('totals', (row) => (row.key === 'mallory' ? 'key refused' : undefined));
    const dead = new MemorySink('dead');
    const { engine, feed } = await open({ rows: new MemorySink('rows'), totals, dead, dead_copy: new MemorySink('dead_copy') });
    feed(1, 3, { user_id: 'mallory', amount: 1, ts: T0 });
    feed(0, 9, { user_id: 'alice', amount: 1, ts: T0 + 1 });
    engine.advanceWatermarkTo(T0 + MIN);
    await engine.checkpoint();

    expect(totals.rows.map((r) => [r.key, r.n])).toEqual([['alice', 1]]);
    expect(dead.records).toHaveLength(1);
    const task = partitionForKey(keyToPartitionBytes('mallory'), 2);
    expect(dead.records[0]!.value).toMatchObject({
      reason: 'key refused', error_code: 'TRIB_SINK', step: 'totals',
      source: 'counts', partition: task, offset: -1, emitted_by: 'timer',
      record: { key: 'mallory', n: 1, window_start: T0 },
    });
    expect(dead.records[0]!.value).not.toHaveProperty('topic');
  });

  it('a dead letter one dlq sink refuses goes to the other dlq sinks with the same position', async () => {
    const dead = new RefusingSink('dead', (row) => (row.step === 'shaped' ? 'dlq refused' : undefined));
    const copy = new MemorySink('dead_copy');
    const { engine, feed } = await open({ rows: new MemorySink('rows'), totals: new MemorySink('totals'), dead, dead_copy: copy });
    feed(1, 12, { user_id: 'eve', amount: 'lots', ts: T0 });
    await engine.checkpoint();

    const operatorRow: Row = {
      reason: "map of step 'shaped' failed: '*' needs numbers, got string \"lots\" and number 100 in `amount * 100`",
      error_code: 'TRIB_EXPRESSION_RUNTIME',
      step: 'shaped', source: 'events', partition: 1, offset: 12,
      record: { user_id: 'eve', amount: 'lots', ts: T0 },
    };
    expect(copy.records.map((r) => r.value)).toEqual([
      operatorRow,
      { reason: 'dlq refused', error_code: 'TRIB_SINK', step: 'dead', source: 'events', partition: 1, offset: 12, record: operatorRow },
    ]);
  });
});
