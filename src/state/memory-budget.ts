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
 *   timer pages             1/16 of the total: clean timer pages kept in memory (timer-service.ts),
 *                           so a timer registered days ahead does not re-read its page after
 *                           every checkpoint
 *   presence filter         1/32 of the total: a Bloom filter of the keys the cache evicted
 *                           while LevelDB held them (presence-filter.ts), so a miss on a key
 *                           never written skips LevelDB; 8MB keeps its false positives near
 *                           3% up to ~10M evicted keys
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
  timerBytes: number;
  filterBytes: number;
}

export function splitMemory(total: number): MemoryBudget {
  const writeBufferBytes = Math.min(32 * MB, Math.max(MB, Math.floor(total / 32)));
  const blockCacheBytes = Math.floor(total / 32);
  const tableReserve = Math.floor((5 * total) / 32);
  const timerBytes = Math.floor(total / 16);
  const filterBytes = Math.floor(total / 32);
  const cacheBytes = Math.max(MB, total - 2 * writeBufferBytes - blockCacheBytes - tableReserve - timerBytes - filterBytes);
  return { cacheBytes, blockCacheBytes, writeBufferBytes, timerBytes, filterBytes };
}

/**
 * How far V8 lets its old generation grow past what survived the last full GC before it collects
 * again, in percent. V8 picks a factor from its GC and allocation speeds, up to 4× on a large
 * machine; a cache over LevelDB evicts and reloads decoded entries at the rate of its misses, so
 * it turns over the whole cache every few seconds and V8 chose ~3×: with 192MB of cached entries
 * the heap swung between 310MB and 1.1GB (`npm run bench -- state-scale`, memoryUsage in its
 * progress lines); capped at 1.3 (V8's own conservative factor) the heap stayed 370-500MB and
 * the 10M-key row peaked at ~1GB RSS, so 1.2: the cost is more frequent, mostly concurrent,
 * marking. That cost is large on a hot path that allocates: in `npm run bench -- engine` the cap
 * took 30-50% of the events/s (stateless 331k -> 226k, tumbling 84k -> 63k, rolling 40k -> 27k).
 * So it is opt-in: TRIBUTARY_HEAP_GROWING_PERCENT=20 trades that throughput for a tighter RSS
 * (`npm run bench -- state-scale` sets it; its rows are measured with it).
 */
export const HEAP_GROWING_PERCENT = 20;

let heapBounded = false;

/**
 * Caps V8's heap growth factor for this process (a worker keeping state is the process's main
 * tenant; the flag is read at every full GC, so setting it after start takes effect). Never
 * a hard limit: a live set past any bound is still served, only collected more often.
 */
export function boundHeapGrowth(percent = heapGrowingPercentFromEnv()): void {
  if (heapBounded || percent === undefined) return;
  heapBounded = true;
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/** TRIBUTARY_HEAP_GROWING_PERCENT (an integer 1..400), or undefined: V8 chooses. */
function heapGrowingPercentFromEnv(): number | undefined {
  const raw = process.env.TRIBUTARY_HEAP_GROWING_PERCENT;
  if (raw === undefined || raw === '') return undefined;
  const n = Number(raw);
  return Number.isInteger(n) && n >= 1 && n <= 400 ? n : undefined;
}
