/**
 * A cache scope's key nodes by record key (cache-scope.ts): an open-addressing hash table
 * (linear probing, backward-shift deletion) whose slots hold each node's 32-bit hash in an
 * Int32Array beside the node.
 *
 * Why not a Map<string, node>: with keys outnumbering the cache, nearly every record is a new key
 * and the map turns over at the record rate. A Map lookup of an absent string key walks a bucket
 * chain and compares the keys it meets, each a random read in a table of hundreds of thousands
 * (~1 µs per record at 10M keys, `npm run bench -- state-scale`), needs the key as a string
 * (one allocated per lookup), and its table is reallocated as deleted entries pile up. Here a
 * lookup reads the hashes next to one slot (one cache line, usually) and compares a node's key
 * only when its hash matches; the hash is the one the presence filter takes
 * (presence-filter.ts), computed once from the key's bytes; no string is built to look up.
 *
 * No I/O. Grows at half full, shrinks at an eighth (not below MIN_SLOTS): its memory follows the
 * keys cached, not the keys ever seen.
 */
import { sameChars } from './codec/latin1.js';

/** What the table files: a node knows its key (latin1 string) and that key's hash. */
export interface KeyedNode {
  /** latin1(record key bytes). */
  readonly id: string;
  /** keyHash(salt, key bytes): where the table files it. */
  readonly hash: number;
}

const MIN_SLOTS = 64;

export class KeyTable<N extends KeyedNode> {
  /** Per slot: the node's hash with 0 mapped to 1 (0 marks an empty slot). */
  private tags = new Int32Array(MIN_SLOTS);
  private slots: Array<N | undefined> = new Array<N | undefined>(MIN_SLOTS).fill(undefined);
  private mask = MIN_SLOTS - 1;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Bytes the table's two arrays take (the cache counts them as part of NODE_BYTES per node, heap-size.ts). */
  get byteLength(): number {
    return this.tags.length * 12;
  }

  /** The node filed under the key `kb` (whose keyHash is `h`), if any. */
  get(kb: Uint8Array, h: number): N | undefined {
    const tag = h === 0 ? 1 : h;
    const tags = this.tags;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const t = tags[i]!;
      if (t === 0) return undefined;
      if (t === tag) {
        const n = this.slots[i]!;
        if (sameChars(kb, n.id)) return n;
      }
    }
  }

  /** Files a node whose key is not in the table. */
  add(node: N): void {
    if ((this.count + 1) * 2 > this.tags.length) this.resize(this.tags.length * 2);
    this.place(node);
    this.count++;
  }

  /** Removes a node filed here (by identity); false if it is not. */
  delete(node: N): boolean {
    const tags = this.tags;
    const slots = this.slots;
    const mask = this.mask;
    let i = node.hash & mask;
    for (;; i = (i + 1) & mask) {
      if (tags[i] === 0) return false;
      if (slots[i] === node) break;
    }
    // Backward shift: later nodes of the probe run move into the hole when their home allows.
    let hole = i;
    for (let j = (i + 1) & mask; tags[j] !== 0; j = (j + 1) & mask) {
      const home = slots[j]!.hash & mask;
      // j may move to hole unless its home lies cyclically in (hole, j].
      if (((j - home) & mask) >= ((j - hole) & mask)) {
        tags[hole] = tags[j]!;
        slots[hole] = slots[j];
        hole = j;
      }
    }
    tags[hole] = 0;
    slots[hole] = undefined;
    this.count--;
    if (this.count * 8 < tags.length && tags.length > MIN_SLOTS) this.resize(tags.length / 2);
    return true;
  }

  clear(): void {
    this.tags = new Int32Array(MIN_SLOTS);
    this.slots = new Array<N | undefined>(MIN_SLOTS).fill(undefined);
    this.mask = MIN_SLOTS - 1;
    this.count = 0;
  }

  *values(): IterableIterator<N> {
    const slots = this.slots;
    for (let i = 0; i < slots.length; i++) {
      const n = slots[i];
      if (n !== undefined) yield n;
    }
  }

  private place(node: N): void {
    const tags = this.tags;
    const mask = this.mask;
    let i = node.hash & mask;
    while (tags[i] !== 0) i = (i + 1) & mask;
    tags[i] = node.hash === 0 ? 1 : node.hash;
    this.slots[i] = node;
  }

  private resize(slots: number): void {
    const old = this.slots;
    this.tags = new Int32Array(slots);
    this.slots = new Array<N | undefined>(slots).fill(undefined);
    this.mask = slots - 1;
    for (let i = 0; i < old.length; i++) {
      const n = old[i];
      if (n !== undefined) this.place(n);
    }
  }
}
