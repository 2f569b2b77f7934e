/**
 * One validated step config → one PlannedStep, by the step kind's module: the module plans,
 * this file places what it reports at file:line:col, checks the input key it needs, and
 * fingerprints its state.
 */
import { TopologyError } from '../core/errors.js';
import type { SourceLocation } from '../core/errors.js';
import type { ConfigNode, MapNode, Position } from '../core/config-node.js';
import { findEntry } from '../core/config-node.js';
import { joinPath } from '../core/names.js';
import type { PlanContext, PlannedStep, ProblemAt, StepModule } from '../operators/step-module.js';
import { compileAt, type Diagnostics } from './expressions.js';
import { fingerprint } from './fingerprint.js';

export interface StepInput {
  module: StepModule;
  /** The step's validated config (its module's spec, id and from). */
  config: Readonly<Record<string, unknown>> & { id: string; from: string };
  node: MapNode;
  path: string;
  location: SourceLocation;
  /** Key expression of the step's input stream (undefined: not keyed). */
  inputKey: string | undefined;
  distinctExactLimit: number;
  baseDir: string;
}

/** The node under a chain of keys (for positions of nested values). */
function child(node: ConfigNode | undefined, keys: readonly string[]): ConfigNode | undefined {
  let cur = node;
  for (const k of keys) cur = cur?.kind === 'map' ? findEntry(cur, k)?.value : undefined;
  return cur;
}

function keyPosition(node: MapNode, keys: readonly string[]): Position {
  const parent = child(node, keys.slice(0, -1));
  const last = keys[keys.length - 1];
  return (parent?.kind === 'map' && last !== undefined ? findEntry(parent, last)?.keyPos : undefined) ?? node.pos;
}

function pathOf(base: string, keys: readonly string[]): string {
  return keys.reduce<string>((p, k) => joinPath(p, k), base);
}

export function buildStep(diag: Diagnostics, input: StepInput): PlannedStep | undefined {
  const { module, config, node, path, location } = input;
  const before = diag.errors.length;
  const report = (message: string, where: ProblemAt): undefined => {
    const at = where.at ?? where.path;
    let pos: Position;
    if (where.key) pos = keyPosition(node, at);
    else {
      const value = child(node, at);
      pos = where.offset !== undefined && value?.kind === 'scalar' && value.locate ? value.locate(where.offset) : value?.pos ?? node.pos;
    }
    diag.errors.push(new TopologyError('TRIB_TOPOLOGY_INVALID', { file: diag.file, line: pos.line, col: pos.col, path: pathOf(path, where.path) }, message));
    return undefined;
  };
  if (module.needsKey && input.inputKey === undefined) {
    report(`${module.kind} needs a keyed input: add a keyBy step before it (its input has no key)`, { path: [module.kind], key: true });
  }
  const ctx: PlanContext = {
    stepId: config.id,
    inputKey: input.inputKey,
    stateDefaults: { distinctExactLimit: input.distinctExactLimit },
    baseDir: input.baseDir,
    expression: (keys, source, offset = 0) => compileAt(diag, child(node, keys), pathOf(path, keys), source, offset),
    problem: report,
  };
  const params = module.plan(config, ctx);
  if (!params && diag.errors.length === before) report(`the ${module.kind} step could not be planned (its module reported no reason)`, { path: [module.kind] });
  if (!params || diag.errors.length > before) return undefined;
  const base = { ...params, id: config.id, from: config.from, kind: module.kind, location, stepModule: module };
  if (!module.state) return base;
  return { ...base, fingerprint: fingerprint(module.state.identity(base, config, input.inputKey)) };
}
