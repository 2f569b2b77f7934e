/**
 * Write-back cache over the byte store, shared by every (step, partition) scope of a backend so
 * one bound (maxCachedEntries) covers the whole process.
 *
 * - Values are kept decoded. Callers may mutate a value they got and put it again; it is encoded
 *   with its codec once, when a checkpoint collects it.
 * - A miss reads LevelDB synchronously and caches the result, absence included, so repeated
 *   misses on new keys cost one LevelDB read, not one per access.
 * - put/delete make an entry dirty (a delete is a tombstone). Dirty entries are never evicted;
 *   only clean ones are, least recently used first, when more than maxCachedEntries are clean.
 * - A checkpoint collects the dirty entries as byte ops; entries become clean only when the
 *   batch is known written (commit), and only if they were not written again meanwhile.
 */
import type { ValueCodec } from './types.js';
import type { BytesOp, BytesStore } from './level-bytes-store.js';
import type { StateMetrics } from './metrics.js';

/** A store of decoded values keyed by full state-key bytes: what the typed handles sit on. */
export interface ObjectStore {
  get<V>(key: Uint8Array, codec: ValueCodec<V>): V | undefined;
  put<V>(key: Uint8Array, value: V, codec: ValueCodec<V>): void;
  delete(key: Uint8Array): void;
}

/** Dirty state collected for a checkpoint: write `ops`, then commit(); or abort() if the write failed. */
export interface FlushBatch {
  ops: BytesOp[];
  bytes: number;
  commit(): void;
  abort(): void;
}

const ABSENT: unique symbol = Symbol('absent');

interface Entry {
  value: unknown;
  codec: ValueCodec<unknown> | undefined;
  dirty: boolean;
  /** Bumped by every put/delete, so a commit can tell whether the entry changed after collection. */
  version: number;
}

export class WriteBackCache implements ObjectStore {
  private readonly entries = new Map<string, Entry>();
  private readonly dirty = new Map<string, Entry>();
  /** Clean entries in recency order (Map iteration order = insertion order; touch = re-insert). */
  private readonly clean = new Map<string, Entry>();

  constructor(
    private readonly bottom: BytesStore,
    private readonly maxCleanEntries: number,
    private readonly metrics: StateMetrics,
  ) {}

  get<V>(key: Uint8Array, codec: ValueCodec<V>): V | undefined {
    const id = latin1(key);
    let e = this.entries.get(id);
    if (e) {
      this.metrics.cacheHits++;
      if (!e.dirty) {
        this.clean.delete(id);
        this.clean.set(id, e);
      }
    } else {
      this.metrics.cacheMisses++;
      const bytes = this.bottom.getSync(key);
      e = { value: bytes === undefined ? ABSENT : codec.decode(bytes), codec: codec as ValueCodec<unknown>, dirty: false, version: 0 };
      this.entries.set(id, e);
      this.clean.set(id, e);
      this.evict();
    }
    return e.value === ABSENT ? undefined : (e.value as V);
  }

  put<V>(key: Uint8Array, value: V, codec: ValueCodec<V>): void {
    this.write(latin1(key), value, codec as ValueCodec<unknown>);
  }

  delete(key: Uint8Array): void {
    this.write(latin1(key), ABSENT, undefined);
  }

  get size(): number {
    return this.entries.size;
  }

  get dirtySize(): number {
    return this.dirty.size;
  }

  /** Encodes every dirty entry now (values may be mutated after this returns). */
  collect(): FlushBatch {
    const ops: BytesOp[] = [];
    const collected: Array<[string, Entry, number]> = [];
    let bytes = 0;
    for (const [id, e] of this.dirty) {
      const key = Buffer.from(id, 'latin1');
      if (e.value === ABSENT) {
        ops.push({ type: 'del', key });
        bytes += key.length;
      } else {
        const value = e.codec!.encode(e.value);
        ops.push({ type: 'put', key, value });
        bytes += key.length + value.length;
      }
      collected.push([id, e, e.version]);
    }
    return {
      ops,
      bytes,
      commit: () => {
        for (const [id, e, version] of collected) {
          if (e.version !== version) continue;
          e.dirty = false;
          this.dirty.delete(id);
          this.clean.set(id, e);
        }
        this.evict();
      },
      // Entries stay dirty: the next checkpoint writes them again.
      abort: () => {},
    };
  }

  private write(id: string, value: unknown, codec: ValueCodec<unknown> | undefined): void {
    let e = this.entries.get(id);
    if (!e) {
      e = { value, codec, dirty: true, version: 1 };
      this.entries.set(id, e);
    } else {
      if (!e.dirty) this.clean.delete(id);
      e.value = value;
      if (codec) e.codec = codec;
      e.dirty = true;
      e.version++;
    }
    this.dirty.set(id, e);
  }

  private evict(): void {
    if (this.clean.size <= this.maxCleanEntries) return;
    for (const id of this.clean.keys()) {
      if (this.clean.size <= this.maxCleanEntries) break;
      this.clean.delete(id);
      this.entries.delete(id);
    }
  }
}

/** The key bytes as a one-byte string (chars 0..255), usable as a Map key and reversible with Buffer.from(s, 'latin1'). */
export function latin1(b: Uint8Array): string {
  // Short keys (nearly all) convert faster in JS than through a native Buffer call.
  if (b.length <= 64) return String.fromCharCode.apply(null, b as unknown as number[]);
  return Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
}
