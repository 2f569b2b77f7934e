/**
 * A Task with several co-partitioned inputs (what stream-table joins need): it reads partition p
 * of each, keeps each input's position, holds its watermark at the min over its active inputs,
 * and forgets them all on close.
 */
import { describe, expect, it } from 'vitest';
import type { PlannedSource } from '../../src/topology/plan.js';
import type { StreamRecord } from '../../src/core/record.js';
import type { Graph } from '../../src/runtime/graph.js';
import type { StateBackend } from '../../src/state/backend.js';
import { Counters } from '../../src/runtime/counters.js';
import { SourceRuntime } from '../../src/runtime/source-runtime.js';
import { Task, type TaskHost } from '../../src/runtime/task.js';
import { TaskWatermarks } from '../../src/runtime/watermarks.js';
import { ManualSource } from '../../src/testing/memory.js';

const planned = (id: string, maxOutOfOrdernessMs: number): PlannedSource => ({
  id,
  connector: 'memory',
  config: {},
  format: 'json',
  eventTime: { field: 'ts', maxOutOfOrdernessMs, idleTimeoutMs: 60_000 },
  location: { file: 'test.yaml', line: 1, col: 1, path: '' },
});

function twoInputTask(partition: number) {
  const orders = new SourceRuntime(planned('orders', 1_000), new ManualSource('orders', 4));
  const users = new SourceRuntime(planned('users', 0), new ManualSource('users', 4));
  const graph: Graph = {
    nodes: [
      { id: 'orders', stateful: false, subTopology: 0, children: [], sinks: [], lateChildren: [], lateSinks: [], instances: [] },
      { id: 'users', stateful: false, subTopology: 0, children: [], sinks: [], lateChildren: [], lateSinks: [], instances: [] },
    ],
    byId: new Map([['orders', 0], ['users', 1]]),
    dlqSinks: [],
    subTopologies: [{ index: 0, downstream: [], stateful: [], source: 'orders' }],
  };
  orders.nodeIndex = 0;
  users.nodeIndex = 1;
  const seen: Array<{ partition: number; record: StreamRecord }> = [];
  const dead: string[] = [];
  let task!: Task;
  const marks = new TaskWatermarks(graph.subTopologies, 4, {
    source: (_sub, _p, now, ended) => task.sourceProgress(now, ended),
    advanced: () => {},
  });
  const host: TaskHost = {
    graph,
    state: {} as StateBackend,
    marks,
    counters: new Counters(),
    operatorContext: () => {
      throw new Error('no operators in this test');
    },
    fanOut: (_children, _sinks, record, p) => seen.push({ partition: p, record }),
    deadLetter: (_step, _record, reason) => dead.push(reason),
  };
  task = new Task(0, partition, [orders, users], host);
  return { task, orders, users, seen, dead, marks };
}

describe('Task with co-partitioned inputs', () => {
  it('processes partition p of every input, keeps each position, and snapshots them', async () => {
    const { task, orders, users, seen } = twoInputTask(2);
    await task.open(null);
    const now = Date.now();
    task.process(orders, { offset: 7, timestamp: 0, key: null, value: JSON.stringify({ ts: 10_000, id: 'o1' }) }, now);
    task.process(users, { offset: 3, timestamp: 0, key: null, value: JSON.stringify({ ts: 5_000, id: 'u1' }) }, now);
    task.process(orders, { offset: 8, timestamp: 0, key: null, value: JSON.stringify({ ts: 12_000, id: 'o2' }) }, now);
    expect(seen.map((s) => [s.partition, s.record.value.id, s.record.origin?.source])).toEqual([
      [2, 'o1', 'orders'],
      [2, 'u1', 'users'],
      [2, 'o2', 'orders'],
    ]);
    const snap = task.prepareCommit();
    expect(snap.partition).toBe(2);
    expect(snap.positions).toEqual({ orders: { position: 9, maxTime: 12_000 }, users: { position: 4, maxTime: 5_000 } });
    // The watermark is the min over the inputs: orders allows 12s − 1s, users 5s − 0.
    expect(snap.watermark).toBe(5_000);
  });

  it('is held back by an input that has not started yet, until that input has seen a record', async () => {
    const { task, orders, users, marks } = twoInputTask(0);
    await task.open(null);
    const now = Date.now();
    users.touch(0, now);
    task.process(orders, { offset: 0, timestamp: 0, key: null, value: JSON.stringify({ ts: 20_000 }) }, now);
    expect(marks.of(0, 0)).toBe(-Infinity);
    task.process(users, { offset: 0, timestamp: 0, key: null, value: JSON.stringify({ ts: 30_000 }) }, now);
    expect(marks.of(0, 0)).toBe(19_000);
    // Once the inputs have ended, each stands at its furthest event time: the min of those.
    expect(task.sourceProgress(now, true)).toEqual({ watermark: 20_000, idle: false });
  });

  it('dead-letters a bad record of either input, and forgets every input position on close', async () => {
    const { task, orders, users, dead } = twoInputTask(1);
    await task.open(null);
    task.process(users, { offset: 0, timestamp: 0, key: null, value: '{not json' }, Date.now());
    expect(dead).toHaveLength(1);
    expect(task.prepareCommit().positions).toEqual({ users: { position: 1, maxTime: -Infinity } });
    await task.close();
    expect(orders.progress()).toEqual({});
    expect(users.progress()).toEqual({});
    expect(task.isOpen).toBe(false);
  });
});
