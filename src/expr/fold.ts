/**
 * Constant folding: a sub-expression whose inputs are all scalar literals (`60 * 1000`,
 * `-5`, `upper('x')`) becomes a literal. Arrays and objects are never folded, so each
 * evaluation returns a fresh one that a step may mutate. A sub-expression that fails
 * (`'abc' * 2`) is left alone: the error belongs to run time, where it names the record.
 */
import type { Value } from '../core/record.js';
import type { Node } from './ast.js';
import { ExpressionRuntimeError } from './errors.js';

/** Evaluates a constant sub-tree (the caller compiles it the same way as the whole expression). */
export type ConstantEvaluator = (node: Node) => Value;

export function foldConstants(node: Node, evaluate: ConstantEvaluator): Node {
  const folded = foldChildren(node, evaluate);
  if (!childrenAreConstant(folded)) return folded;
  let value: Value;
  try {
    value = evaluate(folded);
  } catch (err) {
    if (err instanceof ExpressionRuntimeError) return folded;
    throw err;
  }
  if (value !== null && typeof value === 'object') return folded;
  return { kind: 'literal', value, start: folded.start, end: folded.end };
}

function isScalar(n: Node): boolean {
  return n.kind === 'literal' && (n.value === null || typeof n.value !== 'object');
}

function childrenAreConstant(n: Node): boolean {
  switch (n.kind) {
    case 'literal': case 'array': case 'field': case 'special': case 'var': return false;
    case 'member': return isScalar(n.object) && isScalar(n.key);
    case 'unary': return isScalar(n.arg);
    case 'binary': case 'logical': case 'in': return isScalar(n.left) && isScalar(n.right);
    case 'conditional': return isScalar(n.test) && isScalar(n.then) && isScalar(n.otherwise);
    case 'call': return n.args.every(isScalar);
  }
}

function foldChildren(n: Node, ev: ConstantEvaluator): Node {
  const f = (c: Node): Node => foldConstants(c, ev);
  switch (n.kind) {
    case 'literal': case 'field': case 'special': case 'var': return n;
    case 'array': return { ...n, items: n.items.map(f) };
    case 'member': return { ...n, object: f(n.object), key: f(n.key) };
    case 'unary': return { ...n, arg: f(n.arg) };
    case 'binary': case 'logical': case 'in': return { ...n, left: f(n.left), right: f(n.right) };
    case 'conditional': return { ...n, test: f(n.test), then: f(n.then), otherwise: f(n.otherwise) };
    // A folded argument counts as a literal: matches(s, '^' + 'a') is as constant as '^a'.
    case 'call': return { ...n, args: n.args.map(f) };
  }
}
