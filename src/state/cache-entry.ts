/**
 * One cached state value (write-back-cache.ts keeps them; cache-scope.ts files them by record
 * key): its value, decoded, and what the cache needs to write, evict and account for it.
 */
import type { ValueCodec } from './types.js';
import type { PackedOps } from './level-bytes-store.js';
import { ENTRY_BYTES, HEAP_CALIBRATION, estimateHeapBytes } from './heap-size.js';

/** The value of an entry that is known absent (deleted, or not in LevelDB). */
export const ABSENT: unique symbol = Symbol('absent');

/** What owns an entry: it builds the entry's LevelDB key and removes the entry from its maps. */
export interface EntryOwner {
  complete: boolean;
  /** Starts an op in `ops` with the entry's LevelDB key. */
  packKey(e: Entry, ops: PackedOps): void;
  /** A checkpoint captured the entry (+1) or encoded or released it (-1): capture.ts. */
  pend(e: Entry, delta: 1 | -1): void;
  unlink(e: Entry): void;
  /** The entry is being evicted and LevelDB may hold it: misses on its key must read LevelDB. */
  evictedPresent(e: Entry): void;
}

export interface Entry {
  value: unknown;
  codec: ValueCodec<unknown> | undefined;
  readonly owner: EntryOwner;
  /** The record key's node in its scope (cache-scope.ts), opaque here. */
  readonly node: unknown;
  /** Slice start; undefined for a head or kv entry (a NaN would be a heap number box per entry). */
  readonly start: number | undefined;
  dirty: boolean;
  /** LevelDB holds a value for this key as of the last written batch (or the read that loaded it). */
  onDisk: boolean;
  /** Batches collected but not yet committed or aborted that hold this entry. */
  flushing: number;
  /** Captured by a checkpoint and not encoded yet: encode it before its value is read or changed (capture.ts). */
  pending: boolean;
  /** Bumped by every put/delete, so a commit can tell whether the entry changed after collection. */
  version: number;
  /** Second-chance bit: set by a hit, cleared when the clock passes. */
  ref: boolean;
  /** Estimated heap bytes: the entry and its decoded value. */
  size: number;
  /** In the clean queue (possibly stale: the clock drops dirty and unlinked entries it meets). */
  queued: boolean;
  /** Still in its scope's maps. */
  linked: boolean;
}

export function newEntry(owner: EntryOwner, node: unknown, start: number | undefined, value: unknown, codec: ValueCodec<unknown> | undefined, dirty: boolean, onDisk: boolean, size = valueBytes(value, codec)): Entry {
  return { value, codec, owner, node, start, dirty, onDisk, flushing: 0, pending: false, version: dirty ? 1 : 0, ref: false, size, queued: false, linked: true };
}

/** Heap bytes of an entry holding `value` (ABSENT: the entry alone). */
export function valueBytes(value: unknown, codec: ValueCodec<unknown> | undefined): number {
  if (value === ABSENT) return ENTRY_BYTES;
  return ENTRY_BYTES + (codec?.heapSize !== undefined ? codec.heapSize(value) : Math.round(HEAP_CALIBRATION * estimateHeapBytes(value)));
}
