import { describe, expect, it } from 'vitest';
import { PresenceFilter } from '../../src/state/presence-filter.js';

describe('presence filter', () => {
  it('holds nothing when empty', () => {
    const f = new PresenceFilter(1024);
    expect(f.mayHold(1, 'a')).toBe(false);
    expect(f.mayHold(0, '')).toBe(false);
  });

  it('never forgets a key it was given (no false negatives), whatever its size', () => {
    for (const bytes of [8, 1024, 1 << 20]) {
      const f = new PresenceFilter(bytes);
      for (let i = 0; i < 20_000; i++) f.add(i % 7, `user-${i}`);
      for (let i = 0; i < 20_000; i++) expect(f.mayHold(i % 7, `user-${i}`)).toBe(true);
    }
  });

  it('keeps false positives near the Bloom bound: ~2.4% at one byte per key', () => {
    const keys = 65_536;
    const f = new PresenceFilter(keys); // 8 bits per key, 4 probes: (1 - e^(-4/8))^4 = 2.4%
    expect(f.byteLength).toBe(65_536);
    for (let i = 0; i < keys; i++) f.add(3, `u${i}`);
    let positives = 0;
    for (let i = keys; i < 2 * keys; i++) if (f.mayHold(3, `u${i}`)) positives++;
    expect(positives / keys).toBeLessThan(0.035);
    expect(positives / keys).toBeGreaterThan(0.015);
    // The same keys under another scope's salt are mostly unknown.
    let other = 0;
    for (let i = 0; i < keys; i++) if (f.mayHold(4, `u${i}`)) other++;
    expect(other / keys).toBeLessThan(0.035);
  });

  it('rounds its size down to a power of two, at least 8 bytes', () => {
    expect(new PresenceFilter(0).byteLength).toBe(8);
    expect(new PresenceFilter(100).byteLength).toBe(64);
    expect(new PresenceFilter(8 << 20).byteLength).toBe(8 << 20);
  });
});
