import { afterEach, describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { TopologyTestDriver } from '../../src/testing/index.js';

const MIN = 60_000;
const T0 = Date.parse('2026-11-01T00:00:00Z');

const header = (name: string, eventTime = '{ field: ts, maxOutOfOrderness: 0s }') => `apiVersion: tributary/v1
kind: Topology
metadata: { name: ${name} }
spec:
  sources:
    events:
      file: { path: unused.jsonl }
      eventTime: ${eventTime}
`;

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

describe('TopologyTestDriver', () => {
  it('filters, maps, keys and counts in a tumbling window, emitting final on watermark', async () => {
    driver = await TopologyTestDriver.fromText(`${header('t1')}  pipeline:
    - id: valid
      from: events
      filter: "amount > 0"
    - id: shaped
      from: valid
      map: { set: { yuan: "amount / 100" }, rename: { uid: user_id }, drop: [junk] }
    - id: per_user
      from: shaped
      keyBy: user_id
    - id: counts
      from: per_user
      window: { tumbling: 1m }
      aggregate: { n: count(), yuan: sum(yuan) }
      emit: final
  sinks:
    out: { from: counts, stdout: {} }
`);
    driver.pipe('events', { uid: 'a', amount: 100, ts: T0 + 1000, junk: 1 });
    driver.pipe('events', { uid: 'a', amount: -5, ts: T0 + 2000 });
    driver.pipe('events', { uid: 'a', amount: 300, ts: T0 + 3000 });
    driver.pipe('events', { uid: 'b', amount: 50, ts: T0 + 4000 });
    expect(driver.stepOutput('shaped')[0]).toEqual({ user_id: 'a', amount: 100, ts: T0 + 1000, yuan: 1 });
    expect(driver.output('out')).toEqual([]);
    driver.pipe('events', { uid: 'a', amount: 100, ts: T0 + MIN + 1 });
    const out = driver.output('out');
    expect(out.map((r) => [r.key, r.n, r.yuan, r.window_start, r.emit])).toEqual(
      expect.arrayContaining([
        ['a', 2, 4, T0, 'final'],
        ['b', 1, 0.5, T0, 'final'],
      ]),
    );
    expect(out).toHaveLength(2);
  });

  it('rolling windows decrease without new events when slices expire', async () => {
    driver = await TopologyTestDriver.fromText(`${header('t2')}  pipeline:
    - id: per_user
      from: events
      keyBy: user_id
    - id: rolling
      from: per_user
      window: { rolling: 10m, resolution: 1m }
      aggregate: { n: count(), amt: sum(amount) }
  sinks:
    out: { from: rolling, stdout: {} }
`);
    driver.pipe('events', { user_id: 'u', amount: 10, ts: T0 });
    driver.pipe('events', { user_id: 'u', amount: 20, ts: T0 + 5 * MIN });
    expect(driver.output('out').map((r) => [r.n, r.amt, r.emit])).toEqual([[1, 10, 'update'], [2, 30, 'update']]);
    driver.advanceWatermark(T0 + 10 * MIN);
    driver.advanceWatermark(T0 + 16 * MIN);
    const rows = driver.output('out').map((r) => [r.n, r.amt, r.emit]);
    expect(rows.slice(2)).toEqual([[1, 20, 'expire'], [0, 0, 'expire']]);
  });

  it('dead-letters bad records with reason and position, and keeps going', async () => {
    driver = await TopologyTestDriver.fromText(`${header('t3')}  pipeline:
    - id: per_user
      from: events
      keyBy: user_id
    - id: sums
      from: per_user
      window: { tumbling: 1m }
      aggregate: { amt: sum(amount) }
  sinks:
    out: { from: sums, stdout: {} }
    dead: { from: dlq, stdout: {} }
`);
    driver.pipe('events', '{"user_id": "a", "amount": 1, "ts": ' + T0 + '}');
    driver.pipe('events', '{"user_id": "a", "amo');
    driver.pipe('events', { user_id: 'a', amount: 2 });
    driver.pipe('events', { user_id: null, amount: 2, ts: T0 });
    driver.pipe('events', { user_id: 'a', amount: 'lots', ts: T0 });
    driver.pipe('events', { user_id: 'a', amount: 5, ts: T0 + 1 });
    const dead = driver.output('dead');
    expect(dead).toHaveLength(4);
    expect(dead[0]).toMatchObject({ source: 'events', partition: 0, offset: 1, step: 'events' });
    expect(String(dead[0]!.reason)).toMatch(/decode json/);
    expect(String(dead[1]!.reason)).toMatch(/event time field 'ts' is missing/);
    expect(dead[1]!.offset).toBe(2);
    expect(String(dead[2]!.reason)).toMatch(/null key/);
    expect(dead[3]!.offset).toBe(4);
    expect(driver.output('out').map((r) => r.amt)).toEqual([1, 6]);
    expect(driver.counter('deadLettered')).toBe(4);
  });

  it('sends late records to <step>.late with the reason', async () => {
    driver = await TopologyTestDriver.fromText(`${header('t4')}  pipeline:
    - id: per_user
      from: events
      keyBy: user_id
    - id: counts
      from: per_user
      window: { tumbling: 1m }
      aggregate: { n: count() }
      allowedLateness: 30s
  sinks:
    out: { from: counts, stdout: {} }
    late: { from: counts.late, stdout: {} }
`);
    driver.pipe('events', { user_id: 'a', ts: T0 + 10_000 });
    driver.pipe('events', { user_id: 'a', ts: T0 + 2 * MIN });
    driver.pipe('events', { user_id: 'a', ts: T0 + 20_000 });
    expect(driver.output('late')).toHaveLength(1);
    expect(driver.output('late')[0]).toMatchObject({ step: 'counts', offset: 2, event_time: T0 + 20_000 });
    driver.pipe('events', { user_id: 'a', ts: T0 + MIN + 45_000 });
    expect(driver.output('late')).toHaveLength(1);
    expect(driver.counter('late')).toBe(1);
  });

  it('dedupes by id within a span', async () => {
    driver = await TopologyTestDriver.fromText(`${header('t5')}  pipeline:
    - id: per_user
      from: events
      keyBy: user_id
    - id: unique
      from: per_user
      dedupe: { within: 10m, by: event_id }
  sinks:
    out: { from: unique, stdout: {} }
`);
    driver.pipe('events', { user_id: 'a', event_id: 'e1', ts: T0 });
    driver.pipe('events', { user_id: 'a', event_id: 'e1', ts: T0 + MIN });
    driver.pipe('events', { user_id: 'b', event_id: 'e1', ts: T0 + MIN });
    driver.pipe('events', { user_id: 'a', event_id: 'e2', ts: T0 + 2 * MIN });
    driver.pipe('events', { user_id: 'a', event_id: 'e1', ts: T0 + 11 * MIN });
    expect(driver.output('out').map((r) => [r.user_id, r.event_id, r.ts])).toEqual([
      ['a', 'e1', T0],
      ['b', 'e1', T0 + MIN],
      ['a', 'e2', T0 + 2 * MIN],
      ['a', 'e1', T0 + 11 * MIN],
    ]);
    expect(driver.counter('duplicates')).toBe(1);
  });

  it('explodes arrays into one record per element', async () => {
    driver = await TopologyTestDriver.fromText(`${header('t6')}  pipeline:
    - id: contacts
      from: events
      explode: contact_phones
      as: contact_phone
  sinks:
    out: { from: contacts, stdout: {} }
`);
    driver.pipe('events', { user_id: 'a', contact_phones: ['1', '2'], ts: T0 });
    driver.pipe('events', { user_id: 'b', contact_phones: null, ts: T0 });
    expect(driver.output('out').map((r) => [r.user_id, r.contact_phone])).toEqual([['a', '1'], ['a', '2']]);
  });

  it('runs a typed user operator with per-key state; an exception dead-letters only that record', async () => {
    const op = join(import.meta.dirname, 'fixtures', 'score-op.ts');
    driver = await TopologyTestDriver.fromText(`${header('t7')}  pipeline:
    - id: per_user
      from: events
      keyBy: user_id
    - id: score
      from: per_user
      code: ${op}
      options: { threshold: 2 }
  sinks:
    out: { from: score, stdout: {} }
`);
    driver.pipe('events', { user_id: 'a', ts: T0 });
    driver.pipe('events', { user_id: 'a', ts: T0 + 1, poison: true });
    driver.pipe('events', { user_id: 'a', ts: T0 + 2 });
    driver.pipe('events', { user_id: 'b', ts: T0 + 3 });
    expect(driver.output('out')).toEqual([
      { user_id: 'a', seen: 1, flagged: false },
      { user_id: 'a', seen: 2, flagged: true },
      { user_id: 'b', seen: 1, flagged: false },
    ]);
    expect(String(driver.deadLetters()[0]!.reason)).toMatch(/poisoned record/);
  });

  it('recovers state exactly from the last checkpoint after a crash', async () => {
    driver = await TopologyTestDriver.fromText(`${header('t8')}  pipeline:
    - id: per_user
      from: events
      keyBy: user_id
    - id: totals
      from: per_user
      window: { rolling: 1h, resolution: 1m }
      aggregate: { n: count(), amt: sum(amount) }
  sinks:
    out: { from: totals, stdout: {} }
`);
    driver.pipe('events', { user_id: 'a', amount: 1, ts: T0 });
    driver.pipe('events', { user_id: 'a', amount: 2, ts: T0 + 1 });
    await driver.checkpoint();
    driver.pipe('events', { user_id: 'a', amount: 4, ts: T0 + 2 });
    await driver.restart({ checkpointFirst: false });
    driver.pipe('events', { user_id: 'a', amount: 8, ts: T0 + 3 });
    expect(driver.output('out').at(-1)).toMatchObject({ n: 3, amt: 11 });
    await driver.restart({ checkpointFirst: true });
    driver.pipe('events', { user_id: 'a', amount: 16, ts: T0 + 4 });
    expect(driver.output('out').at(-1)).toMatchObject({ n: 4, amt: 27 });
  });
});

describe('task partitions', () => {
  it('refuses to reuse keyed state under a different partition count', async () => {
    const { mkdtemp, rm } = await import('node:fs/promises');
    const { tmpdir } = await import('node:os');
    const dataDir = await mkdtemp(join(tmpdir(), 'tributary-parts-'));
    const yaml = `${header('parts')}  pipeline:
    - id: per_user
      from: events
      keyBy: user_id
    - id: totals
      from: per_user
      window: { rolling: 1h, resolution: 1m }
      aggregate: { n: count() }
  sinks:
    out: { from: totals, stdout: {} }
`;
    try {
      const d1 = await TopologyTestDriver.fromText(yaml, { dataDir, partitions: 2 });
      d1.pipe('events', { user_id: 'a', ts: T0 });
      await d1.checkpoint();
      await d1.close();
      const err = await TopologyTestDriver.fromText(yaml, { dataDir, partitions: 3 }).catch((e: unknown) => e);
      expect(String(err)).toMatch(/2 task partitions, this topology has 3.*--reset-state/s);
      const d2 = await TopologyTestDriver.fromText(yaml, { dataDir, partitions: 2 });
      d2.pipe('events', { user_id: 'a', ts: T0 + 1 });
      expect(d2.output('out').at(-1)).toMatchObject({ n: 2 });
      await d2.close();
    } finally {
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});
