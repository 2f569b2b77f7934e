/**
 * The expression language of topology steps (filter, map set, keyBy, explode, dedupe by,
 * aggregate arguments). The language reference is src/expr/README.md.
 *
 * Pipeline: lexer -> parser (AST with offsets) -> constant folding -> generated JS function
 * (compile.ts). Semantics of operators live in values.ts, functions in functions/catalog.ts.
 */
import { compileToFunction } from './compile.js';
import { readFields } from './fields.js';
import { foldConstants } from './fold.js';
import { parse } from './parser.js';
import type { CompiledExpression } from './types.js';

export { ExpressionError, ExpressionRuntimeError } from './errors.js';
export type { CompiledExpression, ExpressionErrorInfo, ExpressionScope } from './types.js';

/** Parses and compiles `source`; throws ExpressionError (with the offset) when it is not valid. */
export function compileExpression(source: string): CompiledExpression {
  const ast = parse(source);
  const fields = Object.freeze(readFields(ast));
  const folded = foldConstants(ast, (node) => compileToFunction(node, source)({}, undefined));
  const run = compileToFunction(folded, source);
  return Object.freeze({
    source,
    fields,
    evaluate: run,
  });
}
