/**
 * One number, spec.state.cacheSize, bounds the memory state takes in a worker; this splits it
 * between the layers that hold memory:
 *
 *   LevelDB write buffers   2 × writeBufferBytes (the memtable being filled and the one being
 *                           compacted), 1/32 of the total each, 1MB to 32MB
 *   LevelDB block cache     1/8 of the total (uncompressed blocks: the miss path's reads)
 *   LevelDB table cache     1/16 of the total kept back for open tables' index blocks (not
 *                           configurable in classic-level beyond maxOpenFiles, so reserved)
 *   write-back cache        the rest: decoded entries, key nodes, values (write-back-cache.ts)
 */

const MB = 2 ** 20;

export interface MemoryBudget {
  cacheBytes: number;
  blockCacheBytes: number;
  writeBufferBytes: number;
}

export function splitMemory(total: number): MemoryBudget {
  const writeBufferBytes = Math.min(32 * MB, Math.max(MB, Math.floor(total / 32)));
  const blockCacheBytes = Math.floor(total / 8);
  const tableReserve = Math.floor(total / 16);
  const cacheBytes = Math.max(MB, total - 2 * writeBufferBytes - blockCacheBytes - tableReserve);
  return { cacheBytes, blockCacheBytes, writeBufferBytes };
}
