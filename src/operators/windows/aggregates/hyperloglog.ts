/**
 * HyperLogLog (Flajolet et al. 2007) over a 64-bit-ish hash: two murmur3_32 passes with
 * different seeds over the canonical value string. 2^p one-byte registers (p = 14: 16 KiB,
 * standard error 1.04/√m ≈ 0.81%). Estimate: the raw harmonic-mean estimate with the standard
 * α_m bias constant, linear counting below 2.5·m when some register is still zero. No
 * large-range correction: with ~50 hash bits collisions do not matter at our cardinalities.
 * Merging is register-wise max, so the registers depend only on the set of values added,
 * never on the order or the way partial sketches were merged.
 *
 * Encoding (precision is fixed per step, not stored):
 *   u8 0 = sparse: varint count, then count × (varint index delta, u8 rank)
 *   u8 1 = dense: 2^p raw register bytes
 */
import { TributaryError } from '../../../core/errors.js';
import type { ByteReader, ByteSink } from '../../../state/codec/bytes.js';
import { fmix32 } from '../../../core/hash.js';

export const DEFAULT_HLL_PRECISION = 14;

export function hllCreate(precision: number = DEFAULT_HLL_PRECISION): Uint8Array {
  if (!Number.isInteger(precision) || precision < 4 || precision > 18) {
    throw new TributaryError('TRIB_INTERNAL', `HyperLogLog precision must be an integer in 4..18, got ${precision}`);
  }
  return new Uint8Array(1 << precision);
}

function precisionOf(regs: Uint8Array): number {
  return 31 - Math.clz32(regs.length);
}

/** murmur3 x86_32 over the UTF-16 code units of s, two code units per block. */
export function murmur3(s: string, seed: number): number {
  let h = seed >>> 0;
  const len = s.length;
  const blocks = len >> 1;
  for (let i = 0; i < blocks; i++) {
    let k = (s.charCodeAt(2 * i) | (s.charCodeAt(2 * i + 1) << 16)) >>> 0;
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
    h = (h << 13) | (h >>> 19);
    h = (Math.imul(h, 5) + 0xe6546b64) | 0;
  }
  if (len & 1) {
    let k = s.charCodeAt(len - 1);
    k = Math.imul(k, 0xcc9e2d51);
    k = (k << 15) | (k >>> 17);
    k = Math.imul(k, 0x1b873593);
    h ^= k;
  }
  h ^= len * 2;
  return fmix32(h);
}

const SEED_A = 0x9747b28c;
const SEED_B = 0x5bd1e995;

/** Adds a value (its canonical string); returns whether a register changed. */
export function hllAdd(regs: Uint8Array, key: string): boolean {
  const p = precisionOf(regs);
  const h1 = murmur3(key, SEED_A);
  const h2 = murmur3(key, SEED_B);
  const index = h1 >>> (32 - p);
  // The rank runs over the 32-p bits of h1 below the index, then on into h2 (50 bits at p=14).
  const low = p === 32 ? 0 : (h1 << p) >>> 0;
  const rank = low !== 0 ? Math.clz32(low) + 1 : 32 - p + Math.clz32(h2) + 1;
  if (rank > regs[index]!) {
    regs[index] = rank;
    return true;
  }
  return false;
}

export function hllMerge(into: Uint8Array, from: Uint8Array): void {
  if (into.length !== from.length) throw new TributaryError('TRIB_INTERNAL', 'HyperLogLog merge: precision mismatch');
  for (let i = 0; i < into.length; i++) if (from[i]! > into[i]!) into[i] = from[i]!;
}

export function hllEstimate(regs: Uint8Array): number {
  const m = regs.length;
  let sum = 0;
  let zeros = 0;
  for (let i = 0; i < m; i++) {
    const r = regs[i]!;
    sum += 2 ** -r;
    if (r === 0) zeros++;
  }
  const alpha = m >= 128 ? 0.7213 / (1 + 1.079 / m) : m === 64 ? 0.709 : m === 32 ? 0.697 : 0.673;
  const raw = (alpha * m * m) / sum;
  if (raw <= 2.5 * m && zeros > 0) return Math.round(m * Math.log(m / zeros));
  return Math.round(raw);
}

export function hllEncode(w: ByteSink, regs: Uint8Array): void {
  let nonZero = 0;
  for (let i = 0; i < regs.length; i++) if (regs[i] !== 0) nonZero++;
  // A sparse entry costs ~3 bytes; dense costs one byte per register.
  if (nonZero * 3 < regs.length) {
    w.u8(0).varint(nonZero);
    let prev = 0;
    for (let i = 0; i < regs.length; i++) {
      if (regs[i] === 0) continue;
      w.varint(i - prev).u8(regs[i]!);
      prev = i;
    }
  } else {
    w.u8(1);
    for (let i = 0; i < regs.length; i++) w.u8(regs[i]!);
  }
}

export function hllDecode(r: ByteReader, precision: number): Uint8Array {
  const regs = hllCreate(precision);
  const mode = r.u8();
  if (mode === 0) {
    const n = r.varint();
    let idx = 0;
    for (let i = 0; i < n; i++) {
      idx += r.varint();
      regs[idx] = r.u8();
    }
  } else {
    for (let i = 0; i < regs.length; i++) regs[i] = r.u8();
  }
  return regs;
}
