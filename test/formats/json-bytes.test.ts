import { describe, expect, it } from 'vitest';
import { Rng } from '../../src/connectors/generator/prng.js';
import { ByteArena, JsonBytes, writeJson } from '../../src/formats/json-bytes.js';
import { jsonFormat } from '../../src/formats/json.js';

/** What sinks wrote before json-bytes.ts, and must keep writing byte for byte. */
function reference(value: unknown): Buffer | undefined {
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? undefined : Buffer.from(text, 'utf8');
}

function written(value: unknown): Buffer | undefined {
  const buf = Buffer.alloc(1 << 16);
  const end = writeJson(buf, 3, value);
  if (end === -1) return undefined;
  expect(end).toBeLessThanOrEqual(buf.length);
  return buf.subarray(3, end);
}

function expectSame(value: unknown): void {
  const want = reference(value);
  const got = written(value);
  if (want === undefined) expect(got).toBeUndefined();
  else expect(got?.toString('latin1'), JSON.stringify(value)).toBe(want.toString('latin1'));
}

class Point {
  constructor(readonly x: number, readonly y: number) {}
}

const windowRow = {
  key: 'u12345', window_start: 1_793_000_040_000, window_end: 1_793_259_300_000, as_of: 1_793_000_070_000,
  emit: 'update', apply_cnt_3d: 3, apply_amt_3d: 1234.5, device_cnt_3d: 2,
};

const cases: Array<[string, unknown]> = [
  ['a window result row', windowRow],
  ['an expiring row with zeros', { ...windowRow, emit: 'expire', apply_cnt_3d: 0, apply_amt_3d: 0, device_cnt_3d: 0 }],
  ['-0, NaN, ±Infinity', { a: -0, b: NaN, c: Infinity, d: -Infinity, e: [-0, NaN, Infinity] }],
  ['integers around the fast path\'s limits', {
    a: 0, b: 9, c: 10, d: 999_999_999, e: 1e9, f: 1_000_000_001, g: 2 ** 31, h: -(2 ** 31), i: 2 ** 53 - 1, j: -(2 ** 53 - 1),
    k: 2 ** 53, l: 2 ** 53 + 2, m: 1e20, n: 1e21, o: -1e21, p: 123_456_789_012_345, q: -1, r: -1_000_000_000,
  }],
  ['fractions and exponents', { a: 0.1, b: -0.5, c: 1e-7, d: 5e-324, e: 1.7976931348623157e308, f: 1234.5678, g: 1 / 3, h: 1.5e-10 }],
  ['escapes', { q: 'say "hi"', b: 'back\\slash', c: 'tab\there\nnew\r\u0000\u001f\u0008\u000c', del: '\u007f', slash: 'a/b' }],
  ['unicode', { cn: '张三', emoji: '😀 ok', mixed: 'abc\u00e9', nbsp: '\u00a0', ls: '\u2028\u2029' }],
  ['lone surrogates', { hi: 'a\ud800b', lo: '\udc00', pair: '\ud83d\ude00', rev: '\ude00\ud83d' }],
  ['keys that need escapes or are not ASCII', { 'a"b': 1, 'c\\d': 2, 'e\nf': 3, '名字': 4, '': 5, '😀': 6 }],
  ['integer-like keys come first, ascending, as JSON.stringify orders them', { b: 1, 10: 2, a: 3, 2: 4, '-1': 5, '01': 6 }],
  ['nested objects and arrays', { a: { b: { c: [1, [2, [3, { d: 'x' }]]] } }, e: [], f: {}, g: [[]], h: [{}] }],
  ['undefined, functions and symbols', { a: undefined, b: () => 1, c: Symbol('s'), d: 1, e: [undefined, () => 1, Symbol('t')], f: undefined }],
  ['only left-out properties', { a: undefined, b: () => 1 }],
  ['booleans and null', { t: true, f: false, n: null, arr: [true, false, null] }],
  ['a Date and a toJSON object (JSON.stringify\'s own handling)', { at: new Date(Date.UTC(2026, 11, 7)), custom: { toJSON: (k: string) => `key:${k}` } }],
  ['a toJSON returning undefined inside', { a: { toJSON: () => undefined }, b: 2 }],
  ['boxed primitives, Map, class instance, typed array', { s: Object('x'), n: Object(1), m: new Map([[1, 2]]), p: new Point(1, 2), u: new Uint8Array([1, 2]) }],
  ['a null-prototype object', Object.assign(Object.create(null) as object, { a: 1, b: 'x' })],
  ['an array with holes and extra properties', Object.assign([1, , 3], { extra: 'no' })], // eslint-disable-line no-sparse-arrays
  ['deep nesting', JSON.parse('['.repeat(60) + '1' + ']'.repeat(60))],
  ['a top-level string, number, null, array', 'plain'],
  ['top-level number', 42.5],
  ['top-level null', null],
  ['top-level array', [1, 'a', null]],
  ['top-level undefined', undefined],
  ['top-level function', () => 1],
  ['non-enumerable and symbol keys', Object.defineProperties({ v: 1, [Symbol('k')]: 2 }, { hidden: { value: 3, enumerable: false } })],
];

describe('writeJson: the bytes of JSON.stringify', () => {
  for (const [name, value] of cases) it(name, () => expectSame(value));

  it('throws where JSON.stringify throws (BigInt, cycles)', () => {
    expect(() => written({ a: 1n })).toThrow(TypeError);
    const cyclic: Record<string, unknown> = { a: 1 };
    cyclic.self = { back: cyclic };
    expect(() => written(cyclic)).toThrow(TypeError);
  });

  it('leaves out what a polluted Object.prototype adds, as JSON.stringify does', () => {
    const value = { a: 1, b: { c: 2 } };
    const buf = Buffer.alloc(64);
    let want: string, end: number;
    Object.defineProperty(Object.prototype, 'polluted', { value: 1, enumerable: true, configurable: true, writable: true });
    try {
      want = JSON.stringify(value);
      end = writeJson(buf, 0, value);
    } finally {
      delete (Object.prototype as Record<string, unknown>).polluted;
    }
    expect(buf.toString('utf8', 0, end)).toBe(want);
  });

  it('matches JSON.stringify on random values (seeded)', () => {
    const seed = Number(process.env.JSON_BYTES_SEED ?? Date.now() % 1_000_000);
    const rnd = mulberry32(seed);
    for (let i = 0; i < 3000; i++) {
      const value = randomValue(rnd, 0);
      const want = reference(value);
      const got = written(value);
      if (want === undefined ? got !== undefined : got === undefined || !got.equals(want)) {
        throw new Error(`seed ${seed}, case ${i}: ${JSON.stringify(value)} written as ${got?.toString('utf8')}`);
      }
    }
  });

  it('reports the full length when the buffer is too small, and writes nothing past it', () => {
    const rnd = mulberry32(7);
    for (let i = 0; i < 500; i++) {
      const value = i % 2 === 0 ? { ...windowRow, key: `u${i}张`, text: 'a"\u00e9'.repeat(i % 5) } : randomValue(rnd, 0);
      const want = reference(value);
      if (want === undefined) continue;
      const size = Math.floor(rnd() * (want.length + 4));
      const buf = Buffer.alloc(size + 8, 0xee);
      const small = buf.subarray(0, size);
      const end = writeJson(small, 0, value);
      expect(end).toBe(want.length);
      expect(buf.subarray(size).every((b) => b === 0xee)).toBe(true);
      if (end <= size) expect(small.subarray(0, end).equals(want)).toBe(true);
    }
  });
});

describe('JsonBytes and ByteArena', () => {
  it('JsonBytes grows past its first buffer and keeps what it had', () => {
    const lines = new JsonBytes(16);
    let want = '';
    for (let i = 0; i < 200; i++) {
      const row = { ...windowRow, key: `u${i}`, note: 'x'.repeat(i % 40), cn: '张' };
      expect(lines.json(row)).toBe(true);
      lines.byte(0x0a);
      want += JSON.stringify(row) + '\n';
    }
    expect(lines.bytes().toString('utf8')).toBe(want);
    expect(lines.json(undefined)).toBe(false);
    lines.clear();
    lines.json([1]);
    expect(lines.bytes().toString('utf8')).toBe('[1]');
  });

  it('ByteArena views stay intact as later values fill new chunks', () => {
    const arena = new ByteArena(64);
    const views: Array<[Buffer, string]> = [];
    for (let i = 0; i < 300; i++) {
      const row = { ...windowRow, key: `u${i}`, big: 'y'.repeat(i % 97) };
      views.push([arena.json(row)!, JSON.stringify(row)]);
      const text = i % 3 === 0 ? `k${i}` : `键${i}😀`;
      views.push([arena.text(text), text]);
    }
    for (const [view, text] of views) expect(view.toString('utf8')).toBe(text);
    expect(arena.json(undefined)).toBeUndefined();
  });

  it('jsonFormat.encode writes the bytes of JSON.stringify', () => {
    for (const [, value] of cases) {
      if (value === null || typeof value !== 'object' || Array.isArray(value)) continue;
      const want = reference(value);
      if (want === undefined) continue;
      expect(Buffer.from(jsonFormat.encode(value as never)).equals(want)).toBe(true);
    }
  });
});

/** A `() => number` in [0, 1), seeded (the generator's mulberry32). */
function mulberry32(seed: number): () => number {
  const r = new Rng(seed);
  return () => r.next();
}

const CHARS = ['a', 'Z', '0', ' ', '"', '\\', '/', '\n', '\u0000', '\u001f', '\u007f', '\u0080', 'é', '张', '😀', '\ud800', '\udfff', '\u2028', '~'];

function randomString(rnd: () => number): string {
  let s = '';
  const n = Math.floor(rnd() * 8);
  for (let i = 0; i < n; i++) s += rnd() < 0.6 ? String.fromCharCode(0x20 + Math.floor(rnd() * 95)) : CHARS[Math.floor(rnd() * CHARS.length)];
  return s;
}

function randomNumber(rnd: () => number): number {
  switch (Math.floor(rnd() * 8)) {
    case 0: return Math.floor(rnd() * 1000) - 500;
    case 1: return Math.floor(rnd() * 2 ** 53) * (rnd() < 0.5 ? -1 : 1);
    case 2: return 1_790_000_000_000 + Math.floor(rnd() * 1e10);
    case 3: return (rnd() - 0.5) * 10 ** Math.floor(rnd() * 40 - 20);
    case 4: return [0, -0, NaN, Infinity, -Infinity, 2 ** 53, 1e21, 999_999_999, 1e9][Math.floor(rnd() * 9)]!;
    case 5: return Math.round(rnd() * 1e6) / 100;
    default: return Math.floor(rnd() * 1e9);
  }
}

function randomValue(rnd: () => number, depth: number): unknown {
  const r = rnd();
  if (depth > 3 || r < 0.35) return randomNumber(rnd);
  if (r < 0.6) return randomString(rnd);
  if (r < 0.65) return [true, false, null, undefined][Math.floor(rnd() * 4)];
  if (r < 0.75) return Array.from({ length: Math.floor(rnd() * 4) }, () => randomValue(rnd, depth + 1));
  const o: Record<string, unknown> = {};
  const n = Math.floor(rnd() * 6);
  for (let i = 0; i < n; i++) o[rnd() < 0.2 ? String(Math.floor(rnd() * 20)) : randomString(rnd)] = randomValue(rnd, depth + 1);
  return o;
}
