import { describe, expect, it } from 'vitest';
import { PackedOps } from '../../src/state/level-bytes-store.js';

function pack(ops: PackedOps, key: number[], value?: number[]): void {
  const at = ops.startKey(key.length);
  ops.bytes().set(key, at);
  if (value === undefined) ops.del();
  else ops.put(Uint8Array.from(value));
}

describe('PackedOps', () => {
  it('hands back each op as packed, in order, across buffer growth', () => {
    const ops = new PackedOps(8);
    const want: Array<{ key: number[]; value?: number[] }> = [];
    for (let i = 0; i < 200; i++) {
      const key = [1, i & 0xff, i >> 8];
      const value = i % 3 === 0 ? undefined : Array.from({ length: i % 40 }, (_, j) => (i + j) & 0xff);
      pack(ops, key, value);
      want.push(value === undefined ? { key } : { key, value });
    }
    expect(ops.length).toBe(200);
    expect(ops.byteLength).toBe(want.reduce((n, o) => n + o.key.length + (o.value?.length ?? 0), 0));
    const got = ops.toOps().map((o) => (o.type === 'put' ? { key: [...o.key], value: [...o.value] } : { key: [...o.key] }));
    expect(got).toEqual(want);
    expect(ops.value(0)).toBeUndefined();
    expect(ops.value(40)).toHaveLength(0); // a put of an empty value
  });
});
