/**
 * hash(): MurmurHash3 x86 32-bit, seed 0, over the UTF-8 bytes of the value's text, as an
 * unsigned int. Standard and stable, so the same bucket can be computed outside Tributary
 * (e.g. Python `mmh3.hash(text, signed=False)`).
 */

import { fmix32 } from '../../core/hash.js';
const encoder = new TextEncoder();

export function murmur3(text: string): number {
  const bytes = encoder.encode(text);
  const len = bytes.length;
  const c1 = 0xcc9e2d51;
  const c2 = 0x1b873593;
  let h = 0;
  const whole = len & ~3;
  for (let i = 0; i < whole; i += 4) {
    let k = bytes[i] | (bytes[i + 1] << 8) | (bytes[i + 2] << 16) | (bytes[i + 3] << 24);
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  const rest = len & 3;
  if (rest > 0) {
    let k = bytes[whole];
    if (rest >= 2) k ^= bytes[whole + 1] << 8;
    if (rest === 3) k ^= bytes[whole + 2] << 16;
    k = Math.imul(k, c1);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, c2);
    h ^= k;
  }
  h ^= len;
  return fmix32(h);
}
