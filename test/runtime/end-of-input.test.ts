/**
 * At the end of a bounded input nothing can be out of order any more: the watermark moves to the
 * furthest event time seen (README, DESIGN.md "Time"), not to furthest − maxOutOfOrderness. Windows
 * that end in between are emitted — `emit: final` must not lose its last windows.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { stepRegistry } from '../../src/operators/registry.js';
import { Engine } from '../../src/runtime/engine.js';
import { silentLogger } from '../../src/core/logger.js';
import { runEngine } from '../../src/runtime/runner.js';
import { loadTopology } from '../../src/topology/index.js';

const T0 = Date.parse('2026-11-01T10:00:00Z');
const S = 1000;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-eoi-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function run(name: string, window: string, events: Array<{ ts: number }>): Promise<Array<Record<string, unknown>>> {
  const input = join(dir, `${name}.jsonl`);
  const output = join(dir, `${name}-out.jsonl`);
  await writeFile(input, events.map((e) => JSON.stringify({ user: 'u', ...e })).join('\n') + '\n');
  const file = join(dir, `${name}.yaml`);
  await writeFile(file, `apiVersion: tributary/v1
kind: Topology
metadata: { name: ${name} }
spec:
  sources:
    events:
      file: { path: ${JSON.stringify(input)} }
      eventTime: { field: ts, maxOutOfOrderness: 30s }
  pipeline:
    - { id: per_user, from: events, keyBy: user }
    - id: counts
      from: per_user
      window: ${window}
      aggregate: { n: count() }
      emit: final
  sinks:
    out: { from: counts, file: { path: ${JSON.stringify(output)} } }
`);
  const plan = await loadTopology(file, { catalog: connectorCatalog, steps: stepRegistry, env: {} });
  const engine = await Engine.open(plan, { dataDir: join(dir, `${name}-state`), logger: silentLogger });
  const result = await runEngine(engine);
  await engine.close();
  expect(result.reason).toBe('end-of-input');
  const text = await readFile(output, 'utf8');
  return text.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l) as Record<string, unknown>);
}

const startsOf = (rows: Array<Record<string, unknown>>): number[] => rows.map((r) => Number(r.window_start) - T0).sort((a, b) => a - b);

describe('end of a bounded input', () => {
  // The furthest event is at +70 s; furthest − 30 s = +40 s. The window [0, 60 s) ends in between.
  const events = [{ ts: T0 + 10 * S }, { ts: T0 + 20 * S }, { ts: T0 + 70 * S }];

  it('tumbling: the window that ends between furthest − maxOutOfOrderness and furthest is emitted', async () => {
    const rows = await run('tumbling', '{ tumbling: 1m }', events);
    expect(startsOf(rows)).toEqual([0]);
    expect(rows[0]!.n).toBe(2);
  });

  it('hopping: every window ending by the furthest event time is emitted', async () => {
    // 1m windows every 30 s: [-30 s, 30 s) n=2 (fires on time), [0, 60 s) n=2 (ends at +60 s, within the last 30 s).
    const rows = await run('hopping', '{ hopping: { size: 1m, slide: 30s } }', events);
    expect(startsOf(rows)).toEqual([-30 * S, 0]);
  });

  it('session: a session whose gap closes between furthest − maxOutOfOrderness and furthest is emitted', async () => {
    // Gap 15 s: the session of +10, +20, +30 s closes at +45 s, after furthest − 30 s = +40 s;
    // the last event (+70 s) opens a session that closes at +85 s, past the furthest event: it stays open.
    const rows = await run('session', '{ session: { gap: 15s } }', [{ ts: T0 + 10 * S }, { ts: T0 + 20 * S }, { ts: T0 + 30 * S }, { ts: T0 + 70 * S }]);
    expect(rows).toHaveLength(1);
    expect(rows[0]!.n).toBe(3);
    expect(Number(rows[0]!.window_start) - T0).toBe(10 * S);
  });
});
