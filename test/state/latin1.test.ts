import { describe, expect, it } from 'vitest';
import { latin1, latin1Bytes, sameChars } from '../../src/state/codec/latin1.js';
import { makeRng } from './random.js';

describe('latin1: record keys as one-byte strings', () => {
  it('gives Buffer’s latin1 text for every length and byte value, and back', () => {
    const rng = makeRng();
    for (let n = 0; n <= 100; n++) {
      for (let rep = 0; rep < 20; rep++) {
        const b = new Uint8Array(n);
        for (let i = 0; i < n; i++) b[i] = Math.floor(rng.next() * 256);
        const s = latin1(b);
        expect(s).toBe(Buffer.from(b).toString('latin1'));
        expect(sameChars(b, s)).toBe(true);
        expect(latin1Bytes(s)).toEqual(b);
      }
    }
  });

  it('converts a buffer reused with other bytes afresh (the memo checks the bytes, not only the object)', () => {
    const b = Uint8Array.from([1, 2, 3]);
    expect(latin1(b)).toBe('\u0001\u0002\u0003');
    b[1] = 0xff;
    expect(latin1(b)).toBe('\u0001\u00ff\u0003');
    const view = new Uint8Array(Uint8Array.from([9, 8, 7, 6, 5]).buffer, 1, 3);
    expect(latin1(view)).toBe('\u0008\u0007\u0006');
  });
});
