import { describe, expect, it } from 'vitest';
import { KeyTable, type KeyedNode } from '../../src/state/key-table.js';
import { latin1, latin1Bytes } from '../../src/state/codec/latin1.js';
import { keyHash } from '../../src/state/presence-filter.js';
import { makeRng, withSeed, type Rng } from './random.js';

interface Node extends KeyedNode {
  readonly n: number;
}

/**
 * Random adds, lookups and deletes against a Map. `hashOf` picks the hashes: the real keyHash, or
 * a handful of values so that probe runs are long, wrap round the table's end and hold different
 * keys under one hash (0 included, which the table stores as 1).
 */
function churn(rng: Rng, ops: number, keySpace: number, hashOf: (key: Uint8Array) => number): void {
  const table = new KeyTable<Node>();
  const ref = new Map<string, Node>();
  let made = 0;
  let maxSize = 0;
  for (let op = 0; op < ops; op++) {
    const kb = new TextEncoder().encode(`k${rng.int(0, keySpace - 1)}`);
    const id = latin1(kb);
    const h = hashOf(kb);
    const have = ref.get(id);
    expect(table.get(kb, h)).toBe(have);
    const r = rng.next();
    // Grow for the first half of the run, shrink in the second (the table's resize both ways).
    const addBias = op < ops / 2 ? 0.7 : 0.3;
    if (have === undefined && r < addBias) {
      const node: Node = { id, hash: h, n: made++ };
      table.add(node);
      ref.set(id, node);
    } else if (have !== undefined && r >= addBias) {
      expect(table.delete(have)).toBe(true);
      expect(table.delete(have)).toBe(false);
      ref.delete(id);
    }
    expect(table.size).toBe(ref.size);
    maxSize = Math.max(maxSize, ref.size);
  }
  // Every key still filed is found, and the table lists exactly those nodes.
  for (const node of ref.values()) expect(table.get(latin1Bytes(node.id), node.hash)).toBe(node);
  expect(new Set(table.values())).toEqual(new Set(ref.values()));
  expect(maxSize).toBeGreaterThan(keySpace / 4);
}

describe('KeyTable: a cache scope’s key nodes by record key', () => {
  it('agrees with a Map over random adds, lookups and deletes (real hashes)', () => {
    const rng = makeRng();
    withSeed(rng, () => churn(rng, 40_000, 3_000, (kb) => keyHash(7, kb)));
  });

  it('agrees with a Map when many keys share a few hashes (long probe runs, deletes shifting them back)', () => {
    const rng = makeRng();
    const hashes = [0, 1, -1, 63, 64, 0x7fffffff, -0x80000000];
    withSeed(rng, () => churn(rng, 20_000, 400, (kb) => hashes[(keyHash(3, kb) >>> 0) % hashes.length]!));
  });

  it('shrinks as keys go: its memory follows the keys it holds', () => {
    const table = new KeyTable<Node>();
    const nodes: Node[] = [];
    for (let i = 0; i < 100_000; i++) {
      const kb = new TextEncoder().encode(`user-${i}`);
      const node = { id: latin1(kb), hash: keyHash(1, kb), n: i };
      table.add(node);
      nodes.push(node);
    }
    const full = table.byteLength;
    expect(full).toBeGreaterThanOrEqual(100_000 * 2 * 12);
    for (const node of nodes.slice(10)) table.delete(node);
    expect(table.size).toBe(10);
    expect(table.byteLength).toBeLessThanOrEqual(64 * 12 * 4);
    for (const node of nodes.slice(0, 10)) expect(table.get(latin1Bytes(node.id), node.hash)).toBe(node);
    table.clear();
    expect(table.size).toBe(0);
    expect([...table.values()]).toEqual([]);
  });

  it('compares the key, not only the hash', () => {
    const table = new KeyTable<Node>();
    const a = { id: 'a', hash: 5, n: 0 };
    table.add(a);
    expect(table.get(Uint8Array.of(0x62), 5)).toBeUndefined();
    expect(table.get(Uint8Array.of(0x61), 5)).toBe(a);
    expect(table.get(Uint8Array.of(0x61), 6)).toBeUndefined();
  });
});
