import { describe, expect, it } from 'vitest';
import { shapedRows, type RowBuilder } from '../../src/operators/row-shapes.js';
import { TopologyTestDriver } from '../../src/testing/index.js';
import type { Row, Value } from '../../src/core/record.js';
import { makeRng } from '../state/random.js';

/** A seeded PRNG in [0, 1) (mulberry32), so a failure names the input that caused it. */
const rng = (seed: number): (() => number) => makeRng(seed).next;

const setField = (row: Row, name: string, value: Value): void => {
  if (name === '__proto__') Object.defineProperty(row, name, { value, enumerable: true, writable: true, configurable: true });
  else row[name] = value;
};

// The two general builders of map.ts, written out here as the reference (set → rename → drop).
function general(set: string[], rename: Array<[string, string]>, drop: string[]): RowBuilder {
  if (rename.length > 0) {
    return (input, values) => {
      const out: Row = { ...input };
      set.forEach((f, i) => setField(out, f, values[i]!));
      for (const [from, to] of rename) {
        if (Object.hasOwn(out, from)) {
          setField(out, to, out[from]!);
          delete out[from];
        }
      }
      for (const f of drop) delete out[f];
      return out;
    };
  }
  return (input, values) => {
    const out: Row = {};
    for (const k in input) if (Object.hasOwn(input, k) && !drop.includes(k) && !set.includes(k)) setField(out, k, input[k]!);
    set.forEach((f, i) => {
      if (!drop.includes(f)) setField(out, f, values[i]!);
    });
    return out;
  };
}

/** Same fields, same order, same values (JSON text compares order; toEqual compares undefined and -0). */
function expectSame(a: Row, b: Row): void {
  expect(Object.keys(a)).toEqual(Object.keys(b));
  expect(a).toEqual(b);
  expect(Object.getPrototypeOf(a)).toBe(Object.getPrototypeOf(b));
}

const NAMES = ['__proto__', 'a', 'b', 'c', 'user_id', 'amount', '0', '7', 'x y', 'é', '"q"', 'constructor', 'toString', 'line\u2028sep'];

describe('shapedRows: generated builders give the general builder’s row', () => {
  it('for random steps over rows of many shapes, field order included', () => {
    const r = rng(42);
    const pick = <T,>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
    for (let step = 0; step < 60; step++) {
      const set = [...new Set(Array.from({ length: Math.floor(r() * 3) }, () => pick(NAMES)))];
      const rename = Array.from({ length: r() < 0.5 ? 0 : 1 + Math.floor(r() * 2) }, () => [pick(NAMES), pick(NAMES)] as [string, string]);
      const drop = Array.from({ length: Math.floor(r() * 3) }, () => pick(NAMES));
      const reference = general(set, rename, drop);
      const shaped = shapedRows(reference, set.length);
      // A handful of shapes per step, some more than MAX_SHAPES, each seen many times.
      const shapes = Array.from({ length: 1 + Math.floor(r() * 7) }, () => [...new Set(Array.from({ length: Math.floor(r() * 8) }, () => pick(NAMES)))]);
      for (let i = 0; i < 200; i++) {
        const keys = pick(shapes);
        const input: Row = {};
        for (const k of keys) input[k] = pick<Value>([1, 'x', null, true, { n: i }, [i], -0, 2.5]);
        const values = set.map((_, j) => (r() < 0.1 ? null : `v${j}-${i}`));
        expectSame(shaped(input, values), reference(input, values));
      }
    }
  });

  it('rows with a __proto__ field (JSON.parse makes it an own field) stay on the general path', () => {
    const reference = general(['y'], [], []);
    const shaped = shapedRows(reference, 1);
    for (let i = 0; i < 5; i++) {
      const input = JSON.parse(`{"a": ${i}, "__proto__": {"polluted": true}}`) as Row;
      const out = shaped(input, [i]);
      expectSame(out, reference(input, [i]));
      expect(Object.hasOwn(out, '__proto__')).toBe(true);
      expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    }
  });

  it('a row of the same field names in another order, or with one more or one less, is not taken for the shape', () => {
    const reference = general(['s'], [], ['b']);
    const shaped = shapedRows(reference, 1);
    const rows: Row[] = [{ a: 1, b: 2, c: 3 }, { c: 3, a: 1, b: 2 }, { a: 1, b: 2 }, { a: 1, b: 2, c: 3, d: 4 }, { a: 1, b: 2, c: 3 }];
    for (const row of rows) expectSame(shaped(row, ['s']), reference(row, ['s']));
    expect(Object.keys(shaped({ c: 3, a: 1, b: 2 }, ['s']))).toEqual(['c', 'a', 's']);
  });

  it('a general builder that throws on the probe keeps its rows on the general path', () => {
    // Against the contract (it inspects a value), but a shape must never break a step.
    const general: RowBuilder = (input) => {
      if (typeof input.a === 'object' && input.a !== null) throw new Error('not a value I know');
      return { a: input.a!, twice: typeof input.a === 'number' ? input.a * 2 : null };
    };
    const shaped = shapedRows(general, 0);
    for (let i = 0; i < 20; i++) expectSame(shaped({ a: i }, []), { a: i, twice: i * 2 });
  });

  it('an inherited enumerable field keeps a row on the general path', () => {
    const reference = general([], [], []);
    const shaped = shapedRows(reference, 0);
    const proto = { inherited: 1 };
    for (let i = 0; i < 3; i++) {
      const input = Object.assign(Object.create(proto) as Row, { a: i });
      expectSame(shaped(input, []), reference(input, []));
      expect(Object.keys(shaped(input, []))).toEqual(['a']);
    }
  });
});

describe('map step: the same rows whichever way they are built', () => {
  it('rows of two shapes alternating, with and without renames', async () => {
    const driver = await TopologyTestDriver.fromText(`apiVersion: tributary/v1
kind: Topology
metadata: { name: shapes }
spec:
  sources:
    events: { file: { path: unused.jsonl }, eventTime: { field: ts } }
  pipeline:
    - id: plain
      from: events
      map: { set: { yuan: "amount / 100", amount: "amount * 2" }, drop: [junk] }
    - id: renamed
      from: events
      map: { set: { yuan: "amount / 100" }, rename: { uid: user_id, user_id: uid2 }, drop: [junk] }
  sinks:
    a: { from: plain, stdout: {} }
    b: { from: renamed, stdout: {} }
`);
    try {
      for (let i = 0; i < 40; i++) {
        driver.pipe('events', i % 2 === 0 ? { uid: 'u', amount: i, ts: 1_000 + i, junk: 1 } : { amount: i, junk: 2, ts: 1_000 + i, extra: 'e' });
      }
      const plain = driver.stepOutput('plain');
      const renamed = driver.stepOutput('renamed');
      expect(plain).toHaveLength(40);
      for (let i = 0; i < 40; i++) {
        const even = i % 2 === 0;
        expect(JSON.stringify(plain[i])).toBe(JSON.stringify(even ? { uid: 'u', ts: 1_000 + i, yuan: i / 100, amount: i * 2 } : { ts: 1_000 + i, extra: 'e', yuan: i / 100, amount: i * 2 }));
        expect(JSON.stringify(renamed[i])).toBe(JSON.stringify(even ? { amount: i, ts: 1_000 + i, yuan: i / 100, uid2: 'u' } : { amount: i, ts: 1_000 + i, extra: 'e', yuan: i / 100 }));
      }
    } finally {
      await driver.close();
    }
  });
});
