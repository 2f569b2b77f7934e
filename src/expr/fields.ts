import type { Node } from './ast.js';

/** Top-level row fields an expression reads, in order of first use. `$row['x']` counts as `x`. */
export function readFields(ast: Node): string[] {
  const out = new Set<string>();
  const visit = (n: Node): void => {
    switch (n.kind) {
      case 'field': out.add(n.name); return;
      case 'literal': case 'special': case 'var': return;
      case 'array': n.items.forEach(visit); return;
      case 'member':
        if (n.object.kind === 'special' && n.object.name === '$row' && n.key.kind === 'literal' && typeof n.key.value === 'string') {
          out.add(n.key.value);
          return;
        }
        visit(n.object);
        visit(n.key);
        return;
      case 'unary': visit(n.arg); return;
      case 'binary': case 'logical': case 'in': visit(n.left); visit(n.right); return;
      case 'conditional': visit(n.test); visit(n.then); visit(n.otherwise); return;
      case 'call': n.args.forEach(visit); return;
    }
  };
  visit(ast);
  return [...out];
}
