/**
 * Composes the store layers, bottom up (Kafka Streams' KeyValueStoreBuilder model):
 *
 *   LevelBytesStore (bytes)  ->  WriteBackCache (decoded values, dirty tracking)  ->  metering
 *
 * The typed handles (handles.ts) sit on the top layer; checkpoints collect from the cache.
 * A changelog layer (produce dirty state to Kafka before the LevelDB batch) slots in at the
 * flush: it consumes the same FlushBatch ops the checkpoint writes.
 */
import type { ValueCodec } from './types.js';
import type { BytesStore } from './level-bytes-store.js';
import type { StateMetrics } from './metrics.js';
import { WriteBackCache, type ObjectStore } from './write-back-cache.js';

/** Counts operator-visible operations; hits and misses are counted by the cache that knows them. */
export class MeteredStore implements ObjectStore {
  constructor(
    private readonly inner: ObjectStore,
    private readonly metrics: StateMetrics,
  ) {}

  get<V>(key: Uint8Array, codec: ValueCodec<V>): V | undefined {
    this.metrics.gets++;
    return this.inner.get(key, codec);
  }

  put<V>(key: Uint8Array, value: V, codec: ValueCodec<V>): void {
    this.metrics.puts++;
    this.inner.put(key, value, codec);
  }

  delete(key: Uint8Array): void {
    this.metrics.deletes++;
    this.inner.delete(key);
  }
}

export interface StateStack {
  /** What handles read and write through. */
  store: ObjectStore;
  /** Where checkpoints collect dirty entries. */
  cache: WriteBackCache;
}

export function buildStateStack(bottom: BytesStore, options: { maxCachedEntries: number; metrics: StateMetrics }): StateStack {
  const cache = new WriteBackCache(bottom, options.maxCachedEntries, options.metrics);
  return { store: new MeteredStore(cache, options.metrics), cache };
}
