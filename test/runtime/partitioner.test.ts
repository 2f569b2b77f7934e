import { describe, expect, it } from 'vitest';
import { murmur2 as platformaticMurmur2 } from '@platformatic/kafka';
import { murmur2, partitionForKey } from '../../src/core/partitioner.js';

const enc = new TextEncoder();

describe('murmur2 partitioner', () => {
  it('matches the Java client vectors (Kafka UtilsTest)', () => {
    const cases: Array<[Uint8Array, number]> = [
      [enc.encode('21'), -973932308],
      [enc.encode('foobar'), -790332482],
      [enc.encode('a-little-bit-long-string'), -985981536],
      [enc.encode('a-little-bit-longer-string'), -1486304829],
      [enc.encode('lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8'), -58897971],
      [new Uint8Array([97, 98, 99]), 479470107],
    ];
    for (const [bytes, expected] of cases) expect(murmur2(bytes)).toBe(expected);
  });

  it("agrees with @platformatic/kafka's murmur2 on random keys, and masks like the Java client", () => {
    const reference = (k: Buffer): number => platformaticMurmur2(k);
    let seed = 12345;
    const rnd = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = 0; i < 2000; i++) {
      const len = Math.floor(rnd() * 40);
      const bytes = Buffer.alloc(len);
      for (let j = 0; j < len; j++) bytes[j] = Math.floor(rnd() * 256);
      expect(murmur2(bytes), `seed 12345 case ${i}`).toBe(reference(bytes) | 0);
      expect(partitionForKey(bytes, 6)).toBe(((reference(bytes) & 0x7fffffff) % 6));
    }
  });
});
