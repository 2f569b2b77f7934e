import { describe, expect, it } from 'vitest';
import { canonicalJson, decodeKey, encodeKey, encodeKeyInto, KeyScratch, keyToPartitionBytes, keyToPartitionBytesInto } from '../../../src/state/codec/key.js';
import type { Value } from '../../../src/core/record.js';
import { ByteWriter } from '../../../src/state/codec/bytes.js';
import { makeRng, withSeed, type Rng } from '../random.js';

const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

function randomValue(rng: Rng, depth = 0): Value {
  switch (rng.int(0, depth > 2 ? 4 : 6)) {
    case 0: return null;
    case 1: return rng.next() < 0.5;
    case 2: return rng.next() < 0.2 ? rng.pick([2 ** 52, -(2 ** 52), 2 ** 52 - 1, 1 - 2 ** 52, Number.MAX_SAFE_INTEGER]) : rng.int(-1e12, 1e12);
    case 3: return rng.pick([0.5, -1.25, 1e300, -1e-300, Number.MAX_SAFE_INTEGER + 1, -(2 ** 60), Infinity, -Infinity, rng.next() * 1e6]);
    case 4: return rng.pick(['', 'a', '42', 'ü-ñ', '设备', '😀', 'user:' + rng.int(0, 1000)]);
    case 5: return Array.from({ length: rng.int(0, 3) }, () => randomValue(rng, depth + 1));
    default: {
      const o: Record<string, Value> = {};
      for (let i = rng.int(0, 3); i > 0; i--) o[rng.pick(['a', 'b', 'z', 'id', 'é'])] = randomValue(rng, depth + 1);
      return o;
    }
  }
}

describe('encodeKey / decodeKey', () => {
  it('round-trips random values (composites compare after JSON normalisation)', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      for (let i = 0; i < 2000; i++) {
        const v = randomValue(rng);
        const back = decodeKey(encodeKey(v));
        if (v !== null && typeof v === 'object') expect(back).toEqual(JSON.parse(JSON.stringify(v)));
        else expect(back).toBe(v);
      }
    });
  });

  it('keeps numbers, strings and booleans apart', () => {
    const keys = [42, '42', 42.5, '42.5', true, 'true', null, 'null', [42], ['42'], {}, '{}', 0, '', false];
    const encoded = new Set(keys.map((k) => hex(encodeKey(k))));
    expect(encoded.size).toBe(keys.length);
  });

  it('gives one encoding per value: sorted object keys, -0 as 0, one NaN', () => {
    expect(hex(encodeKey({ b: 1, a: { d: [1, { y: 2, x: 1 }], c: 2 } }))).toBe(hex(encodeKey({ a: { c: 2, d: [1, { x: 1, y: 2 }] }, b: 1 })));
    expect(hex(encodeKey(-0))).toBe(hex(encodeKey(0)));
    expect(hex(encodeKey(Number.NaN))).toBe(hex(encodeKey(0 / 0)));
    expect(decodeKey(encodeKey(Number.NaN))).toBeNaN();
    expect(decodeKey(encodeKey(Number.MIN_SAFE_INTEGER))).toBe(Number.MIN_SAFE_INTEGER);
  });

  it('keeps the byte layout of the header comment, so state written before still matches', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      for (let i = 0; i < 500; i++) {
        const v = rng.next() < 0.5 ? rng.int(-1e15, 1e15) : rng.int(-300, 300);
        expect(hex(encodeKey(v))).toBe('03' + hex(new ByteWriter(10).svarint(v === 0 ? 0 : v).finish()));
        const r = (rng.next() - 0.5) * 10 ** rng.int(-5, 300);
        const f = Number.isInteger(r) && Math.abs(r) < 2 ** 52 ? r + 0.5 : r; // integers below 2^52 take the int layout
        const dv = new DataView(new ArrayBuffer(8));
        dv.setFloat64(0, f, false);
        expect(hex(encodeKey(f))).toBe('04' + Buffer.from(dv.buffer).toString('hex'));
        const s = 'k' + 'é'.repeat(rng.int(0, 1)) + 'x'.repeat(rng.int(0, 80));
        expect(hex(encodeKey(s))).toBe('05' + hex(utf8(s)));
        expect(hex(keyToPartitionBytes(s))).toBe(hex(utf8(s)));
      }
    });
  });

  it('rejects bytes that are not a key', () => {
    expect(() => decodeKey(Uint8Array.of(0x03, 0x80))).toThrow(/corrupt record key/);
    expect(() => decodeKey(new Uint8Array(0))).toThrow(/corrupt record key/);
    expect(() => decodeKey(Uint8Array.of(0x7e))).toThrow(/unknown key tag/);
    expect(() => decodeKey(Uint8Array.of(0x04, 1, 2))).toThrow(/corrupt record key/);
  });
});

describe('keyToPartitionBytes', () => {
  it('gives the bytes a string-serializing Kafka producer would send', () => {
    expect(keyToPartitionBytes('user-1')).toEqual(utf8('user-1'));
    expect(keyToPartitionBytes('设备')).toEqual(utf8('设备'));
    expect(keyToPartitionBytes(42)).toEqual(utf8('42'));
    expect(keyToPartitionBytes(-1.5)).toEqual(utf8('-1.5'));
    expect(keyToPartitionBytes(true)).toEqual(utf8('true'));
    expect(keyToPartitionBytes({ b: 1, a: ['x', null] })).toEqual(utf8('{"a":["x",null],"b":1}'));
  });

  it('agrees for a number and its decimal string (same Kafka key bytes) though their state keys differ', () => {
    expect(keyToPartitionBytes(42)).toEqual(keyToPartitionBytes('42'));
    expect(encodeKey(42)).not.toEqual(encodeKey('42'));
  });

  it('canonical JSON sorts keys at every depth', () => {
    expect(canonicalJson({ z: { b: 2, a: 1 }, a: [{ d: 1, c: 2 }] })).toBe('{"a":[{"c":2,"d":1}],"z":{"a":1,"b":2}}');
  });
});

describe('encodeKeyInto / keyToPartitionBytesInto (one reused scratch)', () => {
  it('give the same bytes as encodeKey / keyToPartitionBytes, call after call', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      const scratch = new KeyScratch();
      const long = (n: number): string => 'k'.repeat(n);
      for (let i = 0; i < 3000; i++) {
        const v = rng.next() < 0.3 ? rng.pick([long(rng.int(60, 70)), 'ab\u00e9', 'user:' + rng.int(0, 1e6), rng.int(-1e15, 1e15), 0, -0]) : randomValue(rng);
        // Compared before the next call overwrites the scratch.
        expect(hex(encodeKeyInto(v, scratch)), `encodeKeyInto(${JSON.stringify(v)})`).toBe(hex(encodeKey(v)));
        expect(hex(keyToPartitionBytesInto(v, scratch)), `keyToPartitionBytesInto(${JSON.stringify(v)})`).toBe(hex(keyToPartitionBytes(v)));
      }
    });
  });

  it('reuses the scratch: the bytes of a short key change with the next call of the same length', () => {
    const scratch = new KeyScratch();
    const a = encodeKeyInto('user-1', scratch);
    expect(decodeKey(a)).toBe('user-1');
    const b = encodeKeyInto('user-2', scratch);
    expect(decodeKey(b)).toBe('user-2');
    expect(decodeKey(a)).toBe('user-2');
  });
});
