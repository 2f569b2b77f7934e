/** One validated step config → one PlannedStep: expressions compiled, windows checked, state fingerprinted. */
import { isAbsolute, resolve } from 'node:path';
import { TopologyError } from '../core/errors.js';
import type { AggregateFn, AggregateSpec, WindowSpec } from '../operators/windows/types.js';
import type { ConfigNode, MapNode, Position } from '../core/config-node.js';
import { findEntry } from '../core/config-node.js';
import { formatDuration } from '../core/duration.js';
import { compileAt, type Diagnostics } from './expressions.js';
import { fingerprint } from './fingerprint.js';
import type { StepConfig, WindowConfig } from './format.js';
import { closest, joinPath } from '../core/names.js';
import type { PlannedStep, WindowStep } from './plan.js';
import type { SourceLocation } from '../core/errors.js';

export const aggregateFns: readonly AggregateFn[] = ['count', 'sum', 'min', 'max', 'avg', 'count_distinct', 'first', 'last', 'latest'];

/** Hopping windows with emit: updates touch size/slide windows per record; beyond this, rolling is the tool. */
export const maxHoppingUpdateOverlap = 100;

export interface StepInput {
  config: StepConfig;
  node: MapNode;
  path: string;
  location: SourceLocation;
  /** Key expression of the step's input stream (undefined: not keyed). */
  inputKey: string | undefined;
  distinctExactLimit: number;
  baseDir: string;
}

function at(node: ConfigNode | undefined, fallback: Position): Position {
  return node?.pos ?? fallback;
}

/** The node under a chain of keys (for positions of nested values). */
function child(node: ConfigNode | undefined, ...keys: string[]): ConfigNode | undefined {
  let cur = node;
  for (const k of keys) cur = cur?.kind === 'map' ? findEntry(cur, k)?.value : undefined;
  return cur;
}

function keyPos(node: MapNode, key: string): Position {
  return findEntry(node, key)?.keyPos ?? node.pos;
}

function report(diag: Diagnostics, pos: Position, path: string, message: string): undefined {
  diag.errors.push(new TopologyError('TRIB_TOPOLOGY_INVALID', { file: diag.file, line: pos.line, col: pos.col, path }, message));
  return undefined;
}

export function buildStep(diag: Diagnostics, input: StepInput): PlannedStep | undefined {
  const { config: c, node, path, location } = input;
  const base = { id: c.id, from: c.from, location };
  const expr = (key: string, source: string) => compileAt(diag, child(node, key), joinPath(path, key), source);

  if ('filter' in c) {
    const predicate = expr('filter', c.filter);
    return predicate && { ...base, kind: 'filter', predicate };
  }
  if ('keyBy' in c) {
    const key = expr('keyBy', c.keyBy);
    return key && { ...base, kind: 'keyBy', key, keySource: c.keyBy.trim(), repartition: true };
  }
  if ('map' in c) {
    const before = diag.errors.length;
    const set = Object.entries(c.map.set ?? {}).map(([field, source]) => ({
      field,
      expr: compileAt(diag, child(node, 'map', 'set', field), joinPath(joinPath(`${path}.map`, 'set'), field), source),
    }));
    if (diag.errors.length > before) return undefined;
    return {
      ...base,
      kind: 'map',
      set: set.map(({ field, expr: e }) => ({ field, expr: e! })),
      rename: Object.entries(c.map.rename ?? {}).map(([from, to]) => ({ from, to })),
      drop: c.map.drop ?? [],
    };
  }
  if ('explode' in c) {
    const items = expr('explode', c.explode);
    if (!items) return undefined;
    const bare = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(c.explode)?.[1];
    const as = c.as ?? bare;
    if (!as) return report(diag, keyPos(node, 'explode'), `${path}.as`, "explode of an expression needs 'as:' (the field each element is written to)");
    return { ...base, kind: 'explode', items, as };
  }
  if ('dedupe' in c) {
    if (input.inputKey === undefined) return needsKey(diag, node, path, 'dedupe');
    const by = c.dedupe.by === undefined ? undefined : compileAt(diag, child(node, 'dedupe', 'by'), `${path}.dedupe.by`, c.dedupe.by);
    if (c.dedupe.by !== undefined && !by) return undefined;
    const fp = fingerprint({ kind: 'dedupe', key: input.inputKey, within: c.dedupe.within, by: c.dedupe.by?.trim() ?? null });
    return { ...base, kind: 'dedupe', ...(by ? { by } : {}), withinMs: c.dedupe.within, fingerprint: fp };
  }
  if ('window' in c) return buildWindow(diag, input, c);
  if ('code' in c) {
    const module = isAbsolute(c.code) ? c.code : resolve(input.baseDir, c.code);
    const fp = fingerprint({ kind: 'code', module: c.code.replace(/\\/g, '/'), export: c.export });
    const options = c.options === undefined || c.options === null ? {} : c.options;
    if (typeof options !== 'object' || Array.isArray(options)) {
      return report(diag, at(child(node, 'options'), node.pos), `${path}.options`, 'expected a mapping of options');
    }
    return { ...base, kind: 'code', module, export: c.export, options: options as Record<string, unknown>, fingerprint: fp };
  }
  return undefined;
}

function needsKey(diag: Diagnostics, node: MapNode, path: string, kind: 'window' | 'dedupe'): undefined {
  return report(diag, keyPos(node, kind), `${path}.${kind}`,
    `${kind} needs a keyed input: add a keyBy step before it (its input has no key)`);
}

type WindowStepConfig = Extract<StepConfig, { window: unknown }>;

function buildWindow(diag: Diagnostics, input: StepInput, c: WindowStepConfig): WindowStep | undefined {
  const { node, path } = input;
  const before = diag.errors.length;
  if (input.inputKey === undefined) needsKey(diag, node, path, 'window');
  const window = windowOf(diag, node, path, c.window, c.emit);
  const aggregates: AggregateSpec[] = [];
  const aggregateSources: Record<string, string> = {};
  const entries = Object.entries(c.aggregate);
  if (entries.length === 0) report(diag, keyPos(node, 'aggregate'), `${path}.aggregate`, 'expected at least one aggregate, e.g. cnt: count()');
  for (const [name, source] of entries) {
    const agg = parseAggregate(diag, child(node, 'aggregate', name), joinPath(`${path}.aggregate`, name), name, source);
    if (agg) {
      aggregates.push(agg);
      aggregateSources[name] = source.trim();
    }
  }
  if (!window || diag.errors.length > before) return undefined;
  const distinctExactLimit = c.distinctExactLimit ?? input.distinctExactLimit;
  const fp = fingerprint({
    kind: 'window',
    key: input.inputKey,
    window,
    aggregates: entries.map(([name]) => ({ name, source: aggregateSources[name] })),
    distinctExactLimit,
  });
  return {
    id: c.id,
    from: c.from,
    location: input.location,
    kind: 'window',
    window,
    aggregates,
    aggregateSources,
    emit: c.emit,
    allowedLatenessMs: c.allowedLateness,
    distinctExactLimit,
    fingerprint: fp,
  };
}

function windowOf(diag: Diagnostics, node: MapNode, path: string, w: WindowConfig, emit: 'updates' | 'final'): WindowSpec | undefined {
  const wNode = child(node, 'window');
  const wPath = `${path}.window`;
  const pos = (...keys: string[]) => at(child(wNode, ...keys), node.pos);
  if ('rolling' in w) {
    if (w.rolling % w.resolution !== 0) {
      return report(diag, pos('rolling'), `${wPath}.rolling`,
        `rolling size ${formatDuration(w.rolling)} must be a multiple of resolution ${formatDuration(w.resolution)}`);
    }
    if (emit !== 'updates') {
      return report(diag, at(child(node, 'emit'), node.pos), `${path}.emit`,
        'rolling windows need emit: updates (their value changes with every event and as time passes); use tumbling or hopping for final values');
    }
    return { kind: 'rolling', size: w.rolling, resolution: w.resolution };
  }
  if ('hopping' in w) {
    const { size, slide } = w.hopping;
    if (size % slide !== 0) {
      return report(diag, pos('hopping', 'size'), `${wPath}.hopping.size`,
        `hopping size ${formatDuration(size)} must be a multiple of slide ${formatDuration(slide)}`);
    }
    if (emit === 'updates' && size / slide > maxHoppingUpdateOverlap) {
      return report(diag, pos('hopping'), `${wPath}.hopping`,
        `a ${formatDuration(size)} window sliding every ${formatDuration(slide)} with emit: updates would update ${size / slide} windows per record ` +
        `(at most ${maxHoppingUpdateOverlap}); use { rolling: ${formatDuration(size)}, resolution: ${formatDuration(slide)} } instead, or emit: final`);
    }
    return { kind: 'hopping', size, slide };
  }
  if ('tumbling' in w) return { kind: 'tumbling', size: w.tumbling };
  return { kind: 'session', gap: w.session.gap };
}

const aggregateCall = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*\(([\s\S]*)\)\s*$/;

function parseAggregate(diag: Diagnostics, node: ConfigNode | undefined, path: string, name: string, source: string): AggregateSpec | undefined {
  const locate = (offset: number): Position =>
    node?.kind === 'scalar' && node.locate ? node.locate(offset) : node?.pos ?? { line: 1, col: 1 };
  const valid = aggregateFns.join(', ');
  const m = aggregateCall.exec(source);
  if (!m) return report(diag, locate(0), path, `expected fn(expr), e.g. sum(amount), with fn one of ${valid}`);
  const [, lead, fnName, inner] = m;
  const fnOffset = lead.length;
  if (!(aggregateFns as readonly string[]).includes(fnName)) {
    const guess = closest(fnName, aggregateFns);
    return report(diag, locate(fnOffset), path, `unknown aggregate function '${fnName}'${guess ? `; did you mean '${guess}'?` : ''} (valid: ${valid})`);
  }
  const fn = fnName as AggregateFn;
  const argOffset = source.indexOf('(', fnOffset + fnName.length) + 1;
  if (inner.trim() === '') {
    if (fn === 'count') return { name, fn };
    return report(diag, locate(argOffset), path, `${fn}() needs an argument, e.g. ${fn}(amount)`);
  }
  const expr = compileAt(diag, node, path, inner, argOffset);
  if (!expr) return undefined;
  return { name, fn, arg: (row, time) => expr.evaluate(row, { time }) };
}
