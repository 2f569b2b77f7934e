/**
 * The expression AST. Every node keeps the [start, end) offsets of its text in the source so
 * compile errors point at the offending token and runtime errors can quote the sub-expression.
 */
import type { Value } from '../core/record.js';

interface Span {
  start: number;
  end: number;
}

export type BinaryOp = '+' | '-' | '*' | '/' | '%' | '<' | '<=' | '>' | '>=' | '==' | '!=';
export type LogicalOp = '&&' | '||' | '??';

export type Node =
  | (Span & { kind: 'literal'; value: Value })
  | (Span & { kind: 'array'; items: Node[] })
  /** A top-level row field. */
  | (Span & { kind: 'field'; name: string })
  /** `$time`, `$key`, `$row`, or `$name` (scope.vars.name). */
  | (Span & { kind: 'special'; name: '$time' | '$key' | '$row' })
  | (Span & { kind: 'var'; name: string })
  /** `a.b` and `a[expr]`. */
  | (Span & { kind: 'member'; object: Node; key: Node })
  | (Span & { kind: 'unary'; op: '!' | '-'; arg: Node })
  | (Span & { kind: 'binary'; op: BinaryOp; left: Node; right: Node; opStart: number })
  | (Span & { kind: 'logical'; op: LogicalOp; left: Node; right: Node })
  | (Span & { kind: 'in'; negated: boolean; left: Node; right: Node })
  | (Span & { kind: 'conditional'; test: Node; then: Node; otherwise: Node })
  | (Span & { kind: 'call'; name: string; nameStart: number; args: Node[] });

export type NodeOf<K extends Node['kind']> = Extract<Node, { kind: K }>;
