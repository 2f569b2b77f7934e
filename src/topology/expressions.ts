/** Expressions inside YAML scalars: compile errors point at the exact file:line:col. */
import { TopologyError } from '../core/errors.js';
import { compileExpression, ExpressionError } from '../expr/index.js';
import type { CompiledExpression } from '../expr/types.js';
import type { ConfigNode } from '../core/config-node.js';

export interface Diagnostics {
  file: string;
  errors: TopologyError[];
}

/**
 * Compile `source`, which sits at `offset` inside the scalar `node` (the aggregate
 * `sum(amount)` puts its argument at offset 4). Undefined after recording an error.
 */
export function compileAt(
  diag: Diagnostics,
  node: ConfigNode | undefined,
  path: string,
  source: string,
  offset = 0,
): CompiledExpression | undefined {
  try {
    return compileExpression(source);
  } catch (err) {
    if (!(err instanceof ExpressionError)) throw err;
    const at = node?.kind === 'scalar' && node.locate ? node.locate(offset + err.info.offset) : node?.pos ?? { line: 1, col: 1 };
    // Never echo text that came from the environment.
    const message = node?.kind === 'scalar' && node.interpolated
      ? `invalid expression (after interpolating ${node.interpolated.source}) at offset ${err.info.offset}`
      : `invalid expression: ${err.info.message}`;
    diag.errors.push(new TopologyError('TRIB_EXPRESSION', { file: diag.file, line: at.line, col: at.col, path }, message));
    return undefined;
  }
}
