/**
 * State counters, one plain object per backend, shared by the layers that bump them and read
 * by the runtime's metrics and run summary. Counters only grow; the gauges are sampled.
 */
export interface StateMetrics {
  gets: number;
  cacheHits: number;
  cacheMisses: number;
  puts: number;
  deletes: number;
  checkpoints: number;
  entriesFlushed: number;
  bytesFlushed: number;
  /** Duration of the last checkpoint's LevelDB batch, ms (0 before the first). */
  lastCheckpointMs: number;
  /** Gauges: entries in the cache now, of which dirty; live timers over all loaded services. */
  cachedEntries: number;
  dirtyEntries: number;
  /** Gauges: estimated heap bytes of the cache's entries, of which dirty (see heap-size.ts). */
  cachedBytes: number;
  dirtyBytes: number;
  timers: number;
  /** Gauge: share of the presence filter's bits set (0 without one); false positives ≈ fill⁴. */
  presenceFill: number;
  /** Counter: presence filter rebuilds completed (presence-refresh.ts). */
  presenceRefreshes: number;
}

export function createStateMetrics(): StateMetrics {
  return {
    gets: 0,
    cacheHits: 0,
    cacheMisses: 0,
    puts: 0,
    deletes: 0,
    checkpoints: 0,
    entriesFlushed: 0,
    bytesFlushed: 0,
    lastCheckpointMs: 0,
    cachedEntries: 0,
    dirtyEntries: 0,
    cachedBytes: 0,
    dirtyBytes: 0,
    timers: 0,
    presenceFill: 0,
    presenceRefreshes: 0,
  };
}
