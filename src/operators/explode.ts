/** `explode: <expression>`: one record to many, one output per element of an array. */
import { s } from '../core/spec.js';
import type { CompiledExpression } from '../expr/types.js';
import { defineStep, type Planned } from './step-module.js';
import { expressionFailure } from './failures.js';

const fieldPattern = '^[A-Za-z_][A-Za-z0-9_]*$';

export interface ExplodeParams {
  /** Expression yielding an array; one output row per element. */
  items: CompiledExpression;
  /** Field the element is written to (default: the exploded field's own name when items is a bare field). */
  as: string;
}

export type ExplodeStep = Planned<'explode', ExplodeParams>;

export const explodeStep = defineStep({
  kind: 'explode',
  spec: s.string({ minLength: 1 }).describe('Expression yielding a list: one output row per element.'),
  siblings: {
    as: s.string({ pattern: fieldPattern, patternHint: 'an output field name: letters, digits and _' }).optional()
      .describe('Field the element is written to (default: the exploded field).'),
  },
  plan(c, ctx): ExplodeParams | undefined {
    const items = ctx.expression(['explode'], c.explode);
    if (!items) return undefined;
    const bare = /^\s*([A-Za-z_][A-Za-z0-9_]*)\s*$/.exec(c.explode)?.[1];
    const as = c.as ?? bare;
    if (!as) return ctx.problem("explode of an expression needs 'as:' (the field each element is written to)", { path: ['as'], at: ['explode'], key: true });
    return { items, as };
  },
  describe: (st) => [`each of ${st.items.source} as ${st.as}`],
  toJson: (st) => ({ items: st.items.source, as: st.as }),
  // Null/missing arrays produce nothing; anything else that is not an array is a dead letter.
  operator: (step) => (ctx) => ({
    process(record) {
      let items;
      try {
        items = step.items.evaluate(record.value, { time: record.timestamp, key: record.key });
      } catch (err) {
        expressionFailure(ctx, record, step.id, 'explode', err);
        return;
      }
      if (items === null) return;
      if (!Array.isArray(items)) {
        ctx.deadLetter(record, `explode of step '${step.id}' expected an array, got ${typeof items}`);
        return;
      }
      for (const item of items) ctx.emit({ ...record, value: { ...record.value, [step.as]: item } });
    },
  }),
});
