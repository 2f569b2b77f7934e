import { TributaryError } from '../core/errors.js';
import type { ExpressionErrorInfo } from './types.js';

/** The expression text could not be compiled; `info.offset` is where (0-based, in the source). */
export class ExpressionError extends TributaryError {
  readonly info: ExpressionErrorInfo;
  constructor(info: ExpressionErrorInfo) {
    super('TRIB_EXPRESSION', `${info.message} (at offset ${info.offset})`);
    this.name = 'ExpressionError';
    this.info = info;
  }
}

/**
 * A record made the expression fail (a type error that cannot be coerced). The runtime
 * dead-letters the record with this message, so it names the sub-expression and the operator.
 */
export class ExpressionRuntimeError extends TributaryError {
  /** The whole expression's source text. */
  readonly source: string;
  /** 0-based offset of the failing sub-expression in `source`. */
  readonly offset: number;
  constructor(message: string, source: string, offset: number) {
    super('TRIB_EXPRESSION_RUNTIME', message);
    this.name = 'ExpressionRuntimeError';
    this.source = source;
    this.offset = offset;
  }
}

export function fail(message: string, offset: number): never {
  throw new ExpressionError({ message, offset });
}
