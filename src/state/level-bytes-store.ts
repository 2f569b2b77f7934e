/**
 * The bottom store: LevelDB through classic-level, bytes in, bytes out. It knows nothing of
 * steps, codecs or caching; the layers above do. Every LevelDB failure leaves here as
 * TRIB_STATE_IO naming the directory.
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { TributaryError, errorMessage } from '../core/errors.js';
import { grown } from './codec/bytes.js';

export type BytesOp =
  | { type: 'put'; key: Uint8Array; value: Uint8Array }
  | { type: 'del'; key: Uint8Array };

export interface BytesRange {
  gte?: Uint8Array;
  lt?: Uint8Array;
}

/** What the layers above need from a byte store; LevelBytesStore is the one implementation. */
export interface BytesStore {
  /** Synchronous point read (the cache's miss path: operators never await). */
  getSync(key: Uint8Array): Uint8Array | undefined;
  /** Ordered scan, for open/restore only. */
  entries(range: BytesRange): AsyncIterable<[Uint8Array, Uint8Array]>;
  /**
   * Ordered scan of keys only, in batches of up to `size`, over one snapshot taken when it
   * starts (the presence filter's refresh relies on that). Optional: entries() serves without it.
   */
  keyBatches?(range: BytesRange, size: number): AsyncIterable<Uint8Array[]>;
  /** Atomic batch: all ops or none. */
  write(ops: readonly BytesOp[]): Promise<void>;
  /**
   * The same, for ops packed in buffers, then `ops`, in one atomic batch. Optional: a store
   * without it gets packed ops unpacked (PackedOps.toOps) through write().
   */
  writePacked?(packed: readonly PackedOps[], ops: readonly BytesOp[]): Promise<void>;
  /** Delete everything. */
  clear(): Promise<void>;
  close(): Promise<void>;
}

/** Packed ops, then `ops`, in one batch (unpacked for a store that takes no packed ops). */
export function writeAll(store: BytesStore, packed: readonly PackedOps[], ops: readonly BytesOp[]): Promise<void> {
  if (store.writePacked !== undefined) return store.writePacked(packed, ops);
  return store.write([...packed.flatMap((p) => p.toOps()), ...ops]);
}

export interface LevelBytesStoreOptions {
  /** fsync the LevelDB log on each batch (default true): a checkpoint survives power loss, not only a crash. */
  sync?: boolean;
  /** LevelDB's cache of uncompressed blocks (classic-level cacheSize; default 8MB). */
  blockCacheBytes?: number;
  /** LevelDB's memtable size; up to two are held in memory (classic-level writeBufferSize; default 4MB). */
  writeBufferBytes?: number;
}

export class LevelBytesStore implements BytesStore {
  private constructor(
    private readonly db: ClassicLevel<Uint8Array, Uint8Array>,
    private readonly dir: string,
    private readonly sync: boolean,
  ) {}

  static async open(dir: string, options: LevelBytesStoreOptions = {}): Promise<LevelBytesStore> {
    try {
      await mkdir(dir, { recursive: true });
      const db = new ClassicLevel<Uint8Array, Uint8Array>(dir, {
        keyEncoding: 'view',
        valueEncoding: 'view',
        ...(options.blockCacheBytes !== undefined ? { cacheSize: options.blockCacheBytes } : {}),
        ...(options.writeBufferBytes !== undefined ? { writeBufferSize: options.writeBufferBytes } : {}),
      });
      await db.open();
      return new LevelBytesStore(db, dir, options.sync ?? true);
    } catch (err) {
      const locked = /lock/i.test(errorMessage(err)) || /lock/i.test(errorMessage((err as { cause?: unknown }).cause));
      const hint = locked ? ' (is another tributary process using this state directory?)' : '';
      throw new TributaryError('TRIB_STATE_IO', `cannot open state directory ${dir}${hint}: ${errorMessage(err)}`, { cause: err });
    }
  }

  getSync(key: Uint8Array): Uint8Array | undefined {
    try {
      return this.db.getSync(key);
    } catch (err) {
      throw this.io('read', err);
    }
  }

  async *entries(range: BytesRange): AsyncIterable<[Uint8Array, Uint8Array]> {
    try {
      for await (const entry of this.db.iterator(levelRange(range))) yield entry;
    } catch (err) {
      throw this.io('scan', err);
    }
  }

  async *keyBatches(range: BytesRange, size: number): AsyncIterable<Uint8Array[]> {
    // LevelDB iterators read from the snapshot of their creation.
    const it = this.db.keys(levelRange(range));
    try {
      for (;;) {
        const batch = await it.nextv(size);
        if (batch.length === 0) return;
        yield batch;
      }
    } catch (err) {
      throw this.io('scan', err);
    } finally {
      await it.close().catch(() => {});
    }
  }

  async write(ops: readonly BytesOp[]): Promise<void> {
    return this.writePacked([], ops);
  }

  async writePacked(packed: readonly PackedOps[], ops: readonly BytesOp[]): Promise<void> {
    if (ops.length === 0 && packed.every((p) => p.length === 0)) return;
    try {
      // A chained batch: classic-level's array form validates and copies each op and is ~8x slower.
      const batch = this.db.batch();
      for (const p of packed) {
        for (let i = 0; i < p.length; i++) {
          const value = p.value(i);
          if (value !== undefined) batch.put(p.key(i), value);
          else batch.del(p.key(i));
        }
      }
      for (const op of ops) {
        if (op.type === 'put') batch.put(op.key, op.value);
        else batch.del(op.key);
      }
      await batch.write({ sync: this.sync });
    } catch (err) {
      throw this.io('write', err);
    }
  }

  async clear(): Promise<void> {
    try {
      await this.db.clear();
    } catch (err) {
      throw this.io('clear', err);
    }
  }

  async close(): Promise<void> {
    try {
      await this.db.close();
    } catch (err) {
      throw this.io('close', err);
    }
  }

  private io(what: string, err: unknown): TributaryError {
    return new TributaryError('TRIB_STATE_IO', `state ${what} failed in ${this.dir}: ${errorMessage(err)}`, { cause: err, retriable: false });
  }
}

/**
 * Puts and deletes packed into one growing buffer, keys and values back to back. A checkpoint
 * writes an op per dirty entry — every new key, when keys outnumber the cache — and a key
 * array, a value array and an op object per entry, alive until the batch is written, all
 * reached V8's old generation: garbage only a full GC collects. Here they are one buffer and
 * one array of offsets; views are made when the batch is handed to LevelDB (short-lived).
 * Immutable once handed on (changes() may unpack it after the write).
 */
export class PackedOps {
  private buf: Uint8Array;
  private pos = 0;
  /** Per op: key start, key end (= value start), value end (-1: a delete). */
  private readonly bounds: number[] = [];
  private keyStart = -1;

  /** @param capacity initial buffer bytes (it doubles as needed) */
  constructor(capacity = 4096) {
    this.buf = new Uint8Array(Math.max(64, capacity));
  }

  /** Ops packed. */
  get length(): number {
    return this.bounds.length / 3;
  }

  /** Bytes of every key and value packed. */
  get byteLength(): number {
    return this.pos;
  }

  /** Where the key being packed goes: write `n` bytes into bytes() from the returned offset, then put() or del(). */
  startKey(n: number): number {
    this.ensure(n);
    this.keyStart = this.pos;
    this.pos += n;
    return this.keyStart;
  }

  /** The buffer (valid until the next startKey or put: it may grow). */
  bytes(): Uint8Array {
    return this.buf;
  }

  /** The key last started is put with `value` (copied). */
  put(value: Uint8Array): void {
    const keyEnd = this.pos;
    this.ensure(value.length);
    this.buf.set(value, keyEnd);
    this.pos += value.length;
    this.bounds.push(this.keyStart, keyEnd, this.pos);
  }

  /** The key last started is deleted. */
  del(): void {
    this.bounds.push(this.keyStart, this.pos, -1);
  }

  /** Op i's key (a view). */
  key(i: number): Uint8Array {
    return this.buf.subarray(this.bounds[3 * i]!, this.bounds[3 * i + 1]!);
  }

  /** Op i's value (a view), or undefined for a delete. */
  value(i: number): Uint8Array | undefined {
    const end = this.bounds[3 * i + 2]!;
    return end < 0 ? undefined : this.buf.subarray(this.bounds[3 * i + 1]!, end);
  }

  /** The ops as BytesOp objects (views into the buffer). */
  toOps(): BytesOp[] {
    const out: BytesOp[] = [];
    for (let i = 0; i < this.length; i++) {
      const value = this.value(i);
      out.push(value === undefined ? { type: 'del', key: this.key(i) } : { type: 'put', key: this.key(i), value });
    }
    return out;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.buf = grown(this.buf, this.pos, n);
  }
}

/** classic-level's range options, with only the bounds given. */
function levelRange(range: BytesRange): { gte?: Uint8Array; lt?: Uint8Array } {
  const options: { gte?: Uint8Array; lt?: Uint8Array } = {};
  if (range.gte) options.gte = range.gte;
  if (range.lt) options.lt = range.lt;
  return options;
}
