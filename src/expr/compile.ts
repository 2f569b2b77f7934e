/**
 * AST -> JavaScript source -> `new Function`, once per expression.
 *
 * Why generated code: each expression gets its own monomorphic function, which V8 inlines
 * end to end; a tree of shared closures was 1.4-1.8x slower in bench/expressions.bench.ts
 * (their call sites go megamorphic once a topology compiles several expressions).
 *
 * Safety: the generator emits only from the AST. Names and literals go through
 * JSON.stringify (and so are JS string/number literals, never identifiers); operators come
 * from fixed tables; anything else (regexes, Sets, function implementations, error sites) is
 * passed in as a constant slot `kN` / `sN`. No source text is pasted into the code, so no
 * expression can name a JS global, `this`, a prototype or a constructor. Field reads go through
 * Object.hasOwn. Semantics live in values.ts and functions/catalog.ts; the code here only
 * inlines their fast paths (number op number, own-field reads, comparison with a constant).
 */
import type { Row, Value } from '../core/record.js';
import type { Node, NodeOf } from './ast.js';
import { resolveCall } from './calls.js';
import type { ExpressionScope } from './types.js';
import { add, arithmetic, compare, contains, equals, getMember, negate, truthy, type Site } from './values.js';

export type Evaluator = (row: Row, scope: ExpressionScope | undefined) => Value;

const HELPERS = { hasOwn: Object.hasOwn, add, arithmetic, compare, contains, equals, getMember, negate, truthy };
const HELPER_NAMES = Object.keys(HELPERS).join(', ');
const ARITHMETIC: Readonly<Record<string, string>> = { '-': '-', '*': '*', '/': '/', '%': '%' };
const COMPARISONS: ReadonlySet<string> = new Set(['<', '<=', '>', '>=', '==', '!=']);
const ORDERING: Readonly<Record<string, string>> = { '<': '<', '<=': '<=', '>': '>', '>=': '>=' };

type Factory = (helpers: typeof HELPERS, constants: readonly unknown[], sites: readonly Site[]) => Evaluator;

export function compileToFunction(ast: Node, source: string): Evaluator {
  const g = new Generator(source);
  const body = g.emit(ast);
  const slots = [
    ...g.constants.map((_, i) => `k${i} = K[${i}]`),
    ...g.sites.map((_, i) => `s${i} = S[${i}]`),
  ];
  const temps = Array.from({ length: g.temps }, (_, i) => `t${i}`);
  const code = [
    '"use strict";',
    `const { ${HELPER_NAMES} } = H;`,
    slots.length > 0 ? `const ${slots.join(', ')};` : '',
    'return function evaluate(row, scope) {',
    temps.length > 0 ? `let ${temps.join(', ')};` : '',
    `return ${body};`,
    '};',
  ].join('\n');
  const factory = new Function('H', 'K', 'S', code) as Factory;
  return factory(HELPERS, g.constants, g.sites);
}

/** JS text of a scalar. JSON.stringify alone would turn NaN and Infinity (folded results) into null and lose -0. */
function scalarLiteral(v: Value): string {
  if (typeof v !== 'number' || (Number.isFinite(v) && !Object.is(v, -0))) return JSON.stringify(v);
  if (Number.isNaN(v)) return '(0 / 0)';
  if (Object.is(v, -0)) return '(-0)';
  return v > 0 ? '(1 / 0)' : '(-1 / 0)';
}

function isScalarLiteral(n: Node): n is NodeOf<'literal'> {
  return n.kind === 'literal' && (n.value === null || typeof n.value !== 'object');
}

class Generator {
  temps = 0;
  readonly constants: unknown[] = [];
  readonly sites: Site[] = [];

  constructor(private readonly source: string) {}

  private temp(): string {
    return `t${this.temps++}`;
  }

  private site(node: Node): string {
    this.sites.push({ source: this.source, text: this.source.slice(node.start, node.end), offset: node.start });
    return `s${this.sites.length - 1}`;
  }

  private constant(value: unknown): string {
    this.constants.push(value);
    return `k${this.constants.length - 1}`;
  }

  /** An own-property read of the constant `key` from the object expression `object`. */
  private ownRead(object: string, key: string, objectIsRecord: boolean): string {
    const k = JSON.stringify(key);
    const o = /^(row|t\d+)$/.test(object) ? object : this.temp();
    const v = this.temp();
    const bind = o === object ? o : `(${o} = ${object})`;
    const guard = objectIsRecord
      ? `hasOwn(${bind}, ${k})`
      : `${bind} !== null && typeof ${o} === 'object' && !Array.isArray(${o}) && hasOwn(${o}, ${k})`;
    return `(${guard} ? ((${v} = ${o}[${k}]) === undefined ? null : ${v}) : null)`;
  }

  emit(node: Node): string {
    switch (node.kind) {
      case 'literal':
        // The parser and folding only make scalar literals; a structured one would be shared.
        return node.value !== null && typeof node.value === 'object' ? this.constant(node.value) : scalarLiteral(node.value);
      case 'array':
        return `[${node.items.map((i) => this.emit(i)).join(', ')}]`;
      case 'field':
        return this.ownRead('row', node.name, true);
      case 'special':
        if (node.name === '$row') return 'row';
        return node.name === '$time' ? '(scope?.time ?? null)' : '(scope?.key ?? null)';
      case 'var': {
        const t = this.temp();
        return `((${t} = scope?.vars) == null ? null : ${this.ownRead(t, node.name, true)})`;
      }
      case 'member':
        if (node.key.kind === 'literal' && typeof node.key.value === 'string') return this.ownRead(this.emit(node.object), node.key.value, false);
        return `getMember(${this.emit(node.object)}, ${this.emit(node.key)})`;
      case 'unary': {
        if (node.op === '!') return `!${this.test(node.arg)}`;
        const t = this.temp();
        return `(typeof (${t} = ${this.emit(node.arg)}) === 'number' ? -${t} : negate(${t}, ${this.site(node)}))`;
      }
      case 'binary': return this.binary(node);
      case 'logical': return this.logical(node);
      case 'in': return this.membership(node);
      case 'conditional':
        return `(${this.test(node.test)} ? ${this.emit(node.then)} : ${this.emit(node.otherwise)})`;
      case 'call': return this.call(node);
    }
  }

  /** `node` as a JS boolean; comparisons and logic already are one, everything else goes through truthy. */
  private test(node: Node, code = this.emit(node)): string {
    const boolean =
      node.kind === 'in' ||
      (node.kind === 'unary' && node.op === '!') ||
      (node.kind === 'logical' && node.op !== '??') ||
      (node.kind === 'binary' && COMPARISONS.has(node.op));
    return boolean ? code : `truthy(${code})`;
  }

  private binary(node: NodeOf<'binary'>): string {
    const right = node.right;
    const op = node.op;
    if ((op === '==' || op === '!=') && isScalarLiteral(right)) {
      // Scalars compare strictly, so a constant scalar needs no deep compare: `x != null`.
      return `(${this.emit(node.left)} ${op === '==' ? '===' : '!=='} ${scalarLiteral(right.value)})`;
    }
    const a = this.temp();
    const b = this.temp();
    const head = `(${a} = ${this.emit(node.left)}, ${b} = ${this.emit(right)}, `;
    if (op === '==') return `${head}equals(${a}, ${b}))`;
    if (op === '!=') return `${head}!equals(${a}, ${b}))`;
    const site = this.site(node);
    const quoted = JSON.stringify(op);
    const numbers = `typeof ${a} === 'number' && typeof ${b} === 'number'`;
    if (op === '+') return `${head}${numbers} ? ${a} + ${b} : add(${a}, ${b}, ${site}))`;
    const arith = ARITHMETIC[op];
    if (arith !== undefined) {
      const nonZero = op === '/' || op === '%' ? ` && ${b} !== 0` : '';
      return `${head}${numbers}${nonZero} ? ${a} ${arith} ${b} : arithmetic(${quoted}, ${a}, ${b}, ${site}))`;
    }
    return `${head}${numbers} ? ${a} ${ORDERING[op]} ${b} : compare(${quoted}, ${a}, ${b}, ${site}))`;
  }

  private logical(node: NodeOf<'logical'>): string {
    const l = this.emit(node.left);
    const r = this.emit(node.right);
    switch (node.op) {
      case '&&': return `(${this.test(node.left, l)} && ${this.test(node.right, r)})`;
      case '||': return `(${this.test(node.left, l)} || ${this.test(node.right, r)})`;
      case '??': {
        const t = this.temp();
        return `((${t} = ${l}) !== null ? ${t} : ${r})`;
      }
    }
  }

  private membership(node: NodeOf<'in'>): string {
    const negate = node.negated ? '!' : '';
    const right = node.right;
    // `channel in ['app', 'web']`: a Set built once. Only scalars are in it, and a Set never
    // holds an array or object equal to the left side, which matches `equals` semantics.
    if (right.kind === 'array' && right.items.every(isScalarLiteral)) {
      const set = new Set(right.items.map((i) => (i as NodeOf<'literal'>).value));
      return `${negate}${this.constant(set)}.has(${this.emit(node.left)})`;
    }
    const what = JSON.stringify(node.negated ? "'not in'" : "'in'");
    return `${negate}contains(${this.emit(right)}, ${this.emit(node.left)}, ${what}, ${this.site(node)})`;
  }

  private call(node: NodeOf<'call'>): string {
    const { spec, data } = resolveCall(node);
    const args = node.args.map((a) => this.emit(a));
    if (node.name === 'if') return `(${this.test(node.args[0], args[0])} ? ${args[1]} : ${args[2]})`;
    if (node.name === 'coalesce') {
      // Lazy: later arguments are evaluated only when the earlier ones are null.
      return args.reduceRight((rest, arg) => {
        const t = this.temp();
        return `((${t} = ${arg}) !== null ? ${t} : ${rest})`;
      }, 'null');
    }
    return `${this.constant(spec.impl)}([${args.join(', ')}], ${this.site(node)}, ${this.constant(data)})`;
  }
}
