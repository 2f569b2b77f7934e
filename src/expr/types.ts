import type { Row, Value } from '../core/record.js';

/** Extra bindings an expression may read besides the row's fields. */
export interface ExpressionScope {
  /** Record event time, epoch ms: `$time` in expressions. */
  time?: number;
  /** Record key (after keyBy): `$key`. */
  key?: Value;
  /** Extra named values (explode's `as:` binding, dedupe's ...). */
  vars?: Readonly<Record<string, Value>>;
}

/** An expression compiled once; evaluate is safe to call millions of times. */
export interface CompiledExpression {
  readonly source: string;
  /** Top-level row fields it reads (for docs/plan output and lineage). */
  readonly fields: readonly string[];
  /** Never throws for missing fields (they are null); throws ExpressionRuntimeError on type errors it cannot coerce. */
  evaluate(row: Row, scope?: ExpressionScope): Value;
}

/** A compile error, with the 0-based offset inside the expression text where it was found. */
export interface ExpressionErrorInfo {
  message: string;
  offset: number;
}
