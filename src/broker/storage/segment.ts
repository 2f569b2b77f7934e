/**
 * One log segment: `<baseOffset:20>.log` holds record batches back to back exactly as
 * served; `.index` (relativeOffset int32, position int32) and `.timeindex`
 * (maxTimestampSoFar int64, relativeOffset int32) are sparse, one entry per
 * ~indexIntervalBytes of log, as in Kafka. I/O is synchronous on purpose: appends reach
 * the page cache before the produce is acknowledged, so a killed process loses nothing
 * it acknowledged, and the event loop never sees a half-written batch.
 */
import { closeSync, existsSync, fsync, fsyncSync, openSync, readFileSync, readSync, renameSync, rmSync, statSync, writeFileSync, writeSync, ftruncateSync } from 'node:fs';
import { join } from 'node:path';
import { fsyncDir } from './fs-util.js';
import { lowerBound } from '../../core/sorted.js';
import { BATCH_HEADER_SIZE, LOG_OVERHEAD, batchCrcValid } from '../protocol/record-batch.js';

export const INDEX_INTERVAL_BYTES = 4096;

/** readHeader's buffer: the header is decoded before the call returns (I/O here is synchronous). */
const headerScratch = Buffer.alloc(BATCH_HEADER_SIZE);

export function segmentName(baseOffset: number): string {
  return String(baseOffset).padStart(20, '0');
}

interface IndexEntry {
  /** Absolute offset of the first record of the batch at `position`. */
  offset: number;
  position: number;
  /** Largest batch max timestamp up to and including this batch. */
  maxTimestamp: number;
}

/** What a scan of the log file found; `validBytes` < file size means a torn tail. */
export interface ScanResult {
  validBytes: number;
  fileBytes: number;
  reason?: string;
}

export interface ScannedBatch {
  position: number;
  baseOffset: number;
  lastOffset: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  size: number;
}

export class Segment {
  readonly baseOffset: number;
  private readonly logPath: string;
  private readonly fd: number;
  size = 0;
  /** One past the last offset stored here (= baseOffset when empty). */
  nextOffset: number;
  maxTimestamp = -1;
  /** Wall-clock time of the last append, for time-based retention and rolling. */
  lastModified: number;
  readonly createdAt: number;
  private index: IndexEntry[] = [];
  /**
   * Every batch from the last index entry's on (≤ INDEX_INTERVAL_BYTES of log): last offset and
   * position. A consumer at the log's end fetches from there; without these, positionOf read each
   * batch header from the file (a syscall and a Buffer each, per fetch: ~5 % of the broker's CPU
   * on the cdc chain, whose batches are a transaction of a few rows).
   */
  private tailLast: number[] = [];
  private tailPos: number[] = [];
  private bytesSinceIndex = 0;
  private dirty = false;
  private idxFd = -1;
  private inflight: Promise<void> | undefined;
  private tixFd = -1;

  private constructor(
    readonly dir: string,
    baseOffset: number,
  ) {
    this.baseOffset = baseOffset;
    this.nextOffset = baseOffset;
    this.logPath = join(dir, `${segmentName(baseOffset)}.log`);
    const exists = existsSync(this.logPath);
    this.fd = openSync(this.logPath, exists ? 'r+' : 'w+');
    const st = statSync(this.logPath);
    this.size = st.size;
    this.lastModified = st.mtimeMs;
    this.createdAt = exists ? st.mtimeMs : Date.now();
  }

  static create(dir: string, baseOffset: number): Segment {
    const seg = new Segment(dir, baseOffset);
    seg.writeIndexFiles();
    fsyncDir(dir); // the new file's directory entry survives a power cut too
    return seg;
  }

  /**
   * Open an existing segment. The active (last) segment is fully verified: each batch's
   * length and CRC are checked and the file is truncated after the last valid batch.
   */
  static open(dir: string, baseOffset: number, verify: boolean, onBatch?: (b: ScannedBatch) => void): { segment: Segment; scan: ScanResult } {
    const seg = new Segment(dir, baseOffset);
    const scan = seg.rebuild(verify, onBatch);
    if (scan.validBytes < scan.fileBytes) {
      ftruncateSync(seg.fd, scan.validBytes);
      fsyncSync(seg.fd);
      seg.size = scan.validBytes;
    }
    seg.writeIndexFiles();
    return { segment: seg, scan };
  }

  /** Scan the whole log, rebuilding the in-memory index; stops at the first bad batch. */
  private rebuild(verify: boolean, onBatch?: (b: ScannedBatch) => void): ScanResult {
    const data = this.size > 0 ? readFileSync(this.logPath) : Buffer.alloc(0);
    let at = 0;
    let reason: string | undefined;
    this.index = [];
    this.tailLast = [];
    this.tailPos = [];
    this.bytesSinceIndex = 0;
    while (at < data.length) {
      if (data.length - at < BATCH_HEADER_SIZE) {
        reason = 'partial batch header';
        break;
      }
      const size = LOG_OVERHEAD + data.readInt32BE(at + 8);
      if (size < BATCH_HEADER_SIZE || at + size > data.length) {
        reason = 'partial batch';
        break;
      }
      const baseOffset = Number(data.readBigInt64BE(at));
      if (data.readInt8(at + 16) !== 2 || baseOffset < this.nextOffset) {
        reason = 'bad batch header';
        break;
      }
      if (verify && !batchCrcValid(data, at, size)) {
        reason = 'CRC mismatch';
        break;
      }
      const lastOffset = baseOffset + data.readInt32BE(at + 23);
      const maxTimestamp = Number(data.readBigInt64BE(at + 35));
      this.noteBatch(at, baseOffset, lastOffset, maxTimestamp, size);
      onBatch?.({
        position: at,
        baseOffset,
        lastOffset,
        maxTimestamp,
        producerId: Number(data.readBigInt64BE(at + 43)),
        producerEpoch: data.readInt16BE(at + 51),
        baseSequence: data.readInt32BE(at + 53),
        size,
      });
      at += size;
    }
    return { validBytes: at, fileBytes: data.length, reason };
  }

  private noteBatch(position: number, baseOffset: number, lastOffset: number, maxTimestamp: number, size: number): boolean {
    if (maxTimestamp > this.maxTimestamp) this.maxTimestamp = maxTimestamp;
    this.nextOffset = lastOffset + 1;
    let indexed = false;
    if (this.index.length === 0 || this.bytesSinceIndex >= INDEX_INTERVAL_BYTES) {
      this.index.push({ offset: baseOffset, position, maxTimestamp: this.maxTimestamp });
      this.bytesSinceIndex = 0;
      indexed = true;
      this.tailLast = [];
      this.tailPos = [];
    }
    this.tailLast.push(lastOffset);
    this.tailPos.push(position);
    this.bytesSinceIndex += size;
    return indexed;
  }

  /** Append one batch whose base offset is already set. */
  append(batch: Buffer): void {
    const position = this.size;
    writeSync(this.fd, batch, 0, batch.length, position);
    this.size += batch.length;
    this.dirty = true;
    this.lastModified = Date.now();
    const baseOffset = Number(batch.readBigInt64BE(0));
    const indexed = this.noteBatch(position, baseOffset, baseOffset + batch.readInt32BE(23), Number(batch.readBigInt64BE(35)), batch.length);
    if (indexed) this.appendIndexEntry(this.index[this.index.length - 1]);
  }

  private appendIndexEntry(e: IndexEntry): void {
    const idx = Buffer.alloc(8);
    idx.writeInt32BE(e.offset - this.baseOffset, 0);
    idx.writeInt32BE(e.position, 4);
    const tix = Buffer.alloc(12);
    tix.writeBigInt64BE(BigInt(e.maxTimestamp), 0);
    tix.writeInt32BE(e.offset - this.baseOffset, 8);
    writeSync(this.idxFd, idx);
    writeSync(this.tixFd, tix);
  }

  private writeIndexFiles(): void {
    const idx = Buffer.alloc(this.index.length * 8);
    const tix = Buffer.alloc(this.index.length * 12);
    this.index.forEach((e, i) => {
      idx.writeInt32BE(e.offset - this.baseOffset, i * 8);
      idx.writeInt32BE(e.position, i * 8 + 4);
      tix.writeBigInt64BE(BigInt(e.maxTimestamp), i * 12);
      tix.writeInt32BE(e.offset - this.baseOffset, i * 12 + 8);
    });
    const idxPath = join(this.dir, `${segmentName(this.baseOffset)}.index`);
    const tixPath = join(this.dir, `${segmentName(this.baseOffset)}.timeindex`);
    this.closeIndexFds();
    writeFileSync(idxPath, idx);
    writeFileSync(tixPath, tix);
    this.idxFd = openSync(idxPath, 'a');
    this.tixFd = openSync(tixPath, 'a');
  }

  private closeIndexFds(): void {
    if (this.idxFd >= 0) closeSync(this.idxFd);
    if (this.tixFd >= 0) closeSync(this.tixFd);
    this.idxFd = this.tixFd = -1;
  }

  private readHeader(position: number): { baseOffset: number; lastOffset: number; size: number; maxTimestamp: number } {
    const h = headerScratch;
    readSync(this.fd, h, 0, BATCH_HEADER_SIZE, position);
    const baseOffset = Number(h.readBigInt64BE(0));
    return {
      baseOffset,
      lastOffset: baseOffset + h.readInt32BE(23),
      size: LOG_OVERHEAD + h.readInt32BE(8),
      maxTimestamp: Number(h.readBigInt64BE(35)),
    };
  }

  /** File position of the first batch whose last offset is >= offset, or `size` when none. */
  positionOf(offset: number): number {
    let lo = 0;
    let hi = this.index.length - 1;
    let start = 0;
    let entry = -1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (this.index[mid].offset <= offset) {
        start = this.index[mid].position;
        entry = mid;
        lo = mid + 1;
      } else hi = mid - 1;
    }
    if (entry >= 0 && entry === this.index.length - 1 && this.tailPos[0] === start) {
      // From the last index entry on, every batch's place is in memory.
      const a = lowerBound(this.tailLast, offset);
      return a < this.tailLast.length ? this.tailPos[a]! : this.size;
    }
    for (let pos = start; pos < this.size; ) {
      const h = this.readHeader(pos);
      if (h.lastOffset >= offset) return pos;
      pos += h.size;
    }
    return this.size;
  }

  /** Position and base offset of the first batch whose max timestamp is >= ts, or null. */
  positionOfTimestamp(ts: number): { position: number; baseOffset: number } | null {
    if (this.maxTimestamp < ts) return null;
    let start = 0;
    for (const e of this.index) {
      if (e.maxTimestamp < ts) start = e.position;
      else break;
    }
    for (let pos = start; pos < this.size; ) {
      const h = this.readHeader(pos);
      if (h.maxTimestamp >= ts) return { position: pos, baseOffset: h.baseOffset };
      pos += h.size;
    }
    return null;
  }

  /**
   * Whole batches starting at `position`, up to `maxBytes`; the first batch is returned
   * whole even when larger (consumers must always make progress).
   */
  read(position: number, maxBytes: number): Buffer {
    if (position >= this.size) return Buffer.alloc(0);
    const want = Math.min(Math.max(maxBytes, BATCH_HEADER_SIZE), this.size - position);
    let buf = Buffer.allocUnsafe(want);
    readSync(this.fd, buf, 0, want, position);
    let end = 0;
    while (end + LOG_OVERHEAD <= buf.length) {
      const size = LOG_OVERHEAD + buf.readInt32BE(end + 8);
      if (end + size > buf.length) {
        if (end === 0) {
          buf = Buffer.allocUnsafe(size);
          readSync(this.fd, buf, 0, size, position);
          return buf;
        }
        break;
      }
      end += size;
    }
    return buf.subarray(0, end);
  }

  /** Every batch's bytes, for the cleaner. */
  readAll(): Buffer {
    const buf = Buffer.allocUnsafe(this.size);
    if (this.size) readSync(this.fd, buf, 0, this.size, 0);
    return buf;
  }

  flush(): void {
    if (!this.dirty) return;
    fsyncSync(this.fd);
    this.dirty = false;
  }

  /**
   * fsync on the libuv thread pool: a slow disk must not stall every connection's
   * event loop (the 'interval' timer and 'always' acks use this).
   */
  flushAsync(): Promise<void> {
    // Not dirty: whatever was written is covered by the fsync in flight (if any).
    if (!this.dirty) return this.inflight ?? Promise.resolve();
    this.dirty = false;
    const done = new Promise<void>((resolve) => {
      fsync(this.fd, (err) => {
        // EBADF: the segment was closed (topic deleted, broker closing) meanwhile; close() syncs itself.
        if (err && err.code !== 'EBADF') this.dirty = true;
        if (this.inflight === done) this.inflight = undefined;
        resolve();
      });
    });
    this.inflight = done;
    return done;
  }

  close(): void {
    this.flush();
    if (this.idxFd >= 0) fsyncSync(this.idxFd);
    if (this.tixFd >= 0) fsyncSync(this.tixFd);
    this.closeIndexFds();
    closeSync(this.fd);
  }

  delete(): void {
    this.closeIndexFds();
    closeSync(this.fd);
    for (const ext of ['.log', '.index', '.timeindex']) rmSync(join(this.dir, `${segmentName(this.baseOffset)}${ext}`), { force: true });
  }

  /**
   * Replace this segment's content with `data` (the cleaner's output): written to a temp
   * file, fsynced, renamed over the log. Returns the reopened segment.
   */
  replaceWith(data: Buffer): Segment {
    const tmp = `${this.logPath}.cleaned`;
    const fd = openSync(tmp, 'w');
    writeSync(fd, data, 0, data.length, 0);
    fsyncSync(fd);
    closeSync(fd);
    this.closeIndexFds();
    closeSync(this.fd);
    renameSync(tmp, this.logPath);
    return Segment.open(this.dir, this.baseOffset, false).segment;
  }
}

