/** Behaviour of WindowedAggregation beyond the reference comparison: cost per event, state, errors, codecs. */
import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../src/core/errors.js';
import type { Row } from '../../../src/core/record.js';
import { WindowedAggregation, type WindowHead, type WindowSlice } from '../../../src/operators/windows/windowed-aggregation.js';
import type { AggregateSpec, WindowedAggregationSpec, WindowResult, WindowSpec } from '../../../src/operators/windows/types.js';
import { Driver } from './harness.js';
import { INLINE_MAX, UNSPILL_AT } from '../../../src/operators/windows/rolling-window.js';
import { MAX_SLICES } from '../../../src/operators/windows/flat-slices.js';

const MIN = 60_000;
const DAY = 24 * 60 * MIN;
const T0 = 1_700_000_000_000;
const field = (name: string) => (row: Row) => row[name] ?? null;
const AGGS: AggregateSpec[] = [
  { name: 'n', fn: 'count' },
  { name: 'total', fn: 'sum', arg: field('amount') },
  { name: 'devices', fn: 'count_distinct', arg: field('device') },
];

function spec(window: WindowSpec, over: Partial<WindowedAggregationSpec> = {}): WindowedAggregationSpec {
  return { window, aggregates: AGGS, emit: 'updates', allowedLateness: 0, distinctExactLimit: 1000, ...over };
}

function emitted(events: ReturnType<Driver['send']>): WindowResult[] {
  return [...events.events, ...events.timerEvents].flatMap((e) => (e.type === 'emit' ? [e.result] : []));
}

describe('cost per event', () => {
  it.each<[string, WindowSpec, WindowedAggregationSpec['emit']]>([
    ['rolling 3d / 1m', { kind: 'rolling', size: 3 * DAY, resolution: MIN }, 'updates'],
    ['hopping 3d / 1m, final', { kind: 'hopping', size: 3 * DAY, slide: MIN }, 'final'],
    ['tumbling 1m, final', { kind: 'tumbling', size: MIN }, 'final'],
  ])('%s: every event touches O(1) slices and timers, the window holding thousands', (_name, window, emit) => {
    const d = new Driver(new WindowedAggregation(spec(window, { emit })), { maxOutOfOrder: 0, watermark: 'before', encodeState: false });
    let maxSliceOps = 0;
    let maxTimerOps = 0;
    let totalSliceOps = 0;
    const events = 8 * 24 * 60; // one event a minute for 8 days: the window fills up (4,320 slices) and slides
    for (let i = 0; i < events; i++) {
      const before = { ...d.store.ops };
      const timersBefore = d.timers.ops;
      d.send('user-1', T0 + i * MIN + 17, { amount: i % 7, device: `d${i % 5}` });
      const ops = d.store.ops.sliceGets + d.store.ops.slicePuts + d.store.ops.sliceDeletes - before.sliceGets - before.slicePuts - before.sliceDeletes;
      maxSliceOps = Math.max(maxSliceOps, ops);
      totalSliceOps += ops;
      maxTimerOps = Math.max(maxTimerOps, d.timers.ops - timersBefore);
    }
    // The one event that moves a rolling key's inline slices out writes them all (and its own).
    expect(maxSliceOps).toBeLessThanOrEqual(Math.max(8, INLINE_MAX + 1));
    expect(totalSliceOps / events).toBeLessThanOrEqual(6);
    expect(maxTimerOps).toBeLessThanOrEqual(2);
    if (window.kind !== 'tumbling') expect(d.stateEntries().slices).toBeGreaterThan(4000);
  });

  it('a rolling window emits at most twice per slice: on its records and on its expiry, never per resolution step', () => {
    const d = new Driver(new WindowedAggregation(spec({ kind: 'rolling', size: 3 * DAY, resolution: MIN })), { maxOutOfOrder: 0, watermark: 'before', encodeState: false });
    const results: WindowResult[] = [];
    for (let i = 0; i < 10; i++) results.push(...emitted(d.send('k', T0 + i * 3 * MIN, { amount: 1, device: 'x' })));
    results.push(...d.advanceTo(T0 + 30 * DAY).flatMap((e) => (e.type === 'emit' ? [e.result] : [])));
    expect(results.filter((r) => r.kind === 'update')).toHaveLength(10);
    const expires = results.filter((r) => r.kind === 'expire');
    expect(expires.length).toBeGreaterThan(0);
    expect(expires.length).toBeLessThanOrEqual(10);
    expect(expires.at(-1)!.values).toEqual({ n: 0, total: 0, devices: 0 });
    expect(d.stateEntries()).toEqual({ heads: 0, slices: 0, timers: 0 });
  });

  it('a rolling key with a few live slices is one state entry; more move to slice entries with the same values', () => {
    const d = new Driver(new WindowedAggregation(spec({ kind: 'rolling', size: 3 * DAY, resolution: MIN })), { maxOutOfOrder: 0, watermark: 'before', encodeState: true });
    let last: WindowResult | undefined;
    for (let i = 0; i < 5; i++) last = emitted(d.send('k', T0 + i * 7 * MIN, { amount: i, device: `d${i % 3}` })).at(-1);
    expect(d.stateEntries()).toEqual({ heads: 1, slices: 0, timers: 1 });
    expect(last?.values).toEqual({ n: 5, total: 10, devices: 3 });
    const n = INLINE_MAX + 2;
    for (let i = 5; i < n; i++) last = emitted(d.send('k', T0 + i * 7 * MIN, { amount: i, device: `d${i % 3}` })).at(-1);
    expect(d.stateEntries()).toEqual({ heads: 1, slices: n, timers: 1 });
    expect(last?.values).toEqual({ n, total: (n * (n - 1)) / 2, devices: 3 });
    // Expiry leaves UNSPILL_AT slices (the last ones, i = n - UNSPILL_AT ..): back inline, same values.
    const first = n - UNSPILL_AT;
    const expired = d.advanceTo(T0 + 3 * DAY + (first - 1) * 7 * MIN + 1).flatMap((e) => (e.type === 'emit' ? [e.result] : []));
    let total = 0;
    for (let i = first; i < n; i++) total += i;
    expect(expired.at(-1)?.values).toEqual({ n: UNSPILL_AT, total, devices: 3 });
    expect(d.stateEntries()).toEqual({ heads: 1, slices: 0, timers: 1 });
    last = emitted(d.send('k', T0 + 3 * DAY + (first - 1) * 7 * MIN + 2, { amount: 100, device: 'd9' })).at(-1);
    expect(last?.values).toEqual({ n: UNSPILL_AT + 1, total: total + 100, devices: 4 });
    expect(d.stateEntries()).toEqual({ heads: 1, slices: 0, timers: 1 });
  });

  it('expiry emits the decreased value when the watermark moves, with no new event for the key', () => {
    const d = new Driver(new WindowedAggregation(spec({ kind: 'rolling', size: 10 * MIN, resolution: MIN })), { maxOutOfOrder: 0, watermark: 'before', encodeState: true });
    d.send('k', T0, { amount: 5, device: 'a' });
    d.send('k', T0 + 4 * MIN, { amount: 7, device: 'b' });
    // Another key drives the watermark past the first slice's leave time.
    const res = d.send('other', T0 + 10 * MIN + 1, { amount: 1, device: 'z' });
    const expire = emitted(res).find((r) => r.key === 'k');
    expect(expire).toMatchObject({ kind: 'expire', values: { n: 1, total: 7, devices: 1 } });
    expect(expire!.windowEnd - expire!.windowStart).toBe(10 * MIN);
  });
});

describe('records and state', () => {
  it('a record with a bad value throws TRIB_RECORD_INVALID and leaves no trace', () => {
    for (const window of [
      { kind: 'tumbling', size: MIN },
      { kind: 'hopping', size: 3 * MIN, slide: MIN },
      { kind: 'rolling', size: 3 * MIN, resolution: MIN },
      { kind: 'session', gap: MIN },
    ] as WindowSpec[]) {
      const d = new Driver(new WindowedAggregation(spec(window)), { maxOutOfOrder: 0, watermark: 'before', encodeState: true });
      const res = d.send('k', T0, { amount: 'twelve', device: 'a' });
      expect(res.error, window.kind).toBeInstanceOf(TributaryError);
      expect((res.error as TributaryError).code).toBe('TRIB_RECORD_INVALID');
      expect((res.error as TributaryError).message).toContain('total = sum');
      expect(d.stateEntries(), window.kind).toEqual({ heads: 0, slices: 0, timers: 0 });
      const ok = emitted(d.send('k', T0 + 1, { amount: 2, device: 'a' }));
      expect(ok[0]!.values, window.kind).toEqual({ n: 1, total: 2, devices: 1 });
    }
  });

  it('refuses event times that cannot be epoch milliseconds', () => {
    const d = new Driver(new WindowedAggregation(spec({ kind: 'tumbling', size: MIN })), { maxOutOfOrder: 0, watermark: 'before', encodeState: false });
    for (const t of [NaN, Infinity, 2 ** 60]) {
      expect(() => d.op.onRecord({ store: d.store, timers: d.timers }, 'k', new Uint8Array([1]), t, {}, -Infinity, { emit: () => {}, late: () => {} }, 0)).toThrow(/event time/);
    }
  });

  it('late records go to late() with the reason, and nothing else happens', () => {
    const d = new Driver(new WindowedAggregation(spec({ kind: 'tumbling', size: MIN }, { emit: 'final', allowedLateness: 30_000 })), { maxOutOfOrder: 0, watermark: 'before', encodeState: false });
    d.send('k', T0 + 5 * MIN, { amount: 1, device: 'a' });
    d.send('k', T0 + 10 * MIN, { amount: 1, device: 'a' });
    const res = d.send('k', T0, { amount: 1, device: 'a' });
    expect(res.events).toEqual([{ type: 'late', reason: expect.stringContaining('allowed lateness 30000 ms') }]);
  });

  it('state round-trips through the head and slice codecs for every window kind', () => {
    for (const window of [
      { kind: 'tumbling', size: MIN },
      { kind: 'hopping', size: 5 * MIN, slide: MIN },
      { kind: 'rolling', size: 5 * MIN, resolution: MIN },
      { kind: 'session', gap: MIN },
    ] as WindowSpec[]) {
      const op = new WindowedAggregation(spec(window, { emit: window.kind === 'rolling' ? 'updates' : 'final', distinctExactLimit: 2 }));
      const d = new Driver(op, { maxOutOfOrder: 2 * MIN, watermark: 'before', encodeState: false });
      for (let i = 0; i < 40; i++) d.send('k', T0 + i * 20_000 - (i % 3) * 40_000, { amount: i, device: `d${i % 4}` });
      let heads = 0;
      for (const h of d.store.heads.values()) {
        const head = h as WindowHead;
        expect(op.headCodec.decode(op.headCodec.encode(head))).toEqual(head);
        heads++;
      }
      for (const s of d.store.slices.values()) {
        const slice = s as WindowSlice;
        expect(op.sliceCodec.decode(op.sliceCodec.encode(slice))).toEqual(slice);
      }
      expect(heads, window.kind).toBe(1);
    }
  });

  it('a key without a timer is stored as before (u8 0, what a reader before NO_TIMER wrote and reads as null) and read back as NO_TIMER', () => {
    // Heads with no timer, as the layout before NO_TIMER (timer: null) encoded them.
    for (const [window, hex] of [
      [{ kind: 'session', gap: MIN }, '0303000180a0abfef962b0ea01'],
      [{ kind: 'tumbling', size: MIN }, '010200018091b0fef96200'],
      [{ kind: 'rolling', size: 3 * DAY, resolution: MIN }, '040100018091b0fef962d0a0b0fef962010000000000000040010001027361'],
    ] as [WindowSpec, string][]) {
      const op = new WindowedAggregation(spec(window));
      const bytes = Buffer.from(hex, 'hex');
      const head = op.headCodec.decode(bytes);
      expect(head.timer, window.kind).toBeNaN();
      expect(Buffer.from(op.headCodec.encode(head)).toString('hex'), window.kind).toBe(hex);
      head.timer = T0 + 3 * DAY;
      expect(op.headCodec.decode(op.headCodec.encode(head)).timer, window.kind).toBe(T0 + 3 * DAY);
    }
  });

  it('a key of one step cannot read another window kind’s state', () => {
    const a = new WindowedAggregation(spec({ kind: 'tumbling', size: MIN }));
    const b = new WindowedAggregation(spec({ kind: 'session', gap: MIN }));
    const d = new Driver(a, { maxOutOfOrder: 0, watermark: 'before', encodeState: false });
    d.send('k', T0, { amount: 1, device: 'a' });
    expect(() => b.onRecord({ store: d.store, timers: d.timers }, 'k', new TextEncoder().encode('"k"'), T0, { amount: 1 }, -Infinity, { emit: () => {}, late: () => {} }, 0)).toThrow(
      expect.objectContaining({ code: 'TRIB_STATE_INCOMPATIBLE' }),
    );
  });
});

describe('definition errors', () => {
  it.each<[string, WindowedAggregationSpec, RegExp]>([
    ['rolling with emit final', spec({ kind: 'rolling', size: MIN, resolution: 1000 }, { emit: 'final' }), /emit: final is not supported/],
    ['zero size', spec({ kind: 'tumbling', size: 0 }), /size must be a positive/],
    ['fractional slide', spec({ kind: 'hopping', size: MIN, slide: 1.5 }), /slide must be a positive/],
    ['negative lateness', spec({ kind: 'session', gap: MIN }, { allowedLateness: -1 }), /allowed lateness/],
    ['duplicate names', spec({ kind: 'session', gap: MIN }, { aggregates: [AGGS[0]!, AGGS[0]!] }), /two aggregates are named n/],
  ])('%s is refused with a clear message', (_name, s, msg) => {
    expect(() => new WindowedAggregation(s)).toThrow(msg);
  });
});

describe('rolling state layouts', () => {
  const rolling: WindowSpec = { kind: 'rolling', size: 3 * DAY, resolution: MIN };
  const hexKey = (k: string): string => Buffer.from(new TextEncoder().encode(JSON.stringify(k))).toString('hex');

  it('a flat key holds at most as many slices as a mask has bits', () => {
    expect(INLINE_MAX).toBeLessThanOrEqual(MAX_SLICES);
  });

  it('a head written in the accumulator layout (before flat slices) is read and carries on with the same values', () => {
    const run = (convert: boolean): WindowResult[] => {
      const op = new WindowedAggregation(spec(rolling));
      const d = new Driver(op, { maxOutOfOrder: 0, watermark: 'before', encodeState: false });
      const out: WindowResult[] = [];
      for (let i = 0; i < 4; i++) out.push(...emitted(d.send('k', T0 + i * 11 * MIN, { amount: i + 0.25, device: `d${i % 2}` })));
      if (convert) {
        const id = [...d.store.heads.keys()][0]!;
        const flat = d.store.heads.get(id) as Extract<WindowHead, { kind: 'rolling' }>;
        expect(flat.nums).not.toBeNull();
        // The same slices as the accumulators of the older layout, in its encoding (head kind 4).
        const starts = [0, 1, 2, 3].map((i) => Math.floor((T0 + i * 11 * MIN) / MIN) * MIN);
        const inline = [0, 1, 2, 3].map((i) => [{ n: 1 }, { s: i + 0.25, n: 1 }, { keys: [`sd${i % 2}`], index: null, hll: null }]);
        const old: WindowHead = { ...flat, slices: starts, inline, nums: null, vals: null };
        const bytes = op.headCodec.encode(old);
        expect(bytes[0]).toBe(4);
        d.store.heads.set(id, op.headCodec.decode(bytes));
        expect(id).toBe(hexKey('k'));
      }
      for (let i = 4; i < 30; i++) out.push(...emitted(d.send('k', T0 + i * 5 * 60 * MIN, { amount: i, device: `d${i % 3}` })));
      out.push(...d.advanceTo(T0 + 30 * DAY).flatMap((e) => (e.type === 'emit' ? [e.result] : [])));
      expect(d.stateEntries()).toEqual({ heads: 0, slices: 0, timers: 0 });
      return out;
    };
    const control = run(false);
    expect(control.length).toBeGreaterThan(30);
    expect(run(true)).toEqual(control);
  });

  it('a flat key grows its numbers in place: slices that come and go allocate nothing, and values equal the accumulator layout', () => {
    type Rolling = Extract<WindowHead, { kind: 'rolling' }>;
    // min() has no flat layout: the control keeps its slices as accumulators.
    const run = (aggregates: AggregateSpec[]) => {
      const op = new WindowedAggregation(spec(rolling, { aggregates }));
      // The watermark at each record's time: slices leave by expiry (an 'expire' each), then the record lands.
      const d = new Driver(op, { maxOutOfOrder: 0, watermark: 'after', encodeState: false });
      const out: Row[] = [];
      const arrays = new Set<number[]>();
      const head = (): Rolling => [...d.store.heads.values()][0] as Rolling;
      // A record every 7 hours and a new device every third one: ~10 live slices, one leaving per record.
      for (let i = 0; i < 60; i++) {
        for (const r of emitted(d.send('k', T0 + i * 7 * 60 * MIN, { amount: i + 0.5, device: `d${i % 3 === 0 ? i : 1}` }))) {
          out.push({ kind: r.kind, asOf: r.asOf, ...r.values });
        }
        if (i >= 20 && head().nums !== null) arrays.add(head().nums!);
        // What the key holds round-trips through its codec whatever room nums has.
        const bytes = op.headCodec.encode(head());
        expect(op.headCodec.encode(op.headCodec.decode(bytes))).toEqual(bytes);
      }
      for (const e of d.advanceTo(T0 + 30 * DAY)) if (e.type === 'emit') out.push({ kind: e.result.kind, asOf: e.result.asOf, ...e.result.values });
      expect(d.stateEntries()).toEqual({ heads: 0, slices: 0, timers: 0 });
      return { out, arrays };
    };
    const flat = run(AGGS);
    const control = run([...AGGS, { name: 'low', fn: 'min', arg: field('amount') }]);
    expect(control.arrays.size).toBe(0);
    expect(flat.out).toEqual(control.out.map(({ low: _low, ...rest }) => rest));
    expect(flat.out.filter((r) => r.kind === 'expire').length).toBeGreaterThan(40);
    // Once the key has held its most slices and values, its nums array is never replaced.
    expect(flat.arrays.size).toBe(1);
  });
});
