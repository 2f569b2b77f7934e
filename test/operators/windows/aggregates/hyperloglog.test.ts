import { describe, expect, it } from 'vitest';
import { hllAdd, hllCreate, hllDecode, hllEncode, hllEstimate, hllMerge } from '../../../../src/operators/windows/aggregates/hyperloglog.js';
import { ByteReader, ByteWriter } from '../../../../src/state/codec/bytes.js';

describe('HyperLogLog', () => {
  it('estimates 1M distinct values within 2% at p=14 (seeded value set)', () => {
    const seed = 20240601;
    const regs = hllCreate(14);
    // Distinct by construction: the seed only shapes the strings, as real ids would.
    for (let i = 0; i < 1_000_000; i++) hllAdd(regs, `n${seed}-${i}`);
    const est = hllEstimate(regs);
    const err = Math.abs(est - 1_000_000) / 1_000_000;
    expect(err, `seed ${seed}: estimate ${est}`).toBeLessThan(0.02);
  });

  it('is within 3 standard errors at several cardinalities, linear counting included', () => {
    for (const n of [10, 100, 1_000, 10_000, 50_000, 200_000]) {
      const regs = hllCreate(14);
      for (let i = 0; i < n; i++) hllAdd(regs, `k${i * 7919}`);
      const err = Math.abs(hllEstimate(regs) - n) / n;
      expect(err, `n=${n}`).toBeLessThan(n < 1000 ? 0.02 : 3 * 0.0081);
    }
  });

  it('adding the same value twice changes nothing', () => {
    const regs = hllCreate(10);
    hllAdd(regs, 'x');
    expect(hllAdd(regs, 'x')).toBe(false);
    expect(hllEstimate(regs)).toBe(1);
  });

  it('merging sketches equals sketching the union', () => {
    const a = hllCreate(12);
    const b = hllCreate(12);
    const u = hllCreate(12);
    for (let i = 0; i < 30_000; i++) {
      const k = `v${i}`;
      hllAdd(i % 3 === 0 ? a : b, k);
      if (i % 5 === 0) hllAdd(a, k);
      hllAdd(u, k);
    }
    hllMerge(a, b);
    expect(a).toEqual(u);
  });

  it('round-trips sparse and dense encodings', () => {
    for (const n of [0, 5, 100_000]) {
      const regs = hllCreate(14);
      for (let i = 0; i < n; i++) hllAdd(regs, String(i));
      const w = new ByteWriter();
      hllEncode(w, regs);
      const bytes = w.finish();
      if (n <= 5) expect(bytes.length).toBeLessThan(32);
      expect(hllDecode(new ByteReader(bytes), 14)).toEqual(regs);
    }
  });
});
