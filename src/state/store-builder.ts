/**
 * Composes the store layers, bottom up (Kafka Streams' KeyValueStoreBuilder model):
 *
 *   LevelBytesStore (bytes)  ->  WriteBackCache (decoded values, dirty tracking, metering)
 *                            ->  CacheScope per (step, partition, window|kv)  ->  typed handles
 *
 * Scopes are shared: two handles on one (step, partition) see the same entries. Metering
 * (gets/puts/deletes, hits/misses) is counted in the scopes, which know hits from misses.
 * The changelog layer (changelog.ts) consumes the same ops the checkpoint batch writes, as
 * step-neutral changes (backend.ts PreparedCheckpoint.changes()), and restores through
 * StateBackend.applyChanges, which tells this stack which scopes LevelDB now holds.
 */
import type { BytesStore } from './level-bytes-store.js';
import { KIND_HEAD, KIND_KV, KIND_SLICE, scopeRange, type ScopedKind } from './codec/state-key.js';
import type { StateMetrics } from './metrics.js';
import { WriteBackCache } from './write-back-cache.js';
import { CacheScope } from './cache-scope.js';
import type { PresenceFilter } from './presence-filter.js';

export type ScopeKind = 'window' | 'kv';

const scopeId = (kind: ScopeKind, step: number, partition: number): string => `${kind}/${step}/${partition}`;

export class StateStack {
  readonly cache: WriteBackCache;
  private readonly scopes = new Map<string, { scope: CacheScope; partition: number }>();
  /**
   * Ids of scopes LevelDB may hold entries of, for scopes not created yet (a created scope keeps
   * its own `complete` flag). Accurate at open, then kept so by drop/wipe/applyChanges.
   */
  private readonly populated: Set<string>;

  /** @param populated ids (`window|kv/step/partition`) of every scope LevelDB held entries of at open */
  /** Populated scopes the presence filter loaded at open covers, until they are created. */
  private readonly covered: Set<string>;

  /**
   * @param presence the cache's presence filter (none: a scope's first eviction of a present
   *   entry makes it incomplete)
   * @param covered populated scopes whose every key LevelDB holds is in `presence` (it was saved
   *   at the last close): they start complete
   */
  constructor(bottom: BytesStore, options: { cacheBytes: number; presence: PresenceFilter | undefined; maxCachedEntries?: number; metrics: StateMetrics }, populated: ReadonlySet<string>, covered: ReadonlySet<string> = new Set()) {
    this.cache = new WriteBackCache(bottom, options.cacheBytes, options.metrics, options.maxCachedEntries, options.presence);
    this.covered = options.presence === undefined ? new Set() : new Set([...covered].filter((id) => populated.has(id)));
    this.populated = new Set([...populated].filter((id) => !this.covered.has(id)));
  }

  /**
   * Adds every cached key of the complete scopes to the presence filter and returns those
   * scopes' ids: with the keys evicted before, the filter now holds every key LevelDB has for
   * them (for saving at close, when no checkpoint is in flight).
   */
  sealPresence(): string[] {
    const presence = this.cache.presence;
    if (presence === undefined) return [];
    const ids: string[] = [];
    for (const [id, s] of this.scopes) {
      if (!s.scope.complete) continue;
      s.scope.addCachedKeys(presence);
      ids.push(id);
    }
    // Covered at open and not used since: the filter still holds their keys.
    for (const id of this.covered) ids.push(id);
    return ids;
  }

  scope(kind: ScopeKind, step: number, partition: number): CacheScope {
    const id = scopeId(kind, step, partition);
    let s = this.scopes.get(id);
    if (!s) {
      s = { scope: new CacheScope(this.cache, kind === 'kv', step, partition, !this.populated.has(id)), partition };
      this.scopes.set(id, s);
      this.covered.delete(id);
    }
    return s.scope;
  }

  /**
   * Forgets every cached entry of partition p. `emptyOnDisk`: LevelDB holds nothing of p (it was
   * just wiped), so its scopes are complete; otherwise misses read LevelDB from now on.
   */
  dropPartition(partition: number, emptyOnDisk: boolean): void {
    for (const id of [...this.covered]) {
      if (!id.endsWith(`/${partition}`)) continue;
      this.covered.delete(id);
      this.populated.add(id);
    }
    for (const [id, s] of this.scopes) {
      if (s.partition !== partition) continue;
      s.scope.reset(emptyOnDisk);
      if (emptyOnDisk) this.populated.delete(id);
      else this.populated.add(id);
    }
    if (emptyOnDisk) for (const id of [...this.populated]) if (id.endsWith(`/${partition}`)) this.populated.delete(id);
    this.cache.sweep();
  }

  /** Cached record keys of a (kind, step, partition), 0 when its scope was never created. */
  cachedKeys(kind: ScopeKind, step: number, partition: number): number {
    return this.scopes.get(scopeId(kind, step, partition))?.scope.cachedKeys ?? 0;
  }

  /** LevelDB now holds entries of the scope (written outside the cache): misses must read it. */
  markPopulated(kind: ScopeKind, step: number, partition: number): void {
    const id = scopeId(kind, step, partition);
    this.populated.add(id);
    this.covered.delete(id);
    const s = this.scopes.get(id);
    if (s) s.scope.complete = false;
  }
}

const SCOPE_KINDS: ReadonlyArray<readonly [ScopedKind, 'window' | 'kv']> = [[KIND_HEAD, 'window'], [KIND_SLICE, 'window'], [KIND_KV, 'kv']];

/**
 * Ids (`window|kv/step/partition`) of the cache scopes LevelDB holds entries of. One seek per
 * populated partition: a scope found empty here never needs a LevelDB read on a cache miss.
 */
export async function populatedScopes(bottom: BytesStore, steps: readonly number[]): Promise<Set<string>> {
  const out = new Set<string>();
  for (const step of steps) {
    for (const [kind, name] of SCOPE_KINDS) {
      const lt = scopeRange(kind, step, 0xffff).lt;
      for (let partition = 0; partition <= 0xffff; ) {
        let found: number | undefined;
        for await (const [k] of bottom.entries({ gte: scopeRange(kind, step, partition).gte, lt })) {
          found = (k[3]! << 8) | k[4]!;
          break;
        }
        if (found === undefined) break;
        out.add(`${name}/${step}/${found}`);
        partition = found + 1;
      }
    }
  }
  return out;
}
