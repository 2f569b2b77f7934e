/**
 * `window: {...}, aggregate: {...}`: keyed aggregates over event-time windows. The config and
 * its checks live here; the window semantics in operators/windows (pure), wired to the task's
 * stores, timers and outputs below.
 */
import { s, type Infer } from '../core/spec.js';
import { formatDuration } from '../core/duration.js';
import { closest } from '../core/names.js';
import { TIMER_OFFSET, type Origin, type Row, type StreamRecord } from '../core/record.js';
import { TributaryError, errorMessage } from '../core/errors.js';
import { decodeKey, encodeKeyInto, KeyScratch } from '../state/codec/key.js';
import { WindowedAggregation } from './windows/windowed-aggregation.js';
import type { AggregateFn, AggregateSpec, EmitMode, WindowOutputs, WindowResult, WindowSpec } from './windows/types.js';
import { stores } from './stores.js';
import { defineStep, type PlanContext, type Planned } from './step-module.js';

export const aggregateFns: readonly AggregateFn[] = ['count', 'sum', 'min', 'max', 'avg', 'count_distinct', 'first', 'last', 'latest'];

/** Hopping windows with emit: updates touch size/slide windows per record; beyond this, rolling is the tool. */
export const maxHoppingUpdateOverlap = 100;

export interface WindowParams {
  window: WindowSpec;
  aggregates: readonly AggregateSpec[];
  /** Source text of each aggregate, e.g. "sum(amount)" (plan output, fingerprint). */
  aggregateSources: Readonly<Record<string, string>>;
  emit: EmitMode;
  allowedLatenessMs: number;
  distinctExactLimit: number;
}

export type WindowStep = Planned<'window', WindowParams>;

export const windowSpec = s
  .oneOfKeys(
    {
      tumbling: s.duration({ min: 1 }).describe('Fixed, non-overlapping windows of this size.'),
      hopping: s.object({ size: s.duration({ min: 1 }), slide: s.duration({ min: 1 }) }).describe('Windows of `size` starting every `slide`.'),
      rolling: s.duration({ min: 1 }).describe('The last `size` as of each event and as of now; needs `emit: updates`.'),
      session: s.object({ gap: s.duration({ min: 1 }) }).describe('Activity separated by at least `gap` of silence.'),
    },
    {
      siblings: {
        rolling: { resolution: s.duration({ min: 1 }).default(60_000).describe('Precision of the trailing edge; `rolling` must be a multiple of it.') },
      },
      noun: 'window type',
    },
  )
  .describe('The window: `{ rolling: 3d, resolution: 1m }`, `{ tumbling: 1m }`, `{ hopping: { size: 1h, slide: 1m } }` or `{ session: { gap: 30m } }`.');

type WindowConfig = Infer<typeof windowSpec>;

export const windowStep = defineStep({
  kind: 'window',
  spec: windowSpec,
  siblings: {
    aggregate: s
      .record(s.string({ minLength: 1 }), { keyPattern: '^[A-Za-z_][A-Za-z0-9_]*$', keyHint: 'an output field name: letters, digits and _' })
      .describe('output field: fn(expr) with fn in count, sum, min, max, avg, count_distinct, first, last, latest.'),
    emit: s.enum(['updates', 'final'] as const).default('updates').describe('updates: on every change; final: once when the window closes.'),
    allowedLateness: s.duration().default(0).describe('How long after a window ends records are still accepted.'),
    distinctExactLimit: s.number({ integer: true, min: 1 }).optional().describe('Overrides spec.state.distinctExactLimit for this step.'),
  },
  needsKey: true,
  lateOutput: true,
  plan(c, ctx): WindowParams | undefined {
    const window = windowOf(ctx, c.window, c.emit);
    const aggregates: AggregateSpec[] = [];
    const aggregateSources: Record<string, string> = {};
    const entries = Object.entries(c.aggregate);
    let failed = !window;
    if (entries.length === 0) {
      ctx.problem('expected at least one aggregate, e.g. cnt: count()', { path: ['aggregate'], key: true });
      failed = true;
    }
    for (const [name, source] of entries) {
      const agg = parseAggregate(ctx, name, source);
      if (agg) {
        aggregates.push(agg);
        aggregateSources[name] = source.trim();
      } else failed = true;
    }
    if (failed || !window) return undefined;
    const distinctExactLimit = c.distinctExactLimit ?? ctx.stateDefaults.distinctExactLimit;
    return { window, aggregates, aggregateSources, emit: c.emit, allowedLatenessMs: c.allowedLateness, distinctExactLimit };
  },
  state: {
    stores: (st) => {
      const aggregation = aggregationOf(st);
      return { windows: stores.window(aggregation.headCodec, aggregation.sliceCodec), timers: stores.timers() };
    },
    // Emit mode and allowed lateness change behaviour, not state: left out.
    identity: (st, _c, key) => ({
      kind: 'window',
      key,
      window: st.window,
      aggregates: Object.entries(st.aggregateSources).map(([name, source]) => ({ name, source })),
      distinctExactLimit: st.distinctExactLimit,
    }),
  },
  // Rows and keys are kept (or output fields derive from them): partitioned as the input.
  partitionedBy: (_st, input) => input,
  describe: (st) => [
    `${windowText(st.window)}, emit ${st.emit}${st.allowedLatenessMs ? `, allowed lateness ${formatDuration(st.allowedLatenessMs)}` : ''}`,
    ...Object.entries(st.aggregateSources).map(([name, src]) => `${name} = ${src}`),
  ],
  toJson: (st) => ({
    window: st.window,
    aggregates: st.aggregates.map((a) => ({ name: a.name, fn: a.fn, source: st.aggregateSources[a.name] })),
    emit: st.emit, allowedLatenessMs: st.allowedLatenessMs, distinctExactLimit: st.distinctExactLimit,
  }),
  operator: (step) => {
    const aggregation = aggregationOf(step);
    return (ctx, { windows, timers }) => {
      const windowCtx = { store: windows, timers };
      let current: StreamRecord | undefined;
      // The record key's bytes, rewritten per record: the store and the timers copy what they keep,
      // and no other call of this instance can run while a record is in it (a topology is a DAG).
      const scratch = new KeyScratch();
      // Results a timer caused have no input record; they share one origin (never mutated).
      const timerOrigin = { source: step.id, partition: ctx.partition, offset: TIMER_OFFSET };
      const outputs: WindowOutputs = {
        emit(result) {
          const origin = current?.origin ?? timerOrigin;
          ctx.emit({ value: windowRow(result), key: result.key, timestamp: result.asOf, origin });
        },
        late(reason) {
          if (current) ctx.late(current, reason);
        },
      };
      return {
        process(record) {
          current = record;
          try {
            aggregation.onRecord(windowCtx, record.key, encodeKeyInto(record.key, scratch), record.timestamp, record.value, ctx.watermark, outputs, recordOrder(record.origin));
          } catch (err) {
            if (err instanceof TributaryError && err.code === 'TRIB_RECORD_INVALID') {
              ctx.deadLetter(record, `window step '${step.id}': ${errorMessage(err)}`, err);
            } else {
              throw err;
            }
          } finally {
            current = undefined;
          }
        },
        onWatermark(watermark) {
          for (let due = timers.nextDue(watermark); due; due = timers.nextDue(watermark)) {
            aggregation.onTimer(windowCtx, decodeKey(due.key), due.key, due.time, watermark, outputs, due.tagged);
          }
        },
      };
    };
  },
});

/** One WindowedAggregation per planned step: its codecs are the store's, its logic every partition's. */
const aggregations = new WeakMap<WindowStep, WindowedAggregation>();

function aggregationOf(step: WindowStep): WindowedAggregation {
  let aggregation = aggregations.get(step);
  if (!aggregation) {
    aggregation = new WindowedAggregation({
      window: step.window,
      aggregates: step.aggregates,
      emit: step.emit,
      allowedLateness: step.allowedLatenessMs,
      distinctExactLimit: step.distinctExactLimit,
    });
    aggregations.set(step, aggregation);
  }
  return aggregation;
}

function windowText(w: WindowSpec): string {
  switch (w.kind) {
    case 'rolling':
      return `rolling ${formatDuration(w.size)} (resolution ${formatDuration(w.resolution)})`;
    case 'hopping':
      return `hopping ${formatDuration(w.size)} every ${formatDuration(w.slide)}`;
    case 'tumbling':
      return `tumbling ${formatDuration(w.size)}`;
    case 'session':
      return `session (gap ${formatDuration(w.gap)})`;
  }
}

function windowOf(ctx: PlanContext, w: WindowConfig, emit: EmitMode): WindowSpec | undefined {
  if ('rolling' in w) {
    if (w.rolling % w.resolution !== 0) {
      return ctx.problem(`rolling size ${formatDuration(w.rolling)} must be a multiple of resolution ${formatDuration(w.resolution)}`, { path: ['window', 'rolling'] });
    }
    if (emit !== 'updates') {
      return ctx.problem('rolling windows need emit: updates (their value changes with every event and as time passes); use tumbling or hopping for final values', { path: ['emit'] });
    }
    return { kind: 'rolling', size: w.rolling, resolution: w.resolution };
  }
  if ('hopping' in w) {
    const { size, slide } = w.hopping;
    if (size % slide !== 0) {
      return ctx.problem(`hopping size ${formatDuration(size)} must be a multiple of slide ${formatDuration(slide)}`, { path: ['window', 'hopping', 'size'] });
    }
    if (emit === 'updates' && size / slide > maxHoppingUpdateOverlap) {
      return ctx.problem(
        `a ${formatDuration(size)} window sliding every ${formatDuration(slide)} with emit: updates would update ${size / slide} windows per record ` +
          `(at most ${maxHoppingUpdateOverlap}); use { rolling: ${formatDuration(size)}, resolution: ${formatDuration(slide)} } instead, or emit: final`,
        { path: ['window', 'hopping'] },
      );
    }
    return { kind: 'hopping', size, slide };
  }
  if ('tumbling' in w) return { kind: 'tumbling', size: w.tumbling };
  return { kind: 'session', gap: w.session.gap };
}

const aggregateCall = /^(\s*)([A-Za-z_][A-Za-z0-9_]*)\s*\(([\s\S]*)\)\s*$/;

function parseAggregate(ctx: PlanContext, name: string, source: string): AggregateSpec | undefined {
  const path = ['aggregate', name];
  const valid = aggregateFns.join(', ');
  const m = aggregateCall.exec(source);
  if (!m) return ctx.problem(`expected fn(expr), e.g. sum(amount), with fn one of ${valid}`, { path, offset: 0 });
  const [, lead, fnName, inner] = m;
  const fnOffset = lead.length;
  if (!(aggregateFns as readonly string[]).includes(fnName)) {
    const guess = closest(fnName, aggregateFns);
    return ctx.problem(`unknown aggregate function '${fnName}'${guess ? `; did you mean '${guess}'?` : ''} (valid: ${valid})`, { path, offset: fnOffset });
  }
  const fn = fnName as AggregateFn;
  const argOffset = source.indexOf('(', fnOffset + fnName.length) + 1;
  if (inner.trim() === '') {
    if (fn === 'count') return { name, fn };
    return ctx.problem(`${fn}() needs an argument, e.g. ${fn}(amount)`, { path, offset: argOffset });
  }
  const expr = ctx.expression(path, inner, argOffset);
  if (!expr) return undefined;
  return { name, fn, arg: (row, time) => expr.evaluate(row, { time }) };
}

/** The output row of a window step: key, window bounds, what caused it, then one field per aggregate. */
export function windowRow(result: WindowResult): Row {
  const row: Row = {
    key: result.key,
    window_start: result.windowStart,
    window_end: result.windowEnd,
    as_of: result.asOf,
    emit: result.kind,
  };
  // A loop, not a spread: this runs once or twice per record and spread into a literal is slower.
  const values = result.values;
  for (const name in values) row[name] = values[name]!;
  return row;
}

const OFFSET_LIMIT = 2 ** 41;
const sourceTags = new Map<string, number>();
let lastSource = '';
let lastTag = -1;

/** FNV-1a of the source name, 4 bits: stable across runs and processes. */
function sourceTag(source: string): number {
  if (source === lastSource && lastTag >= 0) return lastTag;
  let tag = sourceTags.get(source);
  if (tag === undefined) {
    let h = 0x811c9dc5;
    for (let i = 0; i < source.length; i++) h = Math.imul(h ^ source.charCodeAt(i), 0x01000193);
    tag = (h >>> 0) % 16;
    sourceTags.set(source, tag);
  }
  lastSource = source;
  lastTag = tag;
  return tag;
}

/**
 * A record's deterministic tie-break position for first/last (see WindowedAggregation.onRecord):
 *   offset · 4096 + partition · 16 + tag(source)
 * exact and distinct per (source, partition, offset) while offset < 2^41, partition < 256 and
 * the sources' 4-bit tags differ; always a safe integer (< 2^53). Beyond those bounds the parts
 * wrap (offset mod 2^41, partition mod 256): still a pure function of the origin, so still
 * deterministic, but two records may share an order and then fall back to arrival order. Records
 * from one source record (explode) share an order too, and arrive in a fixed order; results an
 * upstream window step emitted from a timer (offset −1) share one as well, and their arrival
 * order is only deterministic within one partition.
 */
export function recordOrder(origin: Origin): number {
  const { offset: o, partition: p } = origin;
  const offset = Number.isFinite(o) && o >= 0 ? Math.floor(o) % OFFSET_LIMIT : 0;
  const partition = Number.isFinite(p) && p >= 0 ? Math.floor(p) % 256 : 0;
  return offset * 4096 + partition * 16 + sourceTag(origin.source);
}
