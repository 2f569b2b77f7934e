import type { MapStep } from '../topology/plan.js';
import type { Row, Value } from '../core/record.js';
import type { OperatorFactory } from './types.js';
import { expressionFailure } from './failures.js';

/**
 * set (expressions over the input row), then rename, then drop. The input row is never mutated.
 * Without renames the output is built in one pass with no `delete` (which would push rows into
 * V8's slow dictionary mode on the hot path).
 */
export function mapOperator(step: MapStep): OperatorFactory {
  const { set, rename, drop } = step;
  const dropped = new Set(drop);
  const setNames = new Set(set.map((s) => s.field));
  const values: Value[] = new Array<Value>(set.length);

  const withRenames = (input: Row): Row => {
    const out: Row = { ...input };
    for (let i = 0; i < set.length; i++) out[set[i]!.field] = values[i]!;
    for (const { from, to } of rename) {
      if (Object.hasOwn(out, from)) {
        out[to] = out[from]!;
        delete out[from];
      }
    }
    for (const field of drop) delete out[field];
    return out;
  };

  const onePass = (input: Row): Row => {
    const out: Row = {};
    for (const k in input) {
      if (!Object.hasOwn(input, k) || dropped.has(k) || setNames.has(k)) continue;
      out[k] = input[k]!;
    }
    for (let i = 0; i < set.length; i++) {
      const name = set[i]!.field;
      if (!dropped.has(name)) out[name] = values[i]!;
    }
    return out;
  };

  const build = rename.length > 0 ? withRenames : onePass;
  return ({ ctx }) => ({
    process(record) {
      const input = record.value;
      try {
        const scope = { time: record.timestamp, key: record.key };
        for (let i = 0; i < set.length; i++) values[i] = set[i]!.expr.evaluate(input, scope);
      } catch (err) {
        expressionFailure(ctx, record, step.id, 'map', err);
        return;
      }
      ctx.emit({ value: build(input), key: record.key, timestamp: record.timestamp, origin: record.origin });
    },
  });
}
