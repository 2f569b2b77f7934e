/**
 * Composes the store layers, bottom up (Kafka Streams' KeyValueStoreBuilder model):
 *
 *   LevelBytesStore (bytes)  ->  WriteBackCache (decoded values, dirty tracking, metering)
 *                            ->  CacheScope per (step, partition, window|kv)  ->  typed handles
 *
 * Scopes are shared: two handles on one (step, partition) see the same entries. Metering
 * (gets/puts/deletes, hits/misses) is counted in the scopes, which know hits from misses.
 * A changelog layer (produce dirty state to Kafka before the LevelDB batch) slots in at the
 * flush: it consumes the same FlushBatch ops the checkpoint writes.
 */
import type { BytesStore } from './level-bytes-store.js';
import type { StateMetrics } from './metrics.js';
import { WriteBackCache } from './write-back-cache.js';
import { CacheScope } from './cache-scope.js';

export class StateStack {
  readonly cache: WriteBackCache;
  private readonly scopes = new Map<string, CacheScope>();

  /** @param populated ids (`window|kv/step/partition`) of every scope LevelDB held entries of at open */
  constructor(bottom: BytesStore, options: { maxCachedEntries: number; metrics: StateMetrics }, private readonly populated: ReadonlySet<string>) {
    this.cache = new WriteBackCache(bottom, options.maxCachedEntries, options.metrics);
  }

  scope(kind: 'window' | 'kv', step: number, partition: number): CacheScope {
    const id = `${kind}/${step}/${partition}`;
    let scope = this.scopes.get(id);
    if (!scope) {
      scope = new CacheScope(this.cache, kind === 'kv', step, partition, !this.populated.has(id));
      this.scopes.set(id, scope);
    }
    return scope;
  }
}
