/** `filter: <expression>`: rows for which the expression is true pass. */
import { s } from '../core/spec.js';
import type { CompiledExpression } from '../expr/types.js';
import { defineStep, type Planned } from './step-module.js';
import { expressionFailure } from './failures.js';

export type FilterStep = Planned<'filter', { predicate: CompiledExpression }>;

export const filterStep = defineStep({
  kind: 'filter',
  spec: s.string({ minLength: 1 }).describe('Expression: rows for which it is true pass.'),
  plan(c, ctx) {
    const predicate = ctx.expression(['filter'], c.filter);
    return predicate && { predicate };
  },
  // Rows and keys are kept (or output fields derive from them): partitioned as the input.
  partitionedBy: (_st, input) => input,
  describe: (st) => [`where ${st.predicate.source}`],
  toJson: (st) => ({ predicate: st.predicate.source }),
  operator: (step) => (ctx) => ({
    process(record) {
      let keep: unknown;
      try {
        keep = step.predicate.evaluate(record.value, { time: record.timestamp, key: record.key });
      } catch (err) {
        expressionFailure(ctx, record, step.id, 'filter', err);
        return;
      }
      if (keep === true) ctx.emit(record);
    },
  }),
});
