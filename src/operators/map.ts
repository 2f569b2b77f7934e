import type { MapStep } from '../topology/plan.js';
import type { Row } from '../runtime/record.js';
import type { OperatorFactory } from './types.js';
import { expressionFailure } from './failures.js';

/** set (expressions over the input row), then rename, then drop. The input row is never mutated. */
export function mapOperator(step: MapStep): OperatorFactory {
  const { set, rename, drop } = step;
  return ({ ctx }) => ({
    process(record) {
      const input = record.value;
      const out: Row = { ...input };
      try {
        const scope = { time: record.timestamp, key: record.key };
        for (const { field, expr } of set) out[field] = expr.evaluate(input, scope);
      } catch (err) {
        expressionFailure(ctx, record, step.id, 'map', err);
        return;
      }
      for (const { from, to } of rename) {
        if (Object.hasOwn(out, from)) {
          out[to] = out[from]!;
          delete out[from];
        }
      }
      for (const field of drop) delete out[field];
      ctx.emit({ ...record, value: out });
    },
  });
}
