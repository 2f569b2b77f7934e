/**
 * `npm start` (`tributary demo`): an embedded dev broker, the load topology into a topic, then the
 * fleet topology reading it in a consumer group; it ends by itself with both summaries.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';

const dirs: string[] = [];
afterAll(async () => {
  for (const d of dirs) await rm(d, { recursive: true, force: true });
});

describe('tributary demo (npm start)', () => {
  it('runs generator → topic → consumer-group topology and ends with a summary of each phase', async () => {
    const cwd = await mkdtemp(join(tmpdir(), 'tributary-demo-test-'));
    dirs.push(cwd);
    const r = await runCli(['demo', '--count', '3000', '--quiet'], { cwd });
    expect(r.code, r.stderr.slice(-3000)).toBe(0);
    expect(r.stdout).toMatch(/loan-applications-to-kafka: input complete/);
    expect(r.stdout).toMatch(/records in\s+3,000 this run/);
    // The fleet phase read every record the load phase wrote to the topic.
    const topic = /\n\s+topic\s+([\d,]+)/.exec(r.stdout);
    expect(topic, r.stdout).not.toBeNull();
    const written = Number(topic![1]!.replace(/,/g, ''));
    const fleetIn = [...r.stdout.matchAll(/records in\s+([\d,]+) this run/g)].map((m) => Number(m[1]!.replace(/,/g, '')));
    expect(fleetIn).toEqual([3000, written]);
    expect(r.stdout).toMatch(/loan-risk-features/);
  }, 120_000);
});
