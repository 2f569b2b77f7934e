/** `map: { set, rename, drop }`: reshape rows. */
import { s } from '../core/spec.js';
import type { Row, Value } from '../core/record.js';
import type { CompiledExpression } from '../expr/types.js';
import { defineStep, type Planned } from './step-module.js';
import type { Operator, OperatorContext } from './types.js';
import { expressionFailure } from './failures.js';
import { shapedRows } from './row-shapes.js';

export interface MapParams {
  /** Applied in this order: set (expressions over the input row), rename, drop. */
  set: ReadonlyArray<{ field: string; expr: CompiledExpression }>;
  rename: ReadonlyArray<{ from: string; to: string }>;
  drop: readonly string[];
}

export type MapStep = Planned<'map', MapParams>;

const mapSpec = s
  .object({
    set: s.record(s.string(), { keyPattern: '^[A-Za-z_][A-Za-z0-9_]*$', keyHint: 'an output field name: letters, digits and _' })
      .optional().describe('field: expression over the input row.'),
    rename: s.record(s.string({ minLength: 1 })).optional().describe('old field: new field.'),
    drop: s.array(s.string({ minLength: 1 })).optional().describe('Fields to remove.'),
  })
  .describe('Applied in order: set, rename, drop.');

export const mapStep = defineStep({
  kind: 'map',
  spec: mapSpec,
  plan(c, ctx): MapParams | undefined {
    const set: Array<{ field: string; expr: CompiledExpression }> = [];
    let failed = false;
    for (const [field, source] of Object.entries(c.map.set ?? {})) {
      const expr = ctx.expression(['map', 'set', field], source);
      if (expr) set.push({ field, expr });
      else failed = true;
    }
    if (failed) return undefined;
    return { set, rename: Object.entries(c.map.rename ?? {}).map(([from, to]) => ({ from, to })), drop: c.map.drop ?? [] };
  },
  // Still partitioned by a plain field the map neither sets, renames nor drops.
  partitionedBy: (st, input) => (input !== undefined && mapKeeps(st, input) ? input : undefined),
  describe: (st) => [
    ...st.set.map((x) => `set ${x.field} = ${x.expr.source}`),
    ...st.rename.map((x) => `rename ${x.from} → ${x.to}`),
    ...(st.drop.length ? [`drop ${st.drop.join(', ')}`] : []),
  ],
  toJson: (st) => ({ set: st.set.map((x) => ({ field: x.field, expr: x.expr.source })), rename: st.rename, drop: st.drop }),
  operator: (step) => mapInstance(step),
});

const identifier = /^[A-Za-z_][A-Za-z0-9_]*$/;

function mapKeeps(step: MapParams, key: string): boolean {
  if (!identifier.test(key)) return false;
  if (step.set.some((x) => x.field === key)) return false;
  if (step.rename.some((r) => r.from === key || r.to === key)) return false;
  return !step.drop.includes(key);
}

/**
 * set, then rename, then drop. The input row is never mutated. Without renames the output is
 * built in one pass with no `delete` (which would push rows into V8's slow dictionary mode on
 * the hot path). Rows of a shape seen before are built by code made for it (row-shapes.ts).
 */
/** A field named `__proto__` (JSON.parse makes one) is a field here, not the row's prototype. */
function setField(row: Row, name: string, value: Value): void {
  if (name === '__proto__') Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  else row[name] = value;
}

function mapInstance(step: MapStep): (ctx: OperatorContext) => Operator {
  const { set, rename, drop } = step;
  const dropped = new Set(drop);
  const setNames = new Set(set.map((x) => x.field));
  const values: Value[] = new Array<Value>(set.length);

  const withRenames = (input: Row, computed: readonly Value[]): Row => {
    const out: Row = { ...input };
    for (let i = 0; i < set.length; i++) setField(out, set[i]!.field, computed[i]!);
    for (const { from, to } of rename) {
      if (Object.hasOwn(out, from)) {
        setField(out, to, out[from]!);
        delete out[from];
      }
    }
    for (const field of drop) delete out[field];
    return out;
  };

  const onePass = (input: Row, computed: readonly Value[]): Row => {
    const out: Row = {};
    for (const k in input) {
      if (!Object.hasOwn(input, k) || dropped.has(k) || setNames.has(k)) continue;
      setField(out, k, input[k]!);
    }
    for (let i = 0; i < set.length; i++) {
      const name = set[i]!.field;
      if (!dropped.has(name)) setField(out, name, computed[i]!);
    }
    return out;
  };

  const build = shapedRows(rename.length > 0 ? withRenames : onePass, set.length);
  return (ctx: OperatorContext): Operator => ({
    process(record) {
      const input = record.value;
      try {
        const scope = { time: record.timestamp, key: record.key };
        for (let i = 0; i < set.length; i++) values[i] = set[i]!.expr.evaluate(input, scope);
      } catch (err) {
        expressionFailure(ctx, record, step.id, 'map', err);
        return;
      }
      ctx.emit({ value: build(input, values), key: record.key, timestamp: record.timestamp, origin: record.origin });
    },
  });
}
