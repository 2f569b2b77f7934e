/**
 * The cached entries of one (step, partition) store: a table (key-table.ts) from record key to a
 * node holding the key's head (or kv value) and its slices by start. One table lookup serves
 * every access of an event to its key — and none when the caller passes the same key bytes as
 * the last call, which an operator does for the head and slices of one record. LevelDB keys
 * (codec/state-key.ts) are built only on a miss and at checkpoint.
 */
import type { ValueCodec } from './types.js';
import type { WriteBackCache } from './write-back-cache.js';
import { ABSENT, newEntry, type Entry, type EntryOwner } from './cache-entry.js';
import { latin1, rememberLatin1, sameChars } from './codec/latin1.js';
import { ENTRY_BYTES, HEAP_CALIBRATION, NODE_BYTES, stringBytes } from './heap-size.js';
import { keyHash, presenceSalt, type PresenceFilter } from './presence-filter.js';
import { KeyTable } from './key-table.js';
import { KIND_HEAD, KIND_KV, KIND_SLICE, assertScope, assertSliceKey, entryKeyLength, headKey, kvKey, sliceKey, writeEntryKey, type RecordKeyBytes } from './codec/state-key.js';
import type { PackedOps } from './level-bytes-store.js';

interface KeyNode {
  /** latin1(record key bytes): the key itself (callers may reuse their bytes), compared on a hash match. */
  readonly id: string;
  /** keyHash(scope salt, key bytes): its slot in the key table and its probes in the presence filter. */
  readonly hash: number;
  head: Entry | undefined;
  /** One slice inline (tumbling windows hold one per key), any others in `more`. */
  s0: number;
  e0: Entry | undefined;
  more: Map<number, Entry> | undefined;
  linked: boolean;
  /** Entries a checkpoint captured and has not encoded yet (capture.ts): settled at the key's next lookup. */
  pending: number;
}

/** Entry slot of a head or kv value; slices use their start. */
export const MAIN = Number.NaN;

export class CacheScope implements EntryOwner {
  private readonly nodes = new KeyTable<KeyNode>();
  private lastKb: Uint8Array | undefined;
  private lastNode: KeyNode | undefined;
  /**
   * The record key get() last found absent with no node, so the put that follows (a new key:
   * every event while keys outnumber the cache) neither looks it up in the map again nor asks
   * the presence filter (random reads in 8MB). Cleared when any node is created (it may be this
   * key's) and by reset(); nothing else can put this key on disk meanwhile, since only a cached
   * entry's eviction adds to the filter.
   */
  private absentKb: Uint8Array | undefined;
  private absentId = '';
  private absentHash = 0;
  /** keyHash of the key find() last looked up in the table and did not find. */
  private missHash = 0;

  /** Salts this scope's keys in the cache's presence filter. */
  private readonly salt: number;

  /**
   * @param complete LevelDB holds nothing for this scope that the cache lacks, except keys in the
   *   cache's presence filter (true for a scope that was empty when the backend opened, until an
   *   entry present in LevelDB is evicted with no presence filter to note it).
   */
  constructor(
    private readonly cache: WriteBackCache,
    private readonly kv: boolean,
    private readonly step: number,
    private readonly partition: number,
    public complete: boolean,
  ) {
    assertScope(step, partition);
    this.salt = presenceSalt(kv, step, partition);
  }

  /** Head or kv value at MAIN, slice otherwise. */
  get<V>(kb: Uint8Array, start: number, codec: ValueCodec<V>): V | undefined {
    const m = this.cache.metrics;
    m.gets++;
    if (start === start) assertSliceKey(kb, start);
    const node = this.find(kb);
    const e = node === undefined ? undefined : slot(node, start);
    if (e !== undefined) {
      m.cacheHits++;
      e.ref = true;
      return e.value === ABSENT ? undefined : (e.value as V);
    }
    if (!this.mayHold(node?.hash ?? this.missHash)) {
      m.cacheHits++;
      if (node === undefined) {
        // The put that usually follows creates the node: its id is built here, once.
        this.absentKb = kb;
        this.absentId = latin1(kb);
        this.absentHash = this.missHash;
      }
      return undefined;
    }
    m.cacheMisses++;
    const n = node ?? this.create(kb, this.missHash);
    const bytes = this.cache.bottom.getSync(this.keyOf(kb, start));
    const value = bytes === undefined ? ABSENT : codec.decode(bytes);
    const size = bytes === undefined ? ENTRY_BYTES : this.cache.measure(value, codec as ValueCodec<unknown>, bytes.length);
    const loaded = newEntry(this, n, slotStart(start), value, codec as ValueCodec<unknown>, false, bytes !== undefined, size);
    setSlot(n, start, loaded);
    this.cache.addClean(loaded);
    return value === ABSENT ? undefined : (value as V);
  }

  put<V>(kb: Uint8Array, start: number, value: V, codec: ValueCodec<V>): void {
    this.cache.metrics.puts++;
    if (start === start) assertSliceKey(kb, start);
    let node: KeyNode;
    let onDisk: boolean;
    if (kb === this.absentKb && sameChars(kb, this.absentId)) {
      node = this.create(kb, this.absentHash, this.absentId);
      onDisk = false;
    } else {
      node = this.find(kb) ?? this.create(kb, this.missHash);
      const e = slot(node, start);
      if (e !== undefined) {
        e.value = value;
        e.codec = codec as ValueCodec<unknown>;
        this.cache.written(e);
        return;
      }
      // Not cached: LevelDB may hold it unless the scope rules that out.
      onDisk = this.mayHold(node.hash);
    }
    const created = newEntry(this, node, slotStart(start), value, codec as ValueCodec<unknown>, true, onDisk, this.cache.writtenBytes(value, codec as ValueCodec<unknown>));
    setSlot(node, start, created);
    this.cache.addDirty(created);
  }

  delete(kb: Uint8Array, start: number): void {
    this.cache.metrics.deletes++;
    if (start === start) assertSliceKey(kb, start);
    const node = this.find(kb);
    const e = node === undefined ? undefined : slot(node, start);
    if (e !== undefined) {
      this.cache.deleted(e);
    } else if (this.mayHold(node?.hash ?? this.missHash)) {
      const n = node ?? this.create(kb, this.missHash);
      const tomb = newEntry(this, n, slotStart(start), ABSENT, undefined, true, true);
      setSlot(n, start, tomb);
      this.cache.addDirty(tomb);
    }
  }

  /** Record keys with at least one cached entry (absences included). */
  get cachedKeys(): number {
    return this.nodes.size;
  }

  /**
   * Forgets every cached entry, dirty ones included (their writes are lost), so the next access
   * reads LevelDB — unless `complete` says LevelDB holds nothing for the scope. The scope object
   * stays, so handles taken earlier keep working. Not while a collected batch is in flight.
   */
  reset(complete: boolean): void {
    const entries: Entry[] = [];
    for (const node of this.nodes.values()) {
      if (node.head !== undefined) entries.push(node.head);
      if (node.e0 !== undefined) entries.push(node.e0);
      if (node.more !== undefined) for (const e of node.more.values()) entries.push(e);
    }
    for (const e of entries) this.cache.forget(e);
    for (const node of this.nodes.values()) {
      node.linked = false;
      this.cache.account(-nodeBytes(node.id));
    }
    this.nodes.clear();
    this.lastKb = undefined;
    this.lastNode = undefined;
    this.absentKb = undefined;
    this.complete = complete;
  }

  packKey(e: Entry, ops: PackedOps): void {
    const id = (e.node as KeyNode).id;
    const kind = e.start !== undefined ? KIND_SLICE : this.kv ? KIND_KV : KIND_HEAD;
    const at = ops.startKey(entryKeyLength(kind, id));
    writeEntryKey(ops.bytes(), at, kind, this.step, this.partition, id, e.start ?? MAIN);
  }

  pend(e: Entry, delta: 1 | -1): void {
    (e.node as KeyNode).pending += delta;
  }

  unlink(e: Entry): void {
    const node = e.node as KeyNode;
    const start = e.start;
    if (start === undefined) {
      if (node.head === e) node.head = undefined;
    } else if (node.e0 === e) {
      node.e0 = undefined;
    } else {
      node.more?.delete(start);
    }
    if (node.head === undefined && node.e0 === undefined && (node.more === undefined || node.more.size === 0)) {
      node.linked = false;
      this.nodes.delete(node);
      this.cache.account(-nodeBytes(node.id));
    }
  }

  evictedPresent(e: Entry): void {
    if (!this.complete) return;
    const presence = this.cache.presence;
    if (presence === undefined) this.complete = false;
    else presence.addHash((e.node as KeyNode).hash);
  }

  /** Puts every cached record key of this scope into the filter (present or not: a superset is safe). */
  addCachedKeys(presence: PresenceFilter): void {
    for (const node of this.nodes.values()) presence.addHash(node.hash);
  }

  /** Whether LevelDB may hold something under this record key that the cache lacks. */
  private mayHold(hash: number): boolean {
    return !this.complete || (this.cache.presence?.mayHoldHash(hash) ?? false);
  }

  private keyOf(key: RecordKeyBytes, start: number): Uint8Array {
    if (start === start) return sliceKey(this.step, this.partition, key, start);
    return this.kv ? kvKey(this.step, this.partition, key) : headKey(this.step, this.partition, key);
  }


  /**
   * The key's node. Every read or change of a cached entry finds its node first: entries a
   * checkpoint captured and has not encoded yet are encoded here, before the caller can change
   * them (all of the key's, as a key's head and slices may share objects).
   */
  private find(kb: Uint8Array): KeyNode | undefined {
    const last = this.lastNode;
    if (last !== undefined && kb === this.lastKb && last.linked && sameChars(kb, last.id)) {
      if (last.pending !== 0) this.settle(last);
      return last;
    }
    const h = keyHash(this.salt, kb);
    const node = this.nodes.get(kb, h);
    if (node === undefined) this.missHash = h;
    else {
      if (node.pending !== 0) this.settle(node);
      this.lastKb = kb;
      this.lastNode = node;
      // The key's next conversion (its timers) hands back the node's own string, not the fresh
      // one: a timer then shares it, and the lookup when it fires matches it by identity instead
      // of comparing characters of a string not touched since (a cache miss per fired timer).
      rememberLatin1(kb, node.id);
    }
    return node;
  }

  private settle(node: KeyNode): void {
    if (node.head?.pending) this.cache.settle(node.head);
    if (node.e0?.pending) this.cache.settle(node.e0);
    if (node.more !== undefined) for (const e of node.more.values()) if (e.pending) this.cache.settle(e);
  }

  /** A node for a key find() did not find; `hash` is its keyHash, `id` its latin1 string if at hand. */
  private create(kb: Uint8Array, hash: number, id = latin1(kb)): KeyNode {
    const node: KeyNode = { id, hash, head: undefined, s0: 0, e0: undefined, more: undefined, linked: true, pending: 0 };
    this.nodes.add(node);
    this.cache.account(nodeBytes(node.id));
    this.absentKb = undefined;
    this.lastKb = kb;
    this.lastNode = node;
    return node;
  }
}

/** An entry's start: undefined for MAIN (a NaN field would cost every head entry a heap number box). */
function slotStart(start: number): number | undefined {
  return start === start ? start : undefined;
}

function nodeBytes(id: string): number {
  return Math.round(HEAP_CALIBRATION * (NODE_BYTES + stringBytes(id.length)));
}

function slot(node: KeyNode, start: number): Entry | undefined {
  if (start !== start) return node.head;
  if (node.e0 !== undefined && node.s0 === start) return node.e0;
  return node.more?.get(start);
}

function setSlot(node: KeyNode, start: number, e: Entry): void {
  if (start !== start) {
    node.head = e;
  } else if (node.e0 === undefined) {
    node.s0 = start;
    node.e0 = e;
  } else {
    (node.more ??= new Map()).set(start, e);
  }
}
