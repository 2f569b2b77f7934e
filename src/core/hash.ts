/**
 * Hashing primitives shared by the expression language (hash()), HyperLogLog and the generator.
 * Pure, dependency-free. (Kafka's murmur2 partitioner lives in core/partitioner.ts: it must
 * match the Java client bit for bit and is a different function.)
 */

/** murmur3's 32-bit finaliser: a cheap, well-mixing bijection on uint32. */
export function fmix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}
