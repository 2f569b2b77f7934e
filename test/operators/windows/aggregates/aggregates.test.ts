import { describe, expect, it } from 'vitest';
import { TributaryError } from '../../../../src/core/errors.js';
import type { Value } from '../../../../src/core/record.js';
import type { AnyAggregate } from '../../../../src/operators/windows/aggregates/aggregate.js';
import { createAggregate } from '../../../../src/operators/windows/aggregates/registry.js';
import type { DistinctAcc } from '../../../../src/operators/windows/aggregates/distinct.js';
import type { AggregateFn } from '../../../../src/operators/windows/types.js';
import { ByteReader, ByteWriter } from '../../../../src/state/codec/bytes.js';

const opts = { distinctExactLimit: 3, hllPrecision: 14 };
const agg = (fn: AggregateFn): AnyAggregate => createAggregate(fn, fn, opts);

/** Feeds (value, time, order) in arrival order; nulls go through prepare like the operator does. */
function feed(a: AnyAggregate, items: ReadonlyArray<[Value, number?, number?]>, acc = a.create(), seq0 = 0): unknown {
  items.forEach(([v, t, order], i) => {
    const p = a.prepare(v);
    if (p !== null) a.add(acc, p, t ?? 0, order ?? 0, seq0 + i);
  });
  return acc;
}

function roundTrip(a: AnyAggregate, acc: unknown): unknown {
  const w = new ByteWriter();
  a.encode(w, acc);
  const r = new ByteReader(w.finish());
  const back = a.decode(r);
  expect(r.done).toBe(true);
  return back;
}

describe('aggregates: values of nothing', () => {
  it.each<[AggregateFn, Value]>([
    ['count', 0], ['sum', 0], ['avg', null], ['min', null], ['max', null],
    ['count_distinct', 0], ['first', null], ['last', null], ['latest', null],
  ])('%s of no values is %j (nulls only count as nothing)', (fn, empty) => {
    const a = agg(fn);
    expect(a.result(a.create())).toEqual(empty);
    expect(a.result(feed(a, [[null], [null]]))).toEqual(empty);
  });
});

describe('aggregates: semantics', () => {
  it('sum and avg coerce numeric strings and ignore nulls', () => {
    expect(agg('sum').result(feed(agg('sum'), [[1.5], ['2.25'], [null], [' -1 ']]))).toBe(2.75);
    expect(agg('avg').result(feed(agg('avg'), [[1], ['2'], [null], [6]]))).toBe(3);
  });

  it.each<[AggregateFn, Value]>([['sum', 'abc'], ['avg', true], ['sum', { x: 1 }], ['sum', '0x10'], ['min', false], ['max', [1]]])(
    '%s rejects %j as a bad record (TRIB_RECORD_INVALID, naming the aggregate)',
    (fn, v) => {
      let err: unknown;
      try {
        createAggregate(fn, 'total', opts).prepare(v);
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(TributaryError);
      expect((err as TributaryError).code).toBe('TRIB_RECORD_INVALID');
      expect((err as TributaryError).message).toContain(`total = ${fn}`);
    },
  );

  it('min/max order numeric strings as numbers, other strings after all numbers', () => {
    const items: Array<[Value]> = [['12.50'], ['9.00'], ['apple'], [100], ['Zed']];
    expect(agg('min').result(feed(agg('min'), items))).toBe(9);
    expect(agg('max').result(feed(agg('max'), items))).toBe('apple');
    expect(agg('max').result(feed(agg('max'), [[3], [-1]]))).toBe(3);
  });

  it('count() counts rows, count(x) non-null values', () => {
    const a = agg('count');
    expect(a.result(feed(a, [[true], [0], [''], [null]]))).toBe(3);
  });

  it('first/last break event-time ties by order whatever the arrival order; latest follows arrival', () => {
    // Two partitions' records at the same ms, interleaved two ways (as before and after a restart).
    const a: [Value, number, number] = ['p0', 10, 5 * 4096 + 0 * 16];
    const b: [Value, number, number] = ['p1', 10, 3 * 4096 + 1 * 16];
    for (const items of [[a, b], [b, a]]) {
      expect(agg('first').result(feed(agg('first'), items))).toBe('p1');
      expect(agg('last').result(feed(agg('last'), items))).toBe('p0');
      expect(agg('latest').result(feed(agg('latest'), items))).toBe(items[1]![0]);
    }
    // merge (slices, sessions) follows the same rule.
    for (const fn of ['first', 'last'] as const) {
      const x = feed(agg(fn), [a]);
      const y = feed(agg(fn), [b], undefined, 1);
      agg(fn).merge(x, y);
      expect(agg(fn).result(x)).toBe(fn === 'first' ? 'p1' : 'p0');
    }
  });

  it('first/last follow event time with arrival tie-breaks among equal orders; latest follows arrival', () => {
    const items: Array<[Value, number]> = [['b', 20], ['a', 10], ['a2', 10], ['c', 30], ['c2', 30], ['late', 5]];
    expect(agg('first').result(feed(agg('first'), items))).toBe('late');
    expect(agg('first').result(feed(agg('first'), items.slice(0, 5)))).toBe('a');
    expect(agg('last').result(feed(agg('last'), items))).toBe('c2');
    expect(agg('latest').result(feed(agg('latest'), items))).toBe('late');
  });

  it('count_distinct treats 1 and "1" as different and objects by content', () => {
    const a = createAggregate('count_distinct', 'd', { distinctExactLimit: 100, hllPrecision: 14 });
    expect(a.result(feed(a, [[1], ['1'], [1], [{ x: 1, y: 2 }], [{ y: 2, x: 1 }], [true], [null], [-0], [0]]))).toBe(5);
  });

  it('count_distinct switches to HyperLogLog beyond the exact limit and stays accurate', () => {
    const a = createAggregate('count_distinct', 'd', { distinctExactLimit: 3, hllPrecision: 14 });
    const exact = feed(a, [['a'], ['b'], ['c'], ['a']]) as DistinctAcc;
    expect(exact.keys).toEqual(['sa', 'sb', 'sc']);
    const sketched = feed(a, Array.from({ length: 1000 }, (_, i) => [`v${i}`] as [Value])) as DistinctAcc;
    expect(sketched.keys).toBeNull();
    expect(Math.abs((a.result(sketched) as number) - 1000)).toBeLessThan(20);
  });
});

describe('aggregates: merge and subtract', () => {
  const streams: Array<Array<[Value, number]>> = [
    [[3, 5], ['7', 1], [null, 2], [1, 9]],
    [[10, 4], [-2, 12], [4, 4]],
    [],
  ];
  const ALL: AggregateFn[] = ['count', 'sum', 'avg', 'min', 'max', 'count_distinct', 'first', 'last', 'latest'];

  it.each(ALL)('%s: merging partial accumulators equals feeding everything', (fn) => {
    const a = agg(fn);
    let seq = 0;
    const parts = streams.map((s) => {
      const acc = feed(a, s, a.create(), seq);
      seq += s.length;
      return acc;
    });
    const merged = a.create();
    for (const p of parts) a.merge(merged, p);
    expect(a.result(merged)).toEqual(a.result(feed(a, streams.flat())));
  });

  it.each<AggregateFn>(['count', 'sum', 'avg'])('%s: subtracting a merged part restores the rest, down to the empty value', (fn) => {
    const a = agg(fn);
    const p1 = feed(a, streams[0]!);
    const p2 = feed(a, streams[1]!);
    const both = a.create();
    a.merge(both, p1);
    a.merge(both, p2);
    a.subtract(both, p1);
    expect(a.result(both)).toEqual(a.result(p2));
    a.subtract(both, p2);
    expect(a.result(both)).toEqual(a.result(a.create()));
  });

  it('sum forgets floating-point residue once every value is subtracted', () => {
    const a = agg('sum');
    const p1 = feed(a, [[0.1], [0.2]]);
    const p2 = feed(a, [[0.3]]);
    const all = a.create();
    a.merge(all, p1);
    a.merge(all, p2);
    a.subtract(all, p1);
    a.subtract(all, p2);
    expect(a.result(all)).toBe(0);
  });
});

describe('aggregates: binary codec', () => {
  it.each<[AggregateFn, Array<[Value, number, number?]>]>([
    ['count', [[1, 1], [2, 2]]],
    ['sum', [[1.25, 1], ['-3', 2]]],
    ['avg', [[0.1, 1]]],
    ['min', [['apple', 1], [3, 2]]],
    ['max', [['apple', 1], [3, 2]]],
    ['first', [[{ nested: [1, 'x', null, true, 2.5] }, -5]]],
    ['last', [['x', 1_700_000_000_000, Number.MAX_SAFE_INTEGER]]],
    ['latest', [[[1, { a: 'b' }], 7]]],
    ['count_distinct', [['a', 1], [2, 2]]],
  ])('%s round-trips, empty and filled', (fn, items) => {
    const a = agg(fn);
    expect(a.result(roundTrip(a, a.create()))).toEqual(a.result(a.create()));
    const acc = feed(a, items);
    expect(roundTrip(a, acc)).toEqual(acc);
  });

  it('a count_distinct sketch round-trips (sparse and dense) to the same estimate', () => {
    const a = createAggregate('count_distinct', 'd', { distinctExactLimit: 2, hllPrecision: 14 });
    for (const n of [50, 40_000]) {
      const acc = feed(a, Array.from({ length: n }, (_, i) => [i] as [Value]));
      const back = roundTrip(a, acc);
      expect(a.result(back)).toBe(a.result(acc));
    }
  });
});
