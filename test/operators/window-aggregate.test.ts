import { describe, expect, it } from 'vitest';
import { recordOrder } from '../../src/operators/window-aggregate.js';

describe('recordOrder: the deterministic first/last tie-break of a record', () => {
  it('depends only on the source position, so every interleaving of partitions agrees', () => {
    const a = { source: 'applications', partition: 0, offset: 7 };
    const b = { source: 'applications', partition: 3, offset: 7 };
    const c = { source: 'devices', partition: 0, offset: 7 };
    expect(recordOrder(a)).toBe(recordOrder({ ...a }));
    expect(new Set([a, b, c].map(recordOrder)).size).toBe(3);
    // Later offsets of a partition come later.
    expect(recordOrder({ ...a, offset: 8 })).toBeGreaterThan(recordOrder(b));
  });

  it('stays a non-negative safe integer at and beyond the documented bounds (offset < 2^41, partition < 256)', () => {
    const edge = recordOrder({ source: 's', partition: 255, offset: 2 ** 41 - 1 });
    expect(Number.isSafeInteger(edge)).toBe(true);
    expect(recordOrder({ source: 's', partition: 254, offset: 2 ** 41 - 1 })).toBeLessThan(edge);
    for (const origin of [
      { source: 's', partition: 300, offset: 2 ** 50 },
      { source: 's', partition: 1, offset: -1 },
      { source: 's', partition: 1, offset: Number.MAX_SAFE_INTEGER },
      { source: 's', partition: NaN, offset: Infinity },
    ]) {
      const o = recordOrder(origin);
      expect(Number.isSafeInteger(o) && o >= 0, JSON.stringify(origin)).toBe(true);
    }
  });
});
