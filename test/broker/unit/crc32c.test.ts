import { describe, expect, it } from 'vitest';
import { crc32c, crc32cNative, crc32cTables } from '../../../src/kafka-wire/crc32c.js';

/** Bit-at-a-time reference, to check the table-driven version on arbitrary input. */
function reference(data: Uint8Array): number {
  let crc = 0xffffffff;
  for (const b of data) {
    crc ^= b;
    for (let k = 0; k < 8; k++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return ~crc >>> 0;
}

function mulberry32(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe('crc32c', () => {
  it('matches the standard check value and the RFC 3720 vectors', () => {
    expect(crc32c(Buffer.from('123456789'))).toBe(0xe3069283);
    expect(crc32c(Buffer.alloc(0))).toBe(0);
    expect(crc32c(Buffer.alloc(32, 0))).toBe(0x8a9136aa);
    expect(crc32c(Buffer.alloc(32, 0xff))).toBe(0x62a8ab43);
    expect(crc32c(Buffer.from(Array.from({ length: 32 }, (_, i) => i)))).toBe(0x46dd794e);
  });

  it('agrees with a bitwise reference on random buffers and sub-ranges', () => {
    const seed = 20240601;
    const rnd = mulberry32(seed);
    for (let i = 0; i < 200; i++) {
      const buf = Buffer.from(Array.from({ length: Math.floor(rnd() * 300) }, () => Math.floor(rnd() * 256)));
      const start = Math.floor(rnd() * (buf.length / 2));
      expect(crc32c(buf, start), `seed ${seed} case ${i}`).toBe(reference(buf.subarray(start)));
    }
  });

  it('large inputs (the native path where @node-rs/crc32 loads) agree with the tables, for sub-ranges and chained seeds', () => {
    const seed = 20261207;
    const rnd = mulberry32(seed);
    for (let i = 0; i < 40; i++) {
      const buf = Buffer.from(Array.from({ length: 3000 + Math.floor(rnd() * 60_000) }, () => Math.floor(rnd() * 256)));
      const start = Math.floor(rnd() * 1000);
      const end = buf.length - Math.floor(rnd() * 1000);
      const want = crc32cTables(buf, start, end);
      expect(crc32c(buf, start, end), `seed ${seed} case ${i}`).toBe(want);
      const cut = start + Math.floor((end - start) / 3);
      expect(crc32c(buf, cut, end, crc32c(buf, start, cut)), `seed ${seed} case ${i} chained`).toBe(want);
    }
    expect(crc32c(Buffer.alloc(100_000, 0xab))).toBe(crc32cTables(Buffer.alloc(100_000, 0xab)));
  });

  const forcedJs = process.env.TRIBUTARY_JS_CRC32C === '1';
  it.skipIf(forcedJs)(`loads @node-rs/crc32 here (platformatic installs it on this platform)${forcedJs ? ' (skipped: TRIBUTARY_JS_CRC32C=1 forces the JS tables)' : ''}`, () => {
    expect(crc32cNative).toBe(true);
  });
});
