/**
 * Adding a step kind is one module plus one registry line: the `sample` fixture, registered
 * below, compiles from YAML, reports its errors at file:line:col, shows in `plan` and the JSON
 * Schema, and runs (with its state surviving a restart) in the TopologyTestDriver.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { TopologyErrors } from '../../src/core/errors.js';
import { stepRegistry } from '../../src/operators/registry.js';
import { TopologyTestDriver } from '../../src/testing/index.js';
import { compileTopology, describePlan, planToJson, topologySpec } from '../../src/topology/index.js';
import { toJsonSchema } from '../../src/core/spec.js';
import { posOf } from '../topology/helpers.js';
import { sampleStep, type SampleStep } from './fixtures/sample.js';

// The registry line.
const steps = [...stepRegistry, sampleStep];

const topology = (sample: string, from = 'per_user') => `apiVersion: tributary/v1
kind: Topology
metadata: { name: sampled }
spec:
  sources:
    events:
      file: { path: unused.jsonl }
      eventTime: { field: ts }
  pipeline:
    - id: per_user
      from: events
      keyBy: user_id
    - id: thinned
      from: ${from}
      sample: ${sample}
  sinks:
    out: { from: thinned, stdout: {} }
`;

const compile = (text: string, withSample = true) =>
  compileTopology(text, 'sampled.yaml', { catalog: connectorCatalog, steps: withSample ? steps : stepRegistry, env: {} });

function errorsOf(text: string, withSample = true): string[] {
  try {
    compile(text, withSample);
  } catch (err) {
    if (err instanceof TopologyErrors) return err.errors.map((e) => `${e.location.line}:${e.location.col} ${e.location.path}: ${e.message.split(': ').slice(2).join(': ')}`);
    throw err;
  }
  throw new Error('expected the topology to be rejected, but it compiled');
}

let driver: TopologyTestDriver | undefined;
afterEach(async () => {
  await driver?.close();
  driver = undefined;
});

describe('a step kind added with one module and one registry line', () => {
  it('compiles from YAML into a keyed, fingerprinted step', () => {
    const plan = compile(topology('{ every: 2, when: "amount > 0" }'));
    const step = plan.steps.find((st): st is SampleStep => st.kind === 'sample')!;
    expect(step).toMatchObject({ id: 'thinned', from: 'per_user', keyedBy: 'user_id', every: 2 });
    expect(step.when!.source).toBe('amount > 0');
    expect(step.fingerprint).toMatch(/^[0-9a-f]{64}$/);
    expect(compile(topology('{ every: 3 }')).steps[1]!.fingerprint).not.toBe(step.fingerprint);
  });

  it('is unknown without its registry line', () => {
    const text = topology('{ every: 2 }');
    expect(errorsOf(text, false)).toEqual([
      `${posOf(text, '- id: thinned', 0, 2)} spec.pipeline[1]: expected exactly one step kind: filter, map, keyBy, explode, dedupe, window, code`,
      expect.stringMatching(new RegExp(`^${posOf(text, 'sample:')} spec\\.pipeline\\[1\\]\\.sample: unknown field 'sample'`)),
    ]);
    expect(errorsOf(topology('{ every: 0 }'))[0]).toContain('sample.every');
  });

  it('reports its errors at file:line:col: spec, plan, expression and key checks', () => {
    const zero = topology('{ every: 0 }');
    expect(errorsOf(zero)).toEqual([`${posOf(zero, '0 }')} spec.pipeline[1].sample.every: expected an integer >= 1, got 0`]);
    const one = topology('{ every: 1 }');
    expect(errorsOf(one)).toEqual([`${posOf(one, '1 }')} spec.pipeline[1].sample.every: every: 1 keeps every record; remove the step instead`]);
    const expr = topology('{ every: 2, when: "amount >" }');
    expect(errorsOf(expr)[0]).toMatch(new RegExp(`^${posOf(expr, '"amount >"', 0, 9)} spec\\.pipeline\\[1\\]\\.sample\\.when: invalid expression`));
    const unkeyed = topology('{ every: 2 }', 'events');
    expect(errorsOf(unkeyed)).toEqual([`${posOf(unkeyed, 'sample:')} spec.pipeline[1].sample: sample needs a keyed input: add a keyBy step before it (its input has no key)`]);
  });

  it('shows in plan, plan --json and the JSON Schema', () => {
    const plan = compile(topology('{ every: 2, when: "amount > 0" }'));
    const text = describePlan(plan);
    expect(text).toMatch(/thinned\s+sample from per_user, key user_id\n\s+one in 2 per key where amount > 0\n\s+state fingerprint [0-9a-f]{64}/);
    const json = planToJson(plan) as { steps: Array<Record<string, unknown>> };
    expect(json.steps[1]).toMatchObject({ id: 'thinned', kind: 'sample', every: 2, when: 'amount > 0', keyedBy: 'user_id' });
    const schema = JSON.stringify(toJsonSchema(topologySpec(connectorCatalog, steps)));
    expect(schema).toContain('Keeps one record in `every` per key.');
  });

  it('runs in the TopologyTestDriver with its own state, which survives a restart', async () => {
    driver = await TopologyTestDriver.fromText(topology('{ every: 2, when: "amount > 0" }'), { steps });
    const T0 = Date.parse('2026-11-01T00:00:00Z');
    for (let i = 0; i < 5; i++) driver.pipe('events', { user_id: 'a', amount: 10, ts: T0 + i });
    driver.pipe('events', { user_id: 'b', amount: 10, ts: T0 + 10 });
    driver.pipe('events', { user_id: 'b', amount: 0, ts: T0 + 11 });
    driver.pipe('events', { user_id: 'b', amount: 'x', ts: T0 + 12 });
    expect(driver.output('out').map((r) => [r.user_id, r.sample_n])).toEqual([['a', 1], ['a', 3], ['a', 5], ['b', 1]]);
    await driver.restart();
    driver.pipe('events', { user_id: 'a', amount: 10, ts: T0 + 20 });
    driver.pipe('events', { user_id: 'a', amount: 10, ts: T0 + 21 });
    expect(driver.output('out').slice(4).map((r) => [r.user_id, r.sample_n])).toEqual([['a', 7]]);
  });
});
