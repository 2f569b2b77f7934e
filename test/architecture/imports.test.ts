/**
 * The layering of DESIGN.md ("Execution model"), checked on the source: imports only go downward.
 *   core ← kafka ← state; core ← formats, expr ← operators, connectors ← topology ← runtime ← cli, testing
 * plus: topology/, operators/, connectors/ never import runtime/; runtime/ never imports a concrete
 * connector (only the registry and the connector interfaces); topology/ imports operators/ only as
 * types (step modules come in as a parameter); no import cycles.
 * The dev broker (broker/) stands apart: nothing outside it imports it but the CLI and tests.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const srcRoot = resolve(dirname(fileURLToPath(import.meta.url)), '../../src');

interface Edge { from: string; to: string; typeOnly: boolean }

function walk(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) walk(path, out);
    else if (name.endsWith('.ts')) out.push(path);
  }
  return out;
}

const importRe = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+'(\.{1,2}\/[^']+)'|import\(\s*'(\.{1,2}\/[^']+)'\s*\)/gm;

function edges(): Edge[] {
  const out: Edge[] = [];
  for (const file of walk(srcRoot)) {
    const text = readFileSync(file, 'utf8');
    for (const m of text.matchAll(importRe)) {
      const spec = m[3] ?? m[4];
      if (spec === undefined) continue;
      const target = resolve(dirname(file), spec.replace(/\.js$/, '.ts'));
      out.push({ from: relative(srcRoot, file), to: relative(srcRoot, target), typeOnly: m[2] !== undefined });
    }
  }
  return out;
}

const layerOf = (path: string): string => (path.includes('/') ? path.slice(0, path.indexOf('/')) : path.replace(/\.ts$/, ''));

/** What each top-level folder may import besides itself. */
const allowed: Record<string, readonly string[]> = {
  core: [],
  'kafka-wire': ['core'],
  expr: ['core'],
  // The changelog layer (state/changelog.ts) writes and restores through the Kafka client interface.
  state: ['core', 'kafka'],
  formats: ['core'],
  kafka: ['core', 'kafka-wire'],
  operators: ['core', 'state', 'expr', 'formats'],
  connectors: ['core', 'state', 'expr', 'formats', 'kafka', 'kafka-wire'],
  topology: ['core', 'expr', 'formats', 'operators', 'connectors', 'state'],
  runtime: ['core', 'state', 'expr', 'formats', 'kafka', 'kafka-wire', 'operators', 'connectors', 'topology'],
  broker: ['core', 'kafka-wire'],
  cli: ['core', 'state', 'expr', 'formats', 'kafka', 'kafka-wire', 'operators', 'connectors', 'topology', 'runtime', 'broker'],
  testing: ['core', 'state', 'expr', 'formats', 'operators', 'connectors', 'topology', 'runtime'],
  index: ['core', 'operators', 'connectors', 'topology', 'runtime'],
};

/**
 * Where the code still breaks a rule, each with the work that removes it. The list may only
 * shrink: a new violation fails, and so does an entry that no longer occurs.
 */
const knownViolations: ReadonlyArray<{ from: string; to: string; why: string }> = [];

/** Connector modules the runtime may import: the registry and the interfaces. */
function isConnectorInterface(path: string): boolean {
  return path === 'connectors/registry.ts' || path === 'connectors/types.ts' || path === 'connectors/sink-base.ts';
}

function violations(all: Edge[]): Array<{ from: string; to: string; rule: string }> {
  const found: Array<{ from: string; to: string; rule: string }> = [];
  for (const e of all) {
    const a = layerOf(e.from);
    const b = layerOf(e.to);
    if (a === b) continue;
    const may = allowed[a];
    if (may === undefined) found.push({ ...e, rule: `folder src/${a} is not in the layer table (add it to test/architecture/imports.test.ts)` });
    else if (!may.includes(b)) found.push({ ...e, rule: `${a}/ may not import ${b}/` });
    else if (a === 'runtime' && b === 'connectors' && !isConnectorInterface(e.to)) found.push({ ...e, rule: 'runtime/ imports a concrete connector' });
    // Step modules reach topology/ as a parameter (operators/registry.ts), like the connector catalog.
    else if (a === 'topology' && b === 'operators' && !e.typeOnly) found.push({ ...e, rule: 'topology/ imports operators/ only as types (the step registry is a parameter)' });
  }
  return found;
}

function cycles(all: Edge[]): string[][] {
  const graph = new Map<string, string[]>();
  for (const e of all) {
    if (e.typeOnly) continue;
    graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
  }
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      const s = state.get(next);
      if (s === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (s === undefined) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of graph.keys()) if (!state.has(node)) visit(node);
  return found;
}

describe('import rules (DESIGN.md layers)', () => {
  const all = edges();

  it('reads the import graph', () => {
    expect(all.length).toBeGreaterThan(200);
  });

  it('imports only go downward, apart from the listed known violations', () => {
    const found = violations(all);
    const unexpected = found.filter((v) => !knownViolations.some((k) => k.from === v.from && k.to === v.to));
    expect(unexpected.map((v) => `${v.from} -> ${v.to}: ${v.rule}`)).toEqual([]);
    const stale = knownViolations.filter((k) => !found.some((v) => v.from === k.from && v.to === k.to));
    expect(stale.map((k) => `${k.from} -> ${k.to} no longer occurs: remove it from knownViolations`)).toEqual([]);
  });

  it('core/ imports nothing outside core/', () => {
    expect(all.filter((e) => layerOf(e.from) === 'core' && layerOf(e.to) !== 'core').map((e) => `${e.from} -> ${e.to}`)).toEqual([]);
  });

  it('has no import cycles (value imports)', () => {
    expect(cycles(all).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('the checker itself catches an upward import and a cycle', () => {
    const fake: Edge[] = [
      { from: 'operators/x.ts', to: 'runtime/engine.ts', typeOnly: false },
      { from: 'runtime/a.ts', to: 'connectors/redis/sink.ts', typeOnly: false },
      { from: 'topology/a.ts', to: 'operators/filter.ts', typeOnly: false },
      { from: 'topology/b.ts', to: 'operators/step-module.ts', typeOnly: true },
      { from: 'state/a.ts', to: 'state/b.ts', typeOnly: false },
      { from: 'state/b.ts', to: 'state/a.ts', typeOnly: false },
    ];
    expect(violations(fake).map((v) => v.rule)).toEqual([
      'operators/ may not import runtime/', 'runtime/ imports a concrete connector', 'topology/ imports operators/ only as types (the step registry is a parameter)',
    ]);
    expect(cycles(fake)).toHaveLength(1);
  });
});
