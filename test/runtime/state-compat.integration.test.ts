/**
 * A stateful step whose definition changed incompatibly is refused with a clear message;
 * `--reset-state` starts over; a compatible change (emit mode) reuses the state.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runCli } from '../helpers/cli.js';

const topology = (aggregates: string, count = 3000) => `apiVersion: tributary/v1
kind: Topology
metadata: { name: compat }
spec:
  sources:
    applications:
      generator: { preset: loan-applications, rate: 0, keys: 200, seed: 3, count: ${count}, partitions: 2 }
      eventTime: { field: applied_at, maxOutOfOrderness: 1m }
  pipeline:
    - id: per_user
      from: applications
      keyBy: user_id
    - id: totals
      from: per_user
      window: { rolling: 1h, resolution: 1m }
      aggregate:
${aggregates}
  sinks:
    out: { from: totals, file: { path: out/totals.jsonl } }
`;

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-compat-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('state fingerprints', () => {
  it('refuses an incompatible change, resets on request, and resumes a finished run without reprocessing', async () => {
    const file = join(dir, 'topology.yaml');
    const state = join(dir, 'state');
    await writeFile(file, topology('        n: count()\n        amt: sum(amount)'));
    const first = await runCli(['run', file, '--data-dir', state, '--quiet'], { cwd: dir });
    expect(first.code, first.stderr).toBe(0);
    expect(first.stdout).toMatch(/records in\s+3,000 this run/);

    // Same definition again: everything was consumed, nothing is reprocessed.
    const again = await runCli(['run', file, '--data-dir', state, '--quiet'], { cwd: dir });
    expect(again.code, again.stderr).toBe(0);
    expect(again.stdout).toMatch(/records in\s+0 this run \(3,000 since the state began\)/);

    await writeFile(file, topology('        n: count()\n        amt: max(amount)'));
    const refused = await runCli(['run', file, '--data-dir', state, '--quiet'], { cwd: dir });
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/totals/);
    expect(refused.stderr).toMatch(/--reset-state/);

    const reset = await runCli(['run', file, '--data-dir', state, '--quiet', '--reset-state'], { cwd: dir });
    expect(reset.code, reset.stderr).toBe(0);
    expect(reset.stdout).toMatch(/records in\s+3,000 this run \(3,000 since the state began\)/);
    const rows = (await readFile(join(dir, 'out', 'totals.jsonl'), 'utf8')).trim().split('\n');
    expect(rows.length).toBeGreaterThan(3000);
  }, 60_000);
});
