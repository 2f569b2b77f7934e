/**
 * The bottom store: LevelDB through classic-level, bytes in, bytes out. It knows nothing of
 * steps, codecs or caching; the layers above do. Every LevelDB failure leaves here as
 * TRIB_STATE_IO naming the directory.
 */
import { mkdir } from 'node:fs/promises';
import { ClassicLevel } from 'classic-level';
import { TributaryError, errorMessage } from '../core/errors.js';

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
  /** Atomic batch: all ops or none. */
  write(ops: readonly BytesOp[]): Promise<void>;
  /** Delete everything. */
  clear(): Promise<void>;
  close(): Promise<void>;
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
    const options: { gte?: Uint8Array; lt?: Uint8Array } = {};
    if (range.gte) options.gte = range.gte;
    if (range.lt) options.lt = range.lt;
    try {
      for await (const entry of this.db.iterator(options)) yield entry;
    } catch (err) {
      throw this.io('scan', err);
    }
  }

  async write(ops: readonly BytesOp[]): Promise<void> {
    if (ops.length === 0) return;
    try {
      // A chained batch: classic-level's array form validates and copies each op and is ~8x slower.
      const batch = this.db.batch();
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
