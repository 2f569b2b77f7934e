/**
 * Write-back cache over the byte store, shared by every (step, partition) scope of a backend so
 * one bound (a budget in bytes, from spec.state.cacheSize) covers the whole process. Entries live in their scope's maps
 * (cache-scope.ts), addressed by record key (and slice start): full LevelDB keys are built only
 * on a miss and at checkpoint.
 *
 * - Values are kept decoded. Callers may mutate a value they got and put it again; it is encoded
 *   with its codec once, when a checkpoint collects it.
 * - A miss reads LevelDB synchronously and caches the result, absence included — unless the
 *   scope is `complete` (it had nothing on disk when opened) and the presence filter
 *   (presence-filter.ts), which holds every key the scope evicted while LevelDB held it, rules
 *   the key out: then LevelDB holds nothing under it and the miss is known absent.
 * - put/delete make an entry dirty (a delete is a tombstone). Each entry knows whether LevelDB
 *   holds it (`onDisk`): deleting one that was never written drops it without a tombstone, so
 *   short-lived keys (a window opened and closed between checkpoints) cost no LevelDB ops.
 * - Each entry counts its estimated heap bytes (heap-size.ts: entry, key node, decoded value),
 *   measured when loaded and re-measured when a checkpoint encodes it (unless it encodes like
 *   the last value its codec measured: measure); a value a put creates counts as its codec's
 *   last measured value until then (writtenBytes).
 * - Dirty entries are never evicted; clean ones are, by second chance (a clock over a FIFO: a hit
 *   sets a bit instead of re-inserting), while the cache holds more bytes than its budget. Dirty
 *   bytes past half the budget ask for an early checkpoint (wantsCheckpoint), which makes them
 *   clean and evictable: memory follows the budget, not the number of keys.
 * - A checkpoint collects the dirty entries as byte ops, packed in one buffer (PackedOps);
 *   entries become clean only when the batch is known written (commit), and only if they were
 *   not written again meanwhile.
 */
import type { ValueCodec } from './types.js';
import { TributaryError } from '../core/errors.js';
import type { BytesOp, BytesStore, PackedOps } from './level-bytes-store.js';
import { Capture } from './capture.js';
import type { StateMetrics } from './metrics.js';
import { ENTRY_BYTES } from './heap-size.js';
import type { PresenceFilter } from './presence-filter.js';
import { ABSENT, valueBytes, type Entry } from './cache-entry.js';

// The record-key string helpers moved to codec/latin1.ts; timer-service.ts takes them from here.
export { latin1, latin1Bytes, rememberLatin1, sameChars } from './codec/latin1.js';

/**
 * Dirty state collected for a checkpoint: complete() it, write `packed` then `ops`, then
 * commit(); or abort() if the write failed.
 */
export interface FlushBatch {
  ops: BytesOp[];
  packed?: PackedOps;
  /** Bytes of `packed` and `ops` (final once complete). */
  readonly bytes: number;
  /**
   * Encodes what is still to be encoded, until done (true), or `deadline` (performance.now())
   * has passed or `limit` entries were encoded (false: call again). Throws an encode failure
   * (then abort()). None: complete.
   */
  complete?(deadline: number, limit?: number): boolean;
  commit(): void;
  abort(): void;
}

/** Per codec: the heap size last measured for one of its values, and that value's encoded length (-1: unknown). */
interface SizeHint {
  size: number;
  encoded: number;
  /** Times the size was taken for a value of that length since it was measured. */
  reused: number;
}

/** A value that encodes like the last one measured is walked anyway this often (measure). */
const REMEASURE = 16;

export class WriteBackCache {
  /**
   * Every dirty entry, and stale ones (cleaned or dropped since; an entry dirtied again after
   * that is listed twice): collect() skips those. An array, not a Set: every new key is dirty
   * once, and a Set's add and delete of millions of entries (hashing, its table regrown and
   * shrunk) cost more than a push and a skipped element.
   */
  private dirtyList: Entry[] = [];
  private dirtyCount = 0;
  /** Batches collected and not yet committed or aborted (collect() wants none). */
  private inFlight = 0;
  /** The collected batch's capture (capture.ts), until it is committed or aborted. */
  private capture: Capture | undefined;
  /** Clean-entry clock: a FIFO read from `head`; entries that got a hit go round once more. */
  private queue: Entry[] = [];
  private head = 0;
  private count = 0;
  private cleanCount = 0;
  /** Estimated heap bytes of every entry and key node. */
  private total = 0;
  private dirtyTotal = 0;
  /** Per codec, the size last measured for one of its values (writtenBytes, measure). */
  private readonly sizeHints = new Map<ValueCodec<unknown>, SizeHint>();
  /** Bytes per op the last checkpoint packed: the next one's buffer starts as large as its dirty entries need. */
  private bytesPerOp = 64;

  /**
   * @param budget bytes the cache may hold (entries, key nodes, decoded values)
   * @param maxCleanEntries a second bound, in clean entries (tests use it to force eviction)
   */
  constructor(
    readonly bottom: BytesStore,
    private readonly budget: number,
    readonly metrics: StateMetrics,
    private readonly maxCleanEntries = Number.POSITIVE_INFINITY,
    /** Keys evicted while LevelDB held them, for complete scopes; none: a scope's first such eviction makes it incomplete. */
    readonly presence?: PresenceFilter,
  ) {}

  get size(): number {
    return this.count;
  }

  /** Estimated heap bytes held now (clean and dirty). */
  get bytes(): number {
    return this.total;
  }

  get dirtyBytes(): number {
    return this.dirtyTotal;
  }

  /** Dirty entries fill half the budget: a checkpoint now keeps the clean half usable. */
  get wantsCheckpoint(): boolean {
    return this.dirtyTotal * 2 > this.budget;
  }

  /** Dirty entries alone fill the budget: nothing is left to evict until a checkpoint. */
  get overBudget(): boolean {
    return this.dirtyTotal > this.budget;
  }

  /**
   * The size to count for a value a put creates: the last size measured for its codec (values of
   * one store are alike: a window's new key holds one slice), measured only the first time. A
   * dirty entry is measured anyway when a checkpoint encodes it, and most short-lived keys
   * (a tumbling window opened and closed between checkpoints) never are: walking each new value
   * cost ~1 µs per record, ~8% of the engine bench's tumbling figure.
   */
  writtenBytes(value: unknown, codec: ValueCodec<unknown>): number {
    if (codec.heapSize !== undefined) return valueBytes(value, codec);
    const hint = this.sizeHints.get(codec);
    if (hint !== undefined) return hint.size;
    const size = valueBytes(value, codec);
    this.sizeHints.set(codec, { size, encoded: -1, reused: 0 });
    return size;
  }

  /**
   * The size of a value that a checkpoint encodes, or a miss decodes, from `encoded` bytes
   * (values may have grown since they were measured: puts do not measure). One encoding to as
   * many bytes as the value its codec's size was last measured on counts that size (values of
   * one store are alike), and one in REMEASURE is walked anyway: walking every one cost ~3% of
   * the state-scale bench's new-key phase, where every new key's value is encoded once.
   */
  measure(value: unknown, codec: ValueCodec<unknown>, encoded: number): number {
    if (codec.heapSize !== undefined) return valueBytes(value, codec);
    const hint = this.sizeHints.get(codec);
    if (hint !== undefined && hint.encoded === encoded && ++hint.reused < REMEASURE) return hint.size;
    const size = valueBytes(value, codec);
    if (hint === undefined) this.sizeHints.set(codec, { size, encoded, reused: 0 });
    else {
      hint.size = size;
      hint.encoded = encoded;
      hint.reused = 0;
    }
    return size;
  }

  /** Bytes held outside entries (a scope's key nodes). */
  account(delta: number): void {
    this.total += delta;
  }

  get dirtySize(): number {
    return this.dirtyCount;
  }

  /** A new entry loaded by a miss (clean). May evict. */
  addClean(e: Entry): void {
    this.count++;
    this.total += e.size;
    this.becomeClean(e);
    this.evict();
  }

  /** A new entry created by a write. */
  addDirty(e: Entry): void {
    this.count++;
    this.total += e.size;
    this.dirtyTotal += e.size;
    this.dirtyCount++;
    this.listDirty(e);
  }

  /** An existing entry written again. */
  written(e: Entry): void {
    if (!e.dirty) {
      e.dirty = true;
      this.cleanCount--;
      this.dirtyTotal += e.size;
      this.dirtyCount++;
      this.listDirty(e);
    }
    e.version++;
  }

  /**
   * Deletes an existing entry: a tombstone if LevelDB may hold it (or a batch in flight may write
   * it); otherwise nothing needs writing, so the entry goes (complete scope) or stays as a clean
   * known absence (so the next get does not read LevelDB).
   */
  deleted(e: Entry): void {
    if (e.onDisk || e.flushing > 0) {
      e.value = ABSENT;
      e.codec = undefined;
      this.resize(e, ENTRY_BYTES);
      this.written(e);
      return;
    }
    if (e.owner.complete) {
      this.drop(e);
      return;
    }
    e.value = ABSENT;
    e.codec = undefined;
    e.version++;
    this.resize(e, ENTRY_BYTES);
    if (e.dirty) {
      this.dirtyCount--;
      this.dirtyTotal -= e.size;
      this.becomeClean(e);
    }
  }

  /**
   * Removes an entry whatever its state (dirty included): its scope forgets it. Only while no
   * collected batch holds it — a commit would otherwise account for an entry that is gone.
   */
  forget(e: Entry): void {
    if (!e.linked) return;
    this.drop(e);
  }

  /** Lets go of forgotten entries the clock has not reached yet (after a partition was dropped). */
  sweep(): void {
    const live = this.queue.slice(this.head).filter((e) => {
      if (e.linked && !e.dirty) return true;
      e.queued = false;
      return false;
    });
    this.queue = live;
    this.head = 0;
  }

  /**
   * Captures every dirty entry as of now, for one checkpoint batch: their values are encoded
   * later (complete(), or each before it is next read or changed: settle), each as it is now
   * (capture.ts). One batch at a time: the previous one must have been committed or aborted.
   */
  collect(): FlushBatch {
    if (this.inFlight > 0) throw new TributaryError('TRIB_INTERNAL', 'write-back cache: collect() while a collected batch is in flight');
    const list = this.dirtyList;
    this.dirtyList = [];
    const capture = new Capture(list, Math.ceil(this.dirtyCount * this.bytesPerOp * 1.125), (e, packed) => this.encodeEntry(e, packed));
    const { entries, versions, puts, packed } = capture;
    this.capture = capture;
    this.inFlight++;
    return {
      ops: [],
      packed,
      get bytes() {
        return packed.byteLength;
      },
      complete: (deadline, limit) => capture.run(deadline, limit),
      commit: () => {
        if (!capture.done) throw new TributaryError('TRIB_INTERNAL', 'write-back cache: commit() of a batch not completed');
        this.capture = undefined;
        if (packed.length > 0) this.bytesPerOp = packed.byteLength / packed.length;
        this.inFlight--;
        for (let i = 0; i < entries.length; i++) {
          const e = entries[i]!;
          e.flushing--;
          e.onDisk = puts[i]!;
          if (!e.linked) continue;
          if (e.version !== versions[i]) {
            // Written again since collected: still dirty, and listed for the next checkpoint.
            this.dirtyList.push(e);
          } else if (e.value === ABSENT && e.owner.complete && !e.onDisk) {
            this.drop(e);
          } else {
            this.dirtyCount--;
            this.dirtyTotal -= e.size;
            this.becomeClean(e);
          }
        }
        this.evict();
      },
      // Entries stay dirty: the next checkpoint writes them again.
      abort: () => {
        capture.release();
        this.capture = undefined;
        this.inFlight--;
        for (const e of entries) {
          e.flushing--;
          if (e.linked) this.dirtyList.push(e);
        }
      },
    };
  }

  /** A captured entry (pending) is about to be read or changed: its snapshot value is encoded first. */
  settle(e: Entry): void {
    this.capture?.encode(e);
  }

  /** One captured entry into the batch: its LevelDB key and value (a delete if LevelDB holds it); an absent entry LevelDB never held needs no op. */
  private encodeEntry(e: Entry, packed: PackedOps): void {
    if (e.value !== ABSENT) {
      e.owner.packKey(e, packed);
      const value = e.codec!.encode(e.value);
      packed.put(value);
      this.resize(e, this.measure(e.value, e.codec!, value.length));
    } else if (e.onDisk) {
      e.owner.packKey(e, packed);
      packed.del();
    }
  }

  /**
   * Lists an entry that just became dirty. Stale elements (entries dropped or cleaned since
   * listed: a tumbling window's keys, put and deleted between checkpoints) would keep entries
   * and their values alive until the next checkpoint, so once they outnumber the dirty entries
   * the list is rebuilt without them (and without repeats): amortized O(1) per entry.
   */
  private listDirty(e: Entry): void {
    const list = this.dirtyList;
    list.push(e);
    if (list.length <= 2 * this.dirtyCount + 1024) return;
    const seen = new Set<Entry>();
    this.dirtyList = list.filter((x) => x.dirty && x.linked && x.flushing === 0 && !seen.has(x) && seen.add(x) !== undefined);
  }

  /** A new size for a linked entry (dirty or clean). */
  private resize(e: Entry, size: number): void {
    const d = size - e.size;
    if (d === 0) return;
    e.size = size;
    this.total += d;
    if (e.dirty) this.dirtyTotal += d;
  }

  private becomeClean(e: Entry): void {
    e.dirty = false;
    this.cleanCount++;
    if (!e.queued) {
      e.queued = true;
      this.queue.push(e);
    }
  }

  /** Removes an entry from the cache altogether. `wasDirty`: it is (still) counted dirty. */
  private drop(e: Entry, wasDirty = e.dirty): void {
    if (wasDirty) {
      this.dirtyCount--;
      this.dirtyTotal -= e.size;
    } else this.cleanCount--;
    this.total -= e.size;
    e.dirty = false;
    e.linked = false;
    this.count--;
    e.owner.unlink(e);
  }

  private evict(): void {
    const q = this.queue;
    while ((this.total > this.budget || this.cleanCount > this.maxCleanEntries) && this.head < q.length) {
      const e = q[this.head]!;
      q[this.head++] = undefined as unknown as Entry;
      e.queued = false;
      if (!e.linked || e.dirty) continue;
      if (e.ref) {
        e.ref = false;
        e.queued = true;
        q.push(e);
        continue;
      }
      // LevelDB may now hold something the cache does not: misses on this key must read it.
      if (e.value !== ABSENT || e.onDisk) e.owner.evictedPresent(e);
      this.drop(e, false);
    }
    if (this.head > 4096 && this.head * 2 > q.length) {
      this.queue = q.slice(this.head);
      this.head = 0;
    }
  }
}
