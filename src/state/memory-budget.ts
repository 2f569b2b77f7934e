/**
 * One number, spec.state.cacheSize, bounds the memory state takes in a worker; this splits it
 * between the layers that hold memory:
 *
 *   LevelDB write buffers   2 × writeBufferBytes (the memtable being filled and the one being
 *                           compacted), 1/32 of the total each, 1MB to 32MB
 *   LevelDB block cache     1/32 of the total (uncompressed blocks: the miss path's reads)
 *   LevelDB tables          5/32 of the total kept back, not configurable in classic-level
 *                           beyond maxOpenFiles: open tables' index and filter blocks, and the
 *                           table files themselves, which LevelDB reads through mmap (up to 1000
 *                           files): every page a read touches stays in the process's RSS while
 *                           its table is open (250MB of the 10M-key row's ~1GB peak RSS in
 *                           `npm run bench -- state-scale`). A smaller block cache leaves room
 *                           for them: those pages already hold what it would cache, compressed.
 *   write-back cache        the rest: decoded entries, key nodes, values (write-back-cache.ts)
 *
 * And the V8 heap around the write-back cache (boundHeapGrowth below).
 */
import { setFlagsFromString } from 'node:v8';

const MB = 2 ** 20;

export interface MemoryBudget {
  cacheBytes: number;
  blockCacheBytes: number;
  writeBufferBytes: number;
}

export function splitMemory(total: number): MemoryBudget {
  const writeBufferBytes = Math.min(32 * MB, Math.max(MB, Math.floor(total / 32)));
  const blockCacheBytes = Math.floor(total / 32);
  const tableReserve = Math.floor((5 * total) / 32);
  const cacheBytes = Math.max(MB, total - 2 * writeBufferBytes - blockCacheBytes - tableReserve);
  return { cacheBytes, blockCacheBytes, writeBufferBytes };
}

/**
 * How far V8 lets its old generation grow past what survived the last full GC before it collects
 * again, in percent. V8 picks a factor from its GC and allocation speeds, up to 4× on a large
 * machine; a cache over LevelDB evicts and reloads decoded entries at the rate of its misses, so
 * it turns over the whole cache every few seconds and V8 chose ~3×: with 192MB of cached entries
 * the heap swung between 310MB and 1.1GB (`npm run bench -- state-scale`, memoryUsage in its
 * progress lines); capped at 1.3 (V8's own conservative factor) the heap stayed 370-500MB and
 * the 10M-key row peaked at ~1GB RSS, so 1.2: the cost is more frequent, mostly concurrent,
 * marking.
 */
export const HEAP_GROWING_PERCENT = 20;

let heapBounded = false;

/**
 * Caps V8's heap growth factor for this process (a worker keeping state is the process's main
 * tenant; the flag is read at every full GC, so setting it after start takes effect). Never
 * a hard limit: a live set past any bound is still served, only collected more often.
 */
export function boundHeapGrowth(percent = HEAP_GROWING_PERCENT): void {
  if (heapBounded) return;
  heapBounded = true;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}
