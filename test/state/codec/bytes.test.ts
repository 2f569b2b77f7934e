import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter } from '../../../src/state/codec/bytes.js';

describe('ByteWriter/ByteReader', () => {
  it('round-trips every type, including edge values and non-ASCII strings (seeded)', () => {
    let seed = 99;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    const strings = ['', 'a', 'user-42', 'é', '设备-7', 'x'.repeat(200), '😀 emoji', 'a'.repeat(127), 'b'.repeat(128)];
    const floats = [0, -0, 1.5, -2.25, 1e300, -1e-300, Number.MAX_SAFE_INTEGER, NaN, Infinity, -Infinity];
    for (let round = 0; round < 500; round++) {
      const w = new ByteWriter(4);
      const ops: Array<[string, number | string]> = [];
      for (let i = 0; i < 20; i++) {
        const kind = Math.floor(rnd() * 5);
        if (kind === 0) ops.push(['varint', Math.floor(rnd() * 2 ** 53)]);
        else if (kind === 1) ops.push(['svarint', Math.floor((rnd() - 0.5) * 2 ** 52)]);
        else if (kind === 2) ops.push(['f64', floats[Math.floor(rnd() * floats.length)]! + (rnd() < 0.5 ? 0 : rnd())]);
        else if (kind === 3) ops.push(['string', strings[Math.floor(rnd() * strings.length)]!]);
        else ops.push(['u8', Math.floor(rnd() * 256)]);
      }
      for (const [k, v] of ops) (w as unknown as Record<string, (x: number | string) => void>)[k]!(v);
      const r = new ByteReader(w.finish());
      for (const [k, v] of ops) {
        const got = (r as unknown as Record<string, () => number | string>)[k]!();
        expect(Object.is(got, v) || (typeof v === 'number' && Number.isNaN(v) && Number.isNaN(got as number)), `seed 99 round ${round}: ${k}(${String(v)}) read ${String(got)}`).toBe(true);
      }
      expect(r.done).toBe(true);
    }
  });

  it('refuses signed integers it cannot store exactly', () => {
    expect(() => new ByteWriter().svarint(2 ** 52)).toThrow(RangeError);
    expect(() => new ByteWriter().svarint(1.5)).toThrow(RangeError);
    expect(new ByteReader(new ByteWriter().svarint(-(2 ** 52 - 1)).finish()).svarint()).toBe(-(2 ** 52 - 1));
  });

  it('fails on truncated input instead of reading garbage', () => {
    const bytes = new ByteWriter().string('hello').f64(1).finish();
    expect(() => new ByteReader(bytes.subarray(0, 3)).string()).toThrow(RangeError);
    const r = new ByteReader(bytes.subarray(0, 10));
    r.string();
    expect(() => r.f64()).toThrow(RangeError);
  });
});
