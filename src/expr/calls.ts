/** Compile-time checks of a function call: known name, arity, literal arguments. */
import type { NodeOf } from './ast.js';
import { fail } from './errors.js';
import { closeNames, FUNCTIONS, type FunctionSpec } from './functions/catalog.js';

export interface ResolvedCall {
  spec: FunctionSpec;
  data: unknown;
}

export function resolveCall(node: NodeOf<'call'>): ResolvedCall {
  const spec = FUNCTIONS.get(node.name);
  if (spec === undefined) {
    const close = closeNames(node.name);
    const hint = close.length > 0 ? `did you mean ${close.join(', ')}?` : `known functions: ${[...FUNCTIONS.keys()].join(', ')}`;
    return fail(`unknown function '${node.name}'; ${hint}`, node.nameStart);
  }
  const n = node.args.length;
  if (n < spec.min || n > spec.max) {
    const wanted = spec.min === spec.max ? `${spec.min}` : spec.max === Infinity ? `at least ${spec.min}` : `${spec.min} to ${spec.max}`;
    fail(`${node.name}() takes ${wanted} argument${wanted === '1' ? '' : 's'}, got ${n}: ${spec.signature}`, node.nameStart);
  }
  return { spec, data: spec.prepare?.(node.args) };
}
