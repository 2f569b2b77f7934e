/**
 * Seeded randomness for the generator. Everything about record i of partition p derives from
 * hash(seed, p, i), so a record can be produced on its own — that is what makes seek() exact.
 */

import { fmix32 } from '../../core/hash.js';

/** Hash of a sequence of integers (each taken as 2 × 32 bits so offsets above 2^32 stay distinct). */
export function hashInts(...values: number[]): number {
  let h = 0x9e3779b9;
  for (const v of values) {
    const lo = v >>> 0;
    const hi = Math.floor(v / 0x1_0000_0000) >>> 0;
    h = fmix32(h ^ lo);
    h = fmix32((h + 0x6a09e667) ^ hi);
  }
  return h;
}

/**
 * mulberry32: tiny, fast, good enough for synthetic data. A class, not closures: records create
 * several per record and per-instance closures cost far more (allocation, and tsx's name helper).
 */
export class Rng {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  /** Uniform in [0, 1). */
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** Uniform integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }

  /** true with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)];
  }
}

export function rng(seed: number): Rng {
  return new Rng(seed);
}
