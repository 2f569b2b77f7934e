/**
 * Brute-force reference for window semantics: keeps every accepted record and recomputes each
 * aggregate from scratch. Deliberately naive; it shares only canonicalKey/HLL (for the estimate
 * beyond the exact limit) with the code under test.
 */
import type { Row, Value } from '../../../src/core/record.js';
import type { AggregateSpec } from '../../../src/operators/windows/types.js';
import { canonicalKey } from '../../../src/operators/windows/aggregates/values.js';
import { hllAdd, hllCreate, hllEstimate } from '../../../src/operators/windows/aggregates/hyperloglog.js';

export interface RefRecord {
  t: number;
  row: Row;
  /** Deterministic tie-break order (from the source position in production). */
  order: number;
  /** Global arrival index. */
  idx: number;
}

function num(v: Value): number {
  return typeof v === 'number' ? v : Number(v);
}

function ordered(v: Value): number | string {
  if (typeof v === 'string' && !/^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/.test(v)) return v;
  return num(v);
}

function before(a: number | string, b: number | string): boolean {
  if (typeof a !== typeof b) return typeof a === 'number';
  return a < b;
}

/** (time, order, arrival) of a is smaller than b's. */
function before3(a: RefRecord, b: RefRecord): boolean {
  if (a.t !== b.t) return a.t < b.t;
  if (a.order !== b.order) return a.order < b.order;
  return a.idx < b.idx;
}

export function aggregate(spec: AggregateSpec, records: readonly RefRecord[], distinctExactLimit: number, hllPrecision: number): Value {
  const vals = records
    .map((r) => ({ r, v: spec.arg ? (spec.arg(r.row, r.t) ?? null) : true }))
    .filter((x) => x.v !== null);
  switch (spec.fn) {
    case 'count':
      return vals.length;
    case 'sum':
      return vals.reduce((s, x) => s + num(x.v), 0);
    case 'avg':
      return vals.length === 0 ? null : vals.reduce((s, x) => s + num(x.v), 0) / vals.length;
    case 'min':
    case 'max': {
      let best: number | string | null = null;
      for (const x of vals) {
        const o = ordered(x.v);
        if (best === null || (spec.fn === 'min' ? before(o, best) : before(best, o))) best = o;
      }
      return best;
    }
    case 'count_distinct': {
      const set = new Set(vals.map((x) => canonicalKey(x.v)));
      if (set.size <= distinctExactLimit) return set.size;
      const regs = hllCreate(hllPrecision);
      for (const k of set) hllAdd(regs, k);
      return hllEstimate(regs);
    }
    case 'first':
    case 'last':
    case 'latest': {
      let best: { r: RefRecord; v: Value } | null = null;
      for (const x of vals) {
        if (best === null) best = x;
        else if (spec.fn === 'first' && before3(x.r, best.r)) best = x;
        else if (spec.fn === 'last' && before3(best.r, x.r)) best = x;
        else if (spec.fn === 'latest' && x.r.idx > best.r.idx) best = x;
      }
      return best === null ? null : best.v;
    }
  }
}

export function values(specs: readonly AggregateSpec[], records: readonly RefRecord[], distinctExactLimit: number, hllPrecision = 14): Row {
  const row: Row = {};
  for (const s of specs) row[s.name] = aggregate(s, records, distinctExactLimit, hllPrecision);
  return row;
}
