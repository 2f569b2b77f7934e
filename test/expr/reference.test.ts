/**
 * Seeded randomized check: random numeric/boolean expressions, printed with the fewest
 * parentheses precedence allows (plus some redundant ones), must evaluate exactly as a tiny
 * reference evaluator working on the generated tree says. Covers precedence, associativity,
 * null semantics, division by zero, short-circuiting and constant folding (some leaves are
 * literals only). Reproduce a failure with EXPR_SEED=<seed>.
 */
import { describe, expect, it } from 'vitest';
import { compileExpression } from '../../src/expr/index.js';
import type { Row, Value } from '../../src/core/record.js';

type Num = number | null;
type T =
  | { k: 'lit'; v: Num }
  | { k: 'var'; name: string }
  | { k: 'neg'; a: T }
  | { k: 'not'; a: T }
  | { k: 'bin'; op: string; a: T; b: T }
  | { k: 'cond'; c: T; a: T; b: T };

// Loosest first, as in JavaScript (and parser.ts).
const PREC: Record<string, number> = { '??': 1, '||': 2, '&&': 3, '==': 4, '!=': 4, '<': 5, '<=': 5, '>': 5, '>=': 5, '+': 6, '-': 6, '*': 7, '/': 7, '%': 7 };
const VARS = ['a', 'b', 'c', 'd'];

class Rng {
  constructor(private s: number) {}
  int(n: number): number {
    this.s = (Math.imul(this.s, 1103515245) + 12345) >>> 0;
    return (this.s >>> 8) % n;
  }
  pick<X>(xs: readonly X[]): X {
    return xs[this.int(xs.length)];
  }
}

function value(r: Rng): Num {
  return r.pick<Num>([null, 0, 1, 2, -3, 7, 0.5, -2.25, 1e3, 1e-3, 10]);
}

function num(r: Rng, depth: number): T {
  if (depth <= 0 || r.int(4) === 0) return r.int(3) === 0 ? { k: 'lit', v: value(r) } : { k: 'var', name: r.pick(VARS) };
  switch (r.int(6)) {
    case 0: return { k: 'neg', a: num(r, depth - 1) };
    case 1: return { k: 'cond', c: bool(r, depth - 1), a: num(r, depth - 1), b: num(r, depth - 1) };
    case 2: return { k: 'bin', op: '??', a: num(r, depth - 1), b: num(r, depth - 1) };
    default: return { k: 'bin', op: r.pick(['+', '-', '*', '/', '%']), a: num(r, depth - 1), b: num(r, depth - 1) };
  }
}

function bool(r: Rng, depth: number): T {
  if (depth <= 0) return { k: 'bin', op: r.pick(['<', '==']), a: num(r, 0), b: num(r, 0) };
  switch (r.int(5)) {
    case 0: return { k: 'not', a: bool(r, depth - 1) };
    case 1: return { k: 'bin', op: r.pick(['&&', '||']), a: bool(r, depth - 1), b: bool(r, depth - 1) };
    case 2: return { k: 'bin', op: r.pick(['==', '!=']), a: bool(r, depth - 1), b: bool(r, depth - 1) };
    default: return { k: 'bin', op: r.pick(['<', '<=', '>', '>=', '==', '!=']), a: num(r, depth - 1), b: num(r, depth - 1) };
  }
}

const truthy = (v: Value): boolean => v !== null && v !== false && v !== 0 && !Number.isNaN(v);

function reference(t: T, row: Row): Value {
  switch (t.k) {
    case 'lit': return t.v;
    case 'var': return row[t.name] ?? null;
    case 'neg': {
      const v = reference(t.a, row) as Num;
      return v === null ? null : -v;
    }
    case 'not': return !truthy(reference(t.a, row));
    case 'cond': return truthy(reference(t.c, row)) ? reference(t.a, row) : reference(t.b, row);
    case 'bin': {
      if (t.op === '&&') return truthy(reference(t.a, row)) && truthy(reference(t.b, row));
      if (t.op === '||') return truthy(reference(t.a, row)) || truthy(reference(t.b, row));
      const x = reference(t.a, row);
      if (t.op === '??') return x !== null ? x : reference(t.b, row);
      const y = reference(t.b, row);
      if (t.op === '==') return x === y;
      if (t.op === '!=') return x !== y;
      if (x === null || y === null) return t.op.length === 1 && '+-*/%'.includes(t.op) ? null : false;
      const p = x as number;
      const q = y as number;
      switch (t.op) {
        case '+': return p + q;
        case '-': return p - q;
        case '*': return p * q;
        case '/': return q === 0 ? null : p / q;
        case '%': return q === 0 ? null : p % q;
        case '<': return p < q;
        case '<=': return p <= q;
        case '>': return p > q;
        default: return p >= q;
      }
    }
  }
}

function prec(t: T): number {
  if (t.k === 'cond') return 0;
  if (t.k === 'bin') return PREC[t.op];
  if (t.k === 'neg' || t.k === 'not' || (t.k === 'lit' && t.v !== null && t.v < 0)) return 8;
  return 9;
}

/** Source text with parentheses only where precedence needs them, and now and then where it does not. */
function print(t: T, r: Rng): string {
  const wrap = (child: T, needsParens: boolean): string => {
    const s = print(child, r);
    return needsParens || r.int(12) === 0 ? `(${s})` : s;
  };
  switch (t.k) {
    case 'lit': return t.v === null ? 'null' : String(t.v);
    case 'var': return t.name;
    case 'neg': return `-${wrap(t.a, prec(t.a) < 8)}`;
    case 'not': return `!${wrap(t.a, prec(t.a) < 8)}`;
    case 'cond': return `${wrap(t.c, prec(t.c) <= 0)} ? ${wrap(t.a, false)} : ${wrap(t.b, false)}`;
    case 'bin': {
      const p = PREC[t.op];
      // Comparisons do not chain, so a comparison operand of the same level needs parentheses on both sides.
      const leftNeeds = p === 4 || p === 5 ? prec(t.a) <= p : prec(t.a) < p;
      return `${wrap(t.a, leftNeeds)} ${t.op} ${wrap(t.b, prec(t.b) <= p)}`;
    }
  }
}

describe('randomized comparison with a reference evaluator', () => {
  it('agrees on 4,000 random expressions over random rows', () => {
    const seed = Number(process.env.EXPR_SEED ?? 20_240_501);
    const r = new Rng(seed);
    let checked = 0;
    for (let i = 0; i < 4_000; i++) {
      const tree = r.int(3) === 0 ? bool(r, 1 + r.int(4)) : num(r, 1 + r.int(5));
      const source = print(tree, r);
      const compiled = compileExpression(source);
      for (let j = 0; j < 3; j++) {
        const row: Row = {};
        for (const v of VARS) if (r.int(5) !== 0) row[v] = value(r);
        const expected = reference(tree, row);
        const actual = compiled.evaluate(row);
        if (!Object.is(actual, expected)) {
          expect.fail(`seed ${seed}: \`${source}\` over ${JSON.stringify(row)}: got ${String(actual)}, reference says ${String(expected)}`);
        }
        checked++;
      }
    }
    expect(checked).toBe(12_000);
  });
});
