/**
 * How sources and steps connect: unique ids, `from` references, cycles, topological order,
 * and which key each stream carries (stateful steps need one).
 */
import { TopologyError } from '../core/errors.js';
import type { Position } from '../core/config-node.js';
import type { Diagnostics } from './expressions.js';
import { closest } from '../core/names.js';

export interface Declared {
  id: string;
  /** Where the id is written (source name or the step's `id:` value). */
  idPos: Position;
  path: string;
}

export interface StepRef extends Declared {
  index: number;
  kind: string;
  from: string;
  fromPos: Position;
  /** Source text of the key the step sets (keyBy); absent: the step keeps its input's key. */
  keySource?: string;
}

export interface Wiring {
  /** Step indexes (into the drafts) in topological order; steps on a cycle or with a bad input are left out. */
  order: number[];
  /** Key expression carried by each node's output (undefined: not keyed). */
  keyOf: Map<string, string | undefined>;
}

const lateSuffix = '.late';

function push(diag: Diagnostics, code: 'TRIB_TOPOLOGY_INVALID' | 'TRIB_TOPOLOGY_REFERENCE', at: Position, path: string, message: string): void {
  diag.errors.push(new TopologyError(code, { file: diag.file, line: at.line, col: at.col, path }, message));
}

/**
 * Check ids: unique across sources and steps, `dlq` reserved. Returns id → kind ('source' or a
 * step kind) and the declarations that own their id (a duplicate is left out of the wiring).
 */
export function checkIds(
  diag: Diagnostics,
  sources: readonly Declared[],
  steps: readonly StepRef[],
): { kinds: Map<string, string>; owners: Set<Declared> } {
  const owners = new Set<Declared>();
  const seen = new Map<string, { kind: string; pos: Position }>();
  const all: Array<{ decl: Declared; kind: string }> = [...sources.map((decl) => ({ decl, kind: 'source' })), ...steps.map((decl) => ({ decl, kind: decl.kind }))];
  for (const { decl: d, kind } of all) {
    if (d.id === 'dlq') {
      push(diag, 'TRIB_TOPOLOGY_INVALID', d.idPos, d.path, "'dlq' is reserved: sinks read every dead letter with `from: dlq`");
      continue;
    }
    const prev = seen.get(d.id);
    if (prev) {
      push(diag, 'TRIB_TOPOLOGY_INVALID', d.idPos, d.path, `duplicate id '${d.id}' (already used at line ${prev.pos.line}); sources and steps need unique ids`);
      continue;
    }
    seen.set(d.id, { kind, pos: d.idPos });
    owners.add(d);
  }
  return { kinds: new Map([...seen].map(([id, v]) => [id, v.kind])), owners };
}

/**
 * Resolve an input reference. Returns the upstream node id (for `x.late`: x), or undefined
 * after recording an error.
 */
export function resolveInput(
  diag: Diagnostics,
  kinds: ReadonlyMap<string, string>,
  from: string,
  at: Position,
  path: string,
  opts: { allowDlq: boolean; known: readonly string[]; lateKinds: readonly string[] },
): string | undefined {
  if (from === 'dlq') {
    if (opts.allowDlq) return 'dlq';
    push(diag, 'TRIB_TOPOLOGY_REFERENCE', at, path, "only sinks can read 'dlq'");
    return undefined;
  }
  if (kinds.has(from)) return from;
  if (from.endsWith(lateSuffix)) {
    const base = from.slice(0, -lateSuffix.length);
    const kind = kinds.get(base);
    if (kind && opts.lateKinds.includes(kind)) return base;
    // A step with its own errors: already reported, and its kind is unknown.
    if (kind === 'invalid') return undefined;
    if (kind) {
      push(diag, 'TRIB_TOPOLOGY_REFERENCE', at, path, `'${base}' is a ${kind === 'source' ? 'source' : `${kind} step`} and has no late output: only ${listOf(opts.lateKinds)} steps do`);
      return undefined;
    }
  }
  const guess = closest(from, opts.known);
  const hint = guess ? `; did you mean '${guess}'?` : opts.known.length ? ` (known: ${opts.known.join(', ')})` : '';
  push(diag, 'TRIB_TOPOLOGY_REFERENCE', at, path, `unknown input '${from}'${hint}`);
  return undefined;
}

/** Order steps so each comes after its input; report cycles; work out the key of every stream. */
export function wire(diag: Diagnostics, sourceIds: readonly string[], steps: readonly StepRef[], inputs: ReadonlyMap<number, string>): Wiring {
  const byId = new Map(steps.map((st) => [st.id, st]));
  const keyOf = new Map<string, string | undefined>(sourceIds.map((id) => [id, undefined]));
  const order: number[] = [];
  const state = new Map<string, 'visiting' | 'done' | 'bad'>();
  const reported = new Set<string>();

  const visit = (st: StepRef, trail: StepRef[]): boolean => {
    const s = state.get(st.id);
    if (s === 'done') return true;
    if (s === 'bad') return false;
    if (s === 'visiting') {
      const cycle = trail.slice(trail.findIndex((t) => t.id === st.id));
      const first = cycle[0];
      if (!cycle.some((c) => reported.has(c.id))) {
        push(diag, 'TRIB_TOPOLOGY_REFERENCE', first.fromPos, `${first.path}.from`,
          `cycle: ${[...cycle, first].map((c) => c.id).join(' → ')}; every step must read from something upstream`);
      }
      for (const c of cycle) reported.add(c.id);
      return false;
    }
    const input = inputs.get(st.index);
    if (input === undefined) {
      state.set(st.id, 'bad');
      return false;
    }
    state.set(st.id, 'visiting');
    const upstream = byId.get(input);
    const ok = upstream ? visit(upstream, [...trail, st]) : keyOf.has(input);
    if (!ok) {
      state.set(st.id, 'bad');
      return false;
    }
    keyOf.set(st.id, st.keySource ?? keyOf.get(input));
    state.set(st.id, 'done');
    order.push(st.index);
    return true;
  };
  for (const st of steps) visit(st, []);
  return { order, keyOf };
}

function listOf(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? 'no') : `${items.slice(0, -1).join(', ')} and ${items[items.length - 1]}`;
}
