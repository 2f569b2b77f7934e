import { describe, expect, it } from 'vitest';
import {
  compareBytes, decodeStateKey, headKey, kvKey, metaKey, readTime, scopeRange, sliceKey, timerKey, writeTime,
  KIND_HEAD, KIND_KV, KIND_SLICE, KIND_TIMER,
} from '../../../src/state/codec/state-key.js';
import { makeRng, withSeed, type Rng } from '../random.js';

const SPECIAL_TIMES = [
  0, -1, 1, 1_700_000_000_000, -1_700_000_000_000, Number.MAX_SAFE_INTEGER, Number.MIN_SAFE_INTEGER,
  -(2 ** 53), 2 ** 53, 2 ** 60, -(2 ** 60), 2 ** 63 - 1024, -(2 ** 63) + 1024, 2 ** 32, 2 ** 32 - 1, -(2 ** 32),
  Infinity, -Infinity,
];

function randomTime(rng: Rng): number {
  const r = rng.next();
  if (r < 0.2) return rng.pick(SPECIAL_TIMES);
  if (r < 0.6) return rng.int(1_600_000_000_000, 1_600_000_100_000);
  return rng.int(-(2 ** 52), 2 ** 52);
}

function randomKey(rng: Rng): Uint8Array {
  return Uint8Array.from({ length: rng.int(0, 6) }, () => rng.pick([0, 1, 0x7f, 0x80, 0xfe, 0xff, rng.int(0, 255)]));
}

type Tuple = { kind: number; step: number; partition: number; key: Uint8Array; time: number };

function cmp(a: number, b: number): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The order the layout promises, written as plain tuple comparison. */
function compareTuples(a: Tuple, b: Tuple): number {
  const head = cmp(a.kind, b.kind) || cmp(a.step, b.step) || cmp(a.partition, b.partition);
  if (head) return head;
  if (a.kind === KIND_SLICE) return cmp(a.key.length, b.key.length) || compareBytes(a.key, b.key) || cmp(a.time, b.time);
  if (a.kind === KIND_TIMER) return cmp(a.time, b.time) || compareBytes(a.key, b.key);
  return compareBytes(a.key, b.key);
}

function encode(t: Tuple): Uint8Array {
  switch (t.kind) {
    case KIND_HEAD: return headKey(t.step, t.partition, t.key);
    case KIND_KV: return kvKey(t.step, t.partition, t.key);
    case KIND_SLICE: return sliceKey(t.step, t.partition, t.key, t.time);
    default: return timerKey(t.step, t.partition, t.time, t.key);
  }
}

describe('state keys', () => {
  it('t64 round-trips and preserves order for negative, huge and infinite times', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      const times = [...SPECIAL_TIMES, ...Array.from({ length: 3000 }, () => randomTime(rng))];
      const enc = times.map((t) => {
        const b = new Uint8Array(8);
        writeTime(b, 0, t);
        expect(readTime(b, 0)).toBe(t);
        return { t, b };
      });
      const byBytes = [...enc].sort((x, y) => compareBytes(x.b, y.b)).map((x) => x.t);
      expect(byBytes).toEqual([...times].sort((x, y) => x - y));
    });
  });

  it('refuses times that are not whole milliseconds in range', () => {
    for (const bad of [1.5, Number.NaN, 2 ** 64, -(2 ** 63)]) {
      expect(() => writeTime(new Uint8Array(8), 0, bad)).toThrow(/not an integer number of milliseconds/);
    }
  });

  it('sorts by bytes exactly as by (kind, step, partition, key, time) tuples, and decodes back', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      const tuples: Tuple[] = Array.from({ length: 3000 }, () => ({
        kind: rng.pick([KIND_HEAD, KIND_KV, KIND_SLICE, KIND_TIMER]),
        step: rng.pick([0, 1, 255, 256, 65535]),
        partition: rng.pick([0, 1, 7, 256, 65535]),
        key: randomKey(rng),
        time: randomTime(rng),
      }));
      const encoded = tuples.map((t) => ({ t, b: encode(t) }));
      const byBytes = [...encoded].sort((x, y) => compareBytes(x.b, y.b));
      const byTuple = [...encoded].sort((x, y) => compareTuples(x.t, y.t));
      for (let i = 0; i < byBytes.length; i++) {
        expect(compareTuples(byBytes[i]!.t, byTuple[i]!.t)).toBe(0);
      }
      for (const { t, b } of encoded) {
        const d = decodeStateKey(b);
        expect(d).toMatchObject({ step: t.step, partition: t.partition, key: t.key });
        if (d.kind === 'slice') expect(d.start).toBe(t.time);
        if (d.kind === 'timer') expect(d.time).toBe(t.time);
      }
    });
  });

  it('keeps one key\'s slices contiguous even when another key extends it', () => {
    const a = Uint8Array.of(0x61);
    const ab = Uint8Array.of(0x61, 0x62);
    const keys = [sliceKey(1, 0, a, 10), sliceKey(1, 0, ab, 5), sliceKey(1, 0, a, 20), sliceKey(1, 0, ab, 30)];
    const sorted = [...keys].sort(compareBytes).map((k) => decodeStateKey(k));
    expect(sorted.map((d) => (d.kind === 'slice' ? `${d.key.length}:${d.start}` : ''))).toEqual(['1:10', '1:20', '2:5', '2:30']);
  });

  it('scopeRange holds exactly one (kind, step, partition)', () => {
    const { gte, lt } = scopeRange(KIND_TIMER, 3, 65535);
    const inside = timerKey(3, 65535, Infinity, Uint8Array.of(0xff, 0xff));
    const outside = [timerKey(4, 0, -Infinity, new Uint8Array(0)), timerKey(3, 65534, Infinity, Uint8Array.of(0xff)), kvKey(3, 65535, new Uint8Array(0))];
    expect(compareBytes(gte, inside) <= 0 && compareBytes(inside, lt) < 0).toBe(true);
    for (const k of outside) expect(compareBytes(gte, k) <= 0 && compareBytes(k, lt) < 0).toBe(false);
  });

  it('meta keys decode to their names and sort before all state', () => {
    expect(decodeStateKey(metaKey('fp:windowed-count'))).toEqual({ kind: 'meta', name: 'fp:windowed-count' });
    expect(compareBytes(metaKey('\u{10ffff}'), headKey(0, 0, new Uint8Array(0)))).toBeLessThan(0);
  });

  it('rejects step numbers, partitions and key lengths out of range', () => {
    expect(() => headKey(65536, 0, new Uint8Array(0))).toThrow(/out of range/);
    expect(() => kvKey(0, -1, new Uint8Array(0))).toThrow(/out of range/);
    expect(() => sliceKey(0, 0, new Uint8Array(70_000), 0)).toThrow(/too long/);
    expect(() => decodeStateKey(Uint8Array.of(0x11, 0, 0, 0, 0, 0, 5, 1))).toThrow(/corrupt state key/);
  });
});
