import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { compileTopology, planToJson, subTopologies } from '../../src/topology/index.js';
import type { FilterStep, WindowStep } from '../../src/topology/plan.js';
import { compile, topology } from './helpers.js';
import { testCatalog } from './test-catalog.js';
import { stepRegistry } from '../../src/operators/registry.js';

const fixture = 'test/topology/fixtures/example.yaml';
const example = readFileSync(fixture, 'utf8');

describe('compileTopology on the reference example', () => {
  const plan = compileTopology(example, fixture, { catalog: testCatalog, steps: stepRegistry, baseDir: '/topologies' });

  it('produces the expected sources, sinks and settings', () => {
    expect(plan.apiVersion).toBe('tributary/v1');
    expect(plan.name).toBe('loan-risk-features');
    expect(plan.file).toBe(join(process.cwd(), fixture));
    expect(plan.checkpointIntervalMs).toBe(5000);
    expect(plan.sources).toEqual([
      {
        id: 'applications',
        connector: 'generator',
        config: { preset: 'loan-applications', rate: 20000, keys: 100000, seed: 7, count: 200000, partitions: 4 },
        displayConfig: { preset: 'loan-applications', rate: 20000, keys: 100000, seed: 7, count: 200000, partitions: 4 },
        format: 'json',
        eventTime: { field: 'applied_at', maxOutOfOrdernessMs: 5000, idleTimeoutMs: 30000 },
        location: { file: fixture, line: 8, col: 5, path: 'spec.sources.applications' },
      },
    ]);
    expect(plan.sinks.map(({ id, from, connector, config }) => ({ id, from, connector, config }))).toEqual([
      { id: 'features', from: 'user_apply_3d', connector: 'file', config: { path: 'out/features.jsonl' } },
      { id: 'late', from: 'user_apply_3d.late', connector: 'stdout', config: {} },
      { id: 'dead', from: 'dlq', connector: 'file', config: { path: 'out/dlq.jsonl' } },
    ]);
  });

  it('produces every step kind, in order, with the key each one carries', () => {
    const json = planToJson(plan) as { steps: Array<Record<string, unknown>> };
    const strip = ({ location: _l, fingerprint: _f, ...rest }: Record<string, unknown>) => rest;
    expect(json.steps.map(strip)).toEqual([
      { id: 'valid', kind: 'filter', from: 'applications', predicate: 'amount > 0 && user_id != null' },
      {
        id: 'enriched', kind: 'map', from: 'valid',
        set: [{ field: 'amount_yuan', expr: 'amount / 100' }], rename: [{ from: 'ip', to: 'client_ip' }], drop: ['raw'],
      },
      { id: 'per_user', kind: 'keyBy', from: 'enriched', keyedBy: 'user_id', keySource: 'user_id', repartition: true },
      { id: 'contacts', kind: 'explode', from: 'per_user', keyedBy: 'user_id', items: 'contact_phones', as: 'contact_phone' },
      { id: 'first_event', kind: 'dedupe', from: 'per_user', keyedBy: 'user_id', withinMs: 600_000, by: 'application_id' },
      {
        id: 'user_apply_3d', kind: 'window', from: 'per_user', keyedBy: 'user_id',
        window: { kind: 'rolling', size: 3 * 86_400_000, resolution: 60_000 },
        aggregates: [
          { name: 'apply_cnt_3d', fn: 'count', source: 'count()' },
          { name: 'apply_amt_3d', fn: 'sum', source: 'sum(amount)' },
          { name: 'device_cnt_3d', fn: 'count_distinct', source: 'count_distinct(device_id)' },
        ],
        emit: 'updates', allowedLatenessMs: 60_000, distinctExactLimit: 10_000,
      },
      { id: 'custom', kind: 'code', from: 'per_user', keyedBy: 'user_id', module: '/topologies/ops/score.ts', export: 'default', options: { threshold: 3 } },
    ]);
    expect(plan.steps[0].location).toEqual({ file: fixture, line: 13, col: 11, path: 'spec.pipeline[0]' });
  });

  it('compiles expressions that evaluate against rows', () => {
    const filter = plan.steps.find((st): st is FilterStep => st.kind === 'filter')!;
    expect(filter.predicate.evaluate({ amount: 5, user_id: 'u1' })).toBe(true);
    expect(filter.predicate.evaluate({ amount: 0, user_id: 'u1' })).toBe(false);
    const window = plan.steps.find((st): st is WindowStep => st.kind === 'window')!;
    const [count, sum, distinct] = window.aggregates;
    expect(count.arg).toBeUndefined();
    expect(sum.arg!({ amount: 1234 }, 0)).toBe(1234);
    expect(distinct.arg!({ device_id: 'd9' }, 0)).toBe('d9');
  });

  it('gives stateful steps a 64-hex fingerprint', () => {
    for (const st of plan.steps) {
      if ('fingerprint' in st) expect(st.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    }
  });

  it('splits sub-topologies at keyBy', () => {
    expect(subTopologies(plan)).toEqual([
      { index: 0, inputs: ['applications'], steps: ['valid', 'enriched', 'per_user'], sinks: [] },
      {
        index: 1,
        inputs: ['loan-risk-features.per_user.repartition'],
        repartitionOf: 'per_user',
        steps: ['contacts', 'first_event', 'user_apply_3d', 'custom'],
        sinks: ['features', 'late'],
      },
    ]);
  });
});

describe('plan order and defaults', () => {
  it('sorts steps topologically whatever the written order', () => {
    const plan = compile(topology([
      '    - { id: c, from: b, filter: "true" }',
      '    - { id: b, from: a, filter: "true" }',
      '    - { id: a, from: src, filter: "true" }',
    ].join('\n')));
    expect(plan.steps.map((st) => st.id)).toEqual(['a', 'b', 'c']);
  });

  it('fills defaults: checkpoint 5s, format json, record time, idle 30s, emit updates, export default', () => {
    const plan = compile(topology([
      '    - { id: k, from: src, keyBy: user_id }',
      '    - { id: w, from: k, window: { tumbling: 1m }, aggregate: { n: count() } }',
      '    - { id: x, from: k, code: op.js }',
    ].join('\n')));
    expect(plan.checkpointIntervalMs).toBe(5000);
    expect(plan.sources[0]).toMatchObject({ format: 'json', eventTime: { maxOutOfOrdernessMs: 0, idleTimeoutMs: 30_000 } });
    expect(plan.sources[0].eventTime.field).toBeUndefined();
    expect(plan.steps[1]).toMatchObject({ emit: 'updates', allowedLatenessMs: 0, distinctExactLimit: 10_000 });
    expect(plan.steps[2]).toMatchObject({ module: '/base/op.js', export: 'default', options: {} });
  });

  it('uses spec.state.distinctExactLimit unless the step overrides it', () => {
    const pipeline = [
      '    - { id: k, from: src, keyBy: user_id }',
      '    - { id: w1, from: k, window: { tumbling: 1m }, aggregate: { n: count_distinct(x) } }',
      '    - { id: w2, from: k, window: { tumbling: 1m }, aggregate: { n: count_distinct(x) }, distinctExactLimit: 7 }',
    ].join('\n');
    const plan = compile(topology(pipeline, '    out: { from: dlq, stdout: {} }', '  state: { distinctExactLimit: 500 }'));
    expect(plan.steps.map((st) => (st as WindowStep).distinctExactLimit)).toEqual([undefined, 500, 7]);
  });

  it('defaults explode `as` to the field name of a bare field', () => {
    const plan = compile(topology('    - { id: e, from: src, explode: contact_phones }'));
    expect(plan.steps[0]).toMatchObject({ kind: 'explode', as: 'contact_phones' });
  });
});
