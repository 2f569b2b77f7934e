/**
 * Kill `tributary run` with SIGKILL at random moments (≥ 10 times), restart it each time, and
 * compare the final outputs (last value per key and window) with an uninterrupted run.
 * State is exactly-once (checkpoints are one atomic LevelDB batch with the source positions);
 * sinks are at-least-once, so duplicates are allowed but the last value must be right.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli, spawnCli } from '../helpers/cli.js';
import { readRows } from '../helpers/fleet.js';

const SEED = Number(process.env.TEST_SEED ?? Date.now() % 100_000);

const topology = `apiVersion: tributary/v1
kind: Topology
metadata: { name: crash-test }
spec:
  checkpoint: { interval: 250ms }
  sources:
    applications:
      generator: { preset: loan-applications, rate: 9000, keys: 2000, seed: 42, count: 90000, partitions: 4, outOfOrder: 0.1, duplicates: 0.02, badRecords: 0.01 }
      eventTime: { field: applied_at, maxOutOfOrderness: 2m }
  pipeline:
    - id: valid
      from: applications
      filter: "amount > 0 && user_id != null"
    - id: per_user
      from: valid
      keyBy: user_id
    - id: unique
      from: per_user
      dedupe: { within: 1h, by: application_id }
    - id: rolling_1h
      from: unique
      window: { rolling: 1h, resolution: 1m }
      aggregate:
        cnt: count()
        amt: sum(amount)
        devices: count_distinct(device_id)
        max_amt: max(amount)
    - id: tumbling_10m
      from: unique
      window: { tumbling: 10m }
      aggregate:
        cnt: count()
        amt: sum(amount)
        first_channel: first(channel)
      emit: final
  sinks:
    rolling: { from: rolling_1h, file: { path: out/rolling.jsonl } }
    tumbling: { from: tumbling_10m, file: { path: out/tumbling.jsonl } }
    dead: { from: dlq, file: { path: out/dlq.jsonl } }
`;

type Row = Record<string, unknown>;

/** Last value per key (rolling: the value, not its reference time) and per key+window (tumbling). */
function lastValues(rows: Row[], windowed: boolean): Map<string, string> {
  const out = new Map<string, string>();
  for (const r of rows) {
    const { key, window_start, window_end, as_of, emit, ...values } = r;
    const id = windowed ? JSON.stringify([key, window_start, window_end]) : JSON.stringify(key);
    out.set(id, JSON.stringify(windowed ? { ...values, emit } : values));
    void as_of;
  }
  return out;
}

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-crash-'));
  await writeFile(join(dir, 'topology.yaml'), topology);
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe(`kill -9 recovery (seed ${SEED})`, () => {
  it('final outputs equal an uninterrupted run after ≥ 10 SIGKILLs', async () => {
    let rnd = SEED;
    const random = () => ((rnd = (Math.imul(rnd, 1103515245) + 12345) >>> 0) / 2 ** 32);

    const refDir = join(dir, 'reference');
    const crashDir = join(dir, 'crash');
    const { mkdir } = await import('node:fs/promises');
    await mkdir(refDir, { recursive: true });
    await mkdir(crashDir, { recursive: true });
    const topo = join(dir, 'topology.yaml');

    const reference = await runCli(['run', topo, '--data-dir', join(refDir, 'state'), '--quiet'], { cwd: refDir });
    expect(reference.code, reference.stderr).toBe(0);

    let kills = 0;
    let completed = false;
    let runs = 0;
    while (!completed) {
      runs++;
      expect(runs, `seed ${SEED}: too many restarts`).toBeLessThan(40);
      const child = spawnCli(['run', topo, '--data-dir', join(crashDir, 'state'), '--quiet'], { cwd: crashDir });
      let stderr = '';
      child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
      const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
        child.on('close', (code, signal) => resolve({ code, signal })),
      );
      if (kills < 10) {
        const delay = 600 + Math.floor(random() * 1400);
        const timer = setTimeout(() => child.kill('SIGKILL'), delay);
        const result = await exited;
        clearTimeout(timer);
        if (result.signal === 'SIGKILL') kills++;
        else {
          expect(result.code, `seed ${SEED}: ${stderr}`).toBe(0);
          completed = true;
        }
      } else {
        const result = await exited;
        expect(result.code, `seed ${SEED}: ${stderr}`).toBe(0);
        completed = true;
      }
    }
    expect(kills, `seed ${SEED}: the run finished before 10 kills; make it longer`).toBeGreaterThanOrEqual(10);

    for (const [sink, windowed] of [['rolling', false], ['tumbling', true]] as const) {
      const ref = lastValues(await readRows(join(refDir, 'out', `${sink}.jsonl`)), windowed);
      const got = lastValues(await readRows(join(crashDir, 'out', `${sink}.jsonl`)), windowed);
      expect(ref.size, `${sink}: reference produced nothing`).toBeGreaterThan(100);
      expect(got.size, `seed ${SEED}: ${sink} keys`).toBe(ref.size);
      for (const [id, value] of ref) expect(`${sink} ${id} ${got.get(id)}`, `seed ${SEED}`).toBe(`${sink} ${id} ${value}`);
    }
    // Dead letters are at-least-once too: every reference dead letter is present.
    const refDead = new Set((await readRows(join(refDir, 'out', 'dlq.jsonl'))).map((r) => JSON.stringify([r.source, r.partition, r.offset])));
    const gotDead = new Set((await readRows(join(crashDir, 'out', 'dlq.jsonl'))).map((r) => JSON.stringify([r.source, r.partition, r.offset])));
    expect(refDead.size).toBeGreaterThan(0);
    for (const id of refDead) expect(gotDead.has(id), `seed ${SEED}: dead letter ${id}`).toBe(true);
  }, 240_000);
});
