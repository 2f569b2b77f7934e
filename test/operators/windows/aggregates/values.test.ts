import { describe, expect, it } from 'vitest';
import type { Value } from '../../../../src/core/record.js';
import { canonicalKey, readValue, writeValue } from '../../../../src/operators/windows/aggregates/values.js';
import { ByteReader, ByteWriter } from '../../../../src/state/codec/bytes.js';

describe('window value codec', () => {
  it.each<Value>([null, true, false, 0, -7, 2 ** 52, 1.5, -1e300, 'héllo ☃', '', [1, [2, null]], { a: { b: [true, 'x'] }, 'weird key': 3 }])(
    'round-trips %j',
    (v) => {
      const w = new ByteWriter();
      writeValue(w, v);
      const r = new ByteReader(w.finish());
      expect(readValue(r)).toEqual(v);
      expect(r.done).toBe(true);
    },
  );

  it('canonical keys separate types and ignore field order', () => {
    expect(canonicalKey(1)).not.toBe(canonicalKey('1'));
    expect(canonicalKey(true)).not.toBe(canonicalKey('true'));
    expect(canonicalKey({ a: 1, b: [2, 'x'] })).toBe(canonicalKey({ b: [2, 'x'], a: 1 }));
    expect(canonicalKey(-0)).toBe(canonicalKey(0));
  });
});
