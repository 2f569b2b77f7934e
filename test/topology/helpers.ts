import { TopologyErrors, type TopologyError } from '../../src/core/errors.js';
import { compileTopology } from '../../src/topology/index.js';
import type { TopologyPlan } from '../../src/topology/plan.js';
import { testCatalog } from './test-catalog.js';
import { stepRegistry } from '../../src/operators/registry.js';

/** 1-based line:col of the n-th occurrence (0-based) of `needle` in `text`, plus `delta` chars. */
export function posOf(text: string, needle: string, nth = 0, delta = 0): string {
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) throw new Error(`'${needle}' (#${nth}) not in text`);
  }
  at += delta;
  const before = text.slice(0, at);
  const line = before.split('\n').length;
  const col = at - before.lastIndexOf('\n');
  return `${line}:${col}`;
}

/** A topology with one generator source `src`, the given pipeline items and sinks (YAML, indented 4). */
export function topology(pipeline: string, sinks = "    out: { from: dlq, stdout: {} }", extraSpec = ''): string {
  return [
    'apiVersion: tributary/v1',
    'kind: Topology',
    'metadata: { name: t }',
    'spec:',
    ...(extraSpec ? [extraSpec] : []),
    '  sources:',
    '    src:',
    '      generator: { preset: loan-applications, rate: 0, keys: 10, seed: 1 }',
    '  pipeline:',
    pipeline,
    '  sinks:',
    sinks,
    '',
  ].join('\n');
}

export function compile(text: string, env: Record<string, string> = {}): TopologyPlan {
  return compileTopology(text, 'test.yaml', { catalog: testCatalog, steps: stepRegistry, env, baseDir: '/base' });
}

/** The errors compiling `text` produces (fails the test when it compiles). */
export function errorsOf(text: string, env: Record<string, string> = {}): TopologyError[] {
  try {
    compile(text, env);
  } catch (err) {
    if (err instanceof TopologyErrors) return [...err.errors];
    throw err;
  }
  throw new Error('expected the topology to be rejected, but it compiled');
}

/** Errors as "line:col path: message" (file name left out). */
export function messagesOf(text: string, env: Record<string, string> = {}): string[] {
  return errorsOf(text, env).map((e) => `${e.location.line}:${e.location.col} ${e.location.path}: ${e.message.split(': ').slice(e.location.path ? 2 : 1).join(': ')}`);
}
