/**
 * SIGTERM/SIGINT during processing: finish in-flight records, checkpoint, print the summary,
 * exit 0; the next run resumes where the first stopped (nothing reprocessed, nothing skipped).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnCli } from '../helpers/cli.js';

const topology = `apiVersion: tributary/v1
kind: Topology
metadata: { name: sigterm }
spec:
  checkpoint: { interval: 10s }
  sources:
    applications:
      generator: { preset: loan-applications, rate: 5000, keys: 500, seed: 1, count: 1000000, partitions: 2 }
      eventTime: { field: applied_at, maxOutOfOrderness: 1m }
  pipeline:
    - id: per_user
      from: applications
      keyBy: user_id
    - id: totals
      from: per_user
      window: { rolling: 1h, resolution: 1m }
      aggregate: { n: count() }
  sinks:
    out: { from: totals, file: { path: out/totals.jsonl } }
    raw: { from: per_user, file: { path: out/raw.jsonl } }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-sigterm-'));
  await writeFile(join(dir, 'topology.yaml'), topology);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function runUntilSignal(signal: NodeJS.Signals, afterMs: number): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawnCli(['run', join(dir, 'topology.yaml'), '--data-dir', join(dir, 'state'), '--quiet'], { cwd: dir });
    let stdout = '';
    let stderr = '';
    child.stdout?.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    // Signal only once it is processing — its sink has written more than it had before this run,
    // then `afterMs` more (the first checkpoint interval is 10 s, so the only checkpoint that can
    // save progress is the one taken on the way out). A fixed delay from spawn is not enough on
    // a loaded machine: startup alone can take longer, and a signal then kills it uncaught.
    const raw = join(dir, 'out', 'raw.jsonl');
    void (async () => {
      const before = await sizeOf(raw);
      while (child.exitCode === null && (await sizeOf(raw)) <= before) await sleep(50);
      await sleep(afterMs);
      child.kill(signal);
    })();
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function sizeOf(path: string): Promise<number> {
  try {
    return (await stat(path)).size;
  } catch {
    return 0;
  }
}

const recordsIn = (stdout: string): [number, number] => {
  const m = /records in\s+([\d,]+) this run \(([\d,]+) since the state began\)/.exec(stdout);
  if (!m) throw new Error(`no summary in:\n${stdout}`);
  return [Number(m[1]!.replace(/,/g, '')), Number(m[2]!.replace(/,/g, ''))];
};

describe('graceful shutdown', () => {
  it('SIGTERM checkpoints and exits 0; SIGINT too; each run resumes exactly where the last stopped', async () => {
    const first = await runUntilSignal('SIGTERM', 1500);
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/stopped/);
    const [run1, total1] = recordsIn(first.stdout);
    expect(run1).toBeGreaterThan(0);
    expect(total1).toBe(run1);

    const second = await runUntilSignal('SIGINT', 1500);
    expect(second.code, second.stderr).toBe(0);
    const [run2, total2] = recordsIn(second.stdout);
    expect(run2).toBeGreaterThan(0);
    expect(total2).toBe(total1 + run2);

    // A graceful stop flushes sinks before the checkpoint: every input reached the sink exactly
    // once across both runs, in order, with no gap per partition (app-<partition>-<index>).
    const ids = (await readFile(join(dir, 'out', 'raw.jsonl'), 'utf8')).trim().split('\n').map((l) => String((JSON.parse(l) as { application_id: string }).application_id));
    expect(ids.length).toBe(total2);
    const next = new Map<string, number>();
    for (const id of ids) {
      const [, p, i] = /^app-(\d+)-(\d+)$/.exec(id) ?? [];
      expect(p, id).toBeDefined();
      expect(Number(i), `partition ${p}: ${id}`).toBe(next.get(p!) ?? 0);
      next.set(p!, Number(i) + 1);
    }
  }, 60_000);
});
