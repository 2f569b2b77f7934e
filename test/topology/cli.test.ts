import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { posOf } from './helpers.js';

const dir = mkdtempSync(join(tmpdir(), 'trib-topology-cli-'));
const good = readFileSync('topologies/device-fraud.yaml', 'utf8');

function write(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('tributary validate', () => {
  it('exits 0 with `ok <file>` for every shipped topology (validate topologies/*.yaml)', async () => {
    const files = readdirSync('topologies').filter((f) => f.endsWith('.yaml')).map((f) => `topologies/${f}`);
    expect(files).toEqual(expect.arrayContaining(['topologies/loan-risk-features.yaml', 'topologies/device-fraud.yaml']));
    const r = await runCli(['validate', ...files]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe(files.map((f) => `ok ${f}\n`).join(''));
    expect(r.code).toBe(0);
  });

  it('exits 2 and prints every error as file:line:col: path: message', async () => {
    const text = good.replace('filter: "contact_phone != null"', 'fliter: "contact_phone != null"').replace('from: per_contact_phone', 'from: per_contact_phon');
    const bad = write('bad.yaml', text);
    const ok = write('ok.yaml', good);
    const r = await runCli(['validate', bad, ok]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe(`ok ${ok}\n`);
    expect(r.stderr.trim().split('\n')).toEqual([
      `${bad}:${posOf(text, 'fliter')}: spec.pipeline[5].fliter: unknown field 'fliter'; did you mean 'filter'?`,
      `${bad}:${posOf(text, 'per_contact_phon\n')}: spec.pipeline[7].from: unknown input 'per_contact_phon'; did you mean 'per_contact_phone'?`,
    ]);
  });

  it('points a bad expression at its column', async () => {
    const text = good.replace('"device_id != null && user_id != null"', '"device_id != null && && user_id != null"');
    const file = write('expr.yaml', text);
    const r = await runCli(['validate', file]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${file}:${posOf(text, '&& user_id')}: spec.pipeline[0].filter: invalid expression`);
  });

  it('reports a missing file and YAML syntax errors with exit 2', async () => {
    const broken = write('broken.yaml', 'spec: [\n');
    const r = await runCli(['validate', join(dir, 'nope.yaml'), broken]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${join(dir, 'nope.yaml')}:1:1: file not found`);
    expect(r.stderr).toMatch(new RegExp(`${broken.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:\\d+:\\d+: `));
  });

  it('exits 1 without files', async () => {
    expect((await runCli(['validate'])).code).toBe(1);
  });
});

describe('tributary plan and schema', () => {
  it('plan prints steps in order with keys, fingerprints, sub-topologies and sinks', async () => {
    const r = await runCli(['plan', 'topologies/loan-risk-features.yaml'], { env: { ...process.env, TRIBUTARY_DEMO_COUNT: '123' } });
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('topology loan-risk-features (tributary/v1)');
    expect(r.stdout).toContain('count: ${TRIBUTARY_DEMO_COUNT:-200000}');
    expect(r.stdout).not.toContain('123');
    expect(r.stdout).toMatch(/ 1\. valid +filter from applications\n +where amount > 0 && user_id != null\n/);
    expect(r.stdout).toMatch(/user_apply_3d +window from per_user, key user_id\n +rolling 3d \(resolution 1m\), emit updates\n/);
    expect(r.stdout).toMatch(/state fingerprint [0-9a-f]{64}/);
    expect(r.stdout).toContain('#1 reads loan-risk-features.per_user.repartition');
    expect(r.stdout).toContain('dead_letters: file { path: out/loan-risk/dlq.jsonl, append: true, envelope: false } from dlq');
  });

  it('plan --json is the plan as data', async () => {
    const r = await runCli(['plan', 'topologies/device-fraud.yaml', '--json']);
    expect(r.code).toBe(0);
    const plan = JSON.parse(r.stdout) as { name: string; steps: Array<{ id: string; kind: string }>; subTopologies: unknown[] };
    expect(plan.name).toBe('device-fraud');
    expect(plan.steps.map((st) => st.kind)).toEqual(['filter', 'keyBy', 'dedupe', 'window', 'window', 'filter', 'keyBy', 'window']);
    expect(plan.subTopologies).toHaveLength(3);
  });

  it('schema writes the committed JSON Schema', async () => {
    const out = join(dir, 'schema.json');
    const r = await runCli(['schema', '--out', out]);
    expect(r.code).toBe(0);
    expect(readFileSync(out, 'utf8')).toBe(readFileSync('schemas/topology-v1.schema.json', 'utf8'));
  });
});

