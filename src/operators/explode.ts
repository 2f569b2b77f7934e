import type { ExplodeStep } from '../topology/plan.js';
import type { OperatorFactory } from './types.js';
import { expressionFailure } from './failures.js';

/** One record to many: one output per element of an array; null/missing arrays produce nothing. */
export function explodeOperator(step: ExplodeStep): OperatorFactory {
  return ({ ctx }) => ({
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
  });
}
