import type { FilterStep } from '../topology/plan.js';
import type { OperatorFactory } from './types.js';
import { expressionFailure } from './failures.js';

export function filterOperator(step: FilterStep): OperatorFactory {
  const predicate = step.predicate;
  return ({ ctx }) => ({
    process(record) {
      let keep: unknown;
      try {
        keep = predicate.evaluate(record.value, { time: record.timestamp, key: record.key });
      } catch (err) {
        expressionFailure(ctx, record, step.id, 'filter', err);
        return;
      }
      if (keep === true) ctx.emit(record);
    },
  });
}
