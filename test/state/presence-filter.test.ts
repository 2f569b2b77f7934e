import { describe, expect, it } from 'vitest';
import { PresenceFilter, decodePresence, encodePresence } from '../../src/state/presence-filter.js';
import { latin1Bytes as k } from '../../src/state/codec/latin1.js';

describe('presence filter', () => {
  it('holds nothing when empty', () => {
    const f = new PresenceFilter(1024);
    expect(f.mayHold(1, k('a'))).toBe(false);
    expect(f.mayHold(0, k(''))).toBe(false);
  });

  it('never forgets a key it was given (no false negatives), whatever its size', () => {
    for (const bytes of [8, 1024, 1 << 20]) {
      const f = new PresenceFilter(bytes);
      for (let i = 0; i < 20_000; i++) f.add(i % 7, k(`user-${i}`));
      for (let i = 0; i < 20_000; i++) expect(f.mayHold(i % 7, k(`user-${i}`))).toBe(true);
    }
  });

  it('keeps false positives near the Bloom bound: ~2.4% at one byte per key (~2.6% blocked in cache lines)', () => {
    const keys = 65_536;
    const f = new PresenceFilter(keys); // 8 bits per key, 4 probes: (1 - e^(-4/8))^4 = 2.4%
    expect(f.byteLength).toBe(65_536);
    for (let i = 0; i < keys; i++) f.add(3, k(`u${i}`));
    let positives = 0;
    for (let i = keys; i < 2 * keys; i++) if (f.mayHold(3, k(`u${i}`))) positives++;
    expect(positives / keys).toBeLessThan(0.035);
    expect(positives / keys).toBeGreaterThan(0.015);
    // The same keys under another scope's salt are mostly unknown.
    let other = 0;
    for (let i = 0; i < keys; i++) if (f.mayHold(4, k(`u${i}`))) other++;
    expect(other / keys).toBeLessThan(0.035);
  });

  it('rounds its size down to a power of two, at least one block of 64 bytes', () => {
    expect(new PresenceFilter(0).byteLength).toBe(64);
    expect(new PresenceFilter(100).byteLength).toBe(64);
    expect(new PresenceFilter(200).byteLength).toBe(128);
    expect(new PresenceFilter(8 << 20).byteLength).toBe(8 << 20);
  });

  it('is saved with its checkpoint and scopes, and taken back only for that checkpoint and size', () => {
    const f = new PresenceFilter(1024);
    for (let i = 0; i < 500; i++) f.add(2, k(`k${i}`));
    const saved = encodePresence(f, '{"at":1}', ['kv/0/0', 'window/0/3']);
    const back = decodePresence(saved, '{"at":1}', 1024);
    expect(back?.scopes).toEqual(['kv/0/0', 'window/0/3']);
    for (let i = 0; i < 500; i++) expect(back!.filter.mayHold(2, k(`k${i}`))).toBe(true);
    expect(back!.filter.added).toBe(500);
    expect(decodePresence(saved, '{"at":2}', 1024)).toBeUndefined();
    expect(decodePresence(saved, '{"at":1}', 2048)).toBeUndefined();
    expect(decodePresence(saved.subarray(0, 10), '{"at":1}', 1024)).toBeUndefined();
    expect(decodePresence(new Uint8Array([0, 0, 0, 3, 1, 2, 3]), '', 1024)).toBeUndefined();
  });

  it('does not take back a filter saved in the unblocked layout (v1): its bits would mean other keys', () => {
    const f = new PresenceFilter(1024);
    f.add(2, k('k'));
    const saved = encodePresence(f, '{"at":1}', ['kv/0/0']);
    const n = new DataView(saved.buffer, saved.byteOffset).getUint32(0);
    const header = new TextDecoder().decode(saved.subarray(4, 4 + n));
    expect(header).toContain('"v":2');
    saved.set(new TextEncoder().encode(header.replace('"v":2', '"v":1')), 4);
    expect(decodePresence(saved, '{"at":1}', 1024)).toBeUndefined();
    saved.set(new TextEncoder().encode(header), 4);
    expect(decodePresence(saved, '{"at":1}', 1024)?.filter.mayHold(2, k('k'))).toBe(true);
  });
});
