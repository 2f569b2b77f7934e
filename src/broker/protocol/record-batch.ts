/**
 * Record batch v2 (magic 2), the unit the broker stores and serves:
 *
 *   0  baseOffset int64        (rewritten on append; outside the CRC)
 *   8  batchLength int32       (bytes after this field)
 *  12  partitionLeaderEpoch int32 (outside the CRC)
 *  16  magic int8 = 2
 *  17  crc uint32             CRC32C over bytes 21..end
 *  21  attributes int16       bits 0-2 compression, 3 timestamp type, 4 transactional, 5 control
 *  23  lastOffsetDelta int32
 *  27  firstTimestamp int64
 *  35  maxTimestamp int64
 *  43  producerId int64
 *  51  producerEpoch int16
 *  53  baseSequence int32
 *  57  recordCount int32
 *  61  records: length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
 *      keyLength varint, key, valueLength varint, value, headerCount varint,
 *      headers (keyLength varint, key, valueLength varint, value)
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { crc32c } from './crc32c.js';
import { Reader } from './reader.js';
import { Writer } from './writer.js';

export const BATCH_HEADER_SIZE = 61;
/** Bytes needed to know a batch's size: baseOffset + batchLength. */
export const LOG_OVERHEAD = 12;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;

export interface BatchHeader {
  baseOffset: number;
  /** Total size on the wire (12 + batchLength). */
  size: number;
  magic: number;
  crc: number;
  attributes: number;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

export function readBatchHeader(buf: Buffer, at = 0): BatchHeader {
  return {
    baseOffset: Number(buf.readBigInt64BE(at)),
    size: LOG_OVERHEAD + buf.readInt32BE(at + 8),
    magic: buf.readInt8(at + 16),
    crc: buf.readUInt32BE(at + 17),
    attributes: buf.readInt16BE(at + 21),
    lastOffsetDelta: buf.readInt32BE(at + 23),
    firstTimestamp: Number(buf.readBigInt64BE(at + 27)),
    maxTimestamp: Number(buf.readBigInt64BE(at + 35)),
    producerId: Number(buf.readBigInt64BE(at + 43)),
    producerEpoch: buf.readInt16BE(at + 51),
    baseSequence: buf.readInt32BE(at + 53),
    recordCount: buf.readInt32BE(at + 57),
  };
}

export function compressionOf(attributes: number): number {
  return attributes & 0x07;
}

/** True when the batch at `at` (of `size` bytes) carries a matching CRC32C. */
export function batchCrcValid(buf: Buffer, at: number, size: number): boolean {
  return crc32c(buf, at + 21, at + size) === buf.readUInt32BE(at + 17);
}

export type SplitResult = { ok: true; batches: Buffer[] } | { ok: false; reason: string };

/** Split a produce request's records blob into v2 batches, each checked (magic, size, CRC). */
export function splitBatches(records: Buffer): SplitResult {
  const batches: Buffer[] = [];
  let at = 0;
  while (at < records.length) {
    if (records.length - at < BATCH_HEADER_SIZE) return { ok: false, reason: 'truncated batch header' };
    const size = LOG_OVERHEAD + records.readInt32BE(at + 8);
    if (size < BATCH_HEADER_SIZE || at + size > records.length) return { ok: false, reason: 'bad batch length' };
    const magic = records.readInt8(at + 16);
    if (magic !== 2) return { ok: false, reason: `unsupported magic ${magic}` };
    if (!batchCrcValid(records, at, size)) return { ok: false, reason: 'CRC mismatch' };
    batches.push(records.subarray(at, at + size));
    at += size;
  }
  return { ok: true, batches };
}

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}
export interface BatchRecord {
  attributes: number;
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

/** Records of one batch; null when its compression codec is not one we can read (snappy/lz4/zstd). */
export function readRecords(batch: Buffer): BatchRecord[] | null {
  const h = readBatchHeader(batch);
  const codec = compressionOf(h.attributes);
  let body: Buffer;
  if (codec === Compression.none) body = batch.subarray(BATCH_HEADER_SIZE, h.size);
  else if (codec === Compression.gzip) body = gunzipSync(batch.subarray(BATCH_HEADER_SIZE, h.size));
  else return null;
  const r = new Reader(body);
  const out: BatchRecord[] = [];
  for (let i = 0; i < h.recordCount; i++) {
    r.varint(); // record length
    const attributes = r.int8();
    const timestamp = h.firstTimestamp + r.varint();
    const offset = h.baseOffset + r.varint();
    const key = varBytes(r);
    const value = varBytes(r);
    const headers: RecordHeader[] = [];
    const hc = r.varint();
    for (let j = 0; j < hc; j++) {
      const hk = varBytes(r);
      headers.push({ key: hk ? hk.toString('utf8') : '', value: varBytes(r) });
    }
    out.push({ attributes, offset, timestamp, key, value, headers });
  }
  return out;
}

function varBytes(r: Reader): Buffer | null {
  const n = r.varint();
  if (n < 0) return null;
  const at = r.pos;
  r.pos += n;
  if (r.pos > r.buf.length) throw new RangeError('record overruns its batch');
  return r.buf.subarray(at, at + n);
}

export interface BuildBatchOptions {
  baseOffset: number;
  /** Keep a batch's original span even when records were removed (compaction). */
  lastOffsetDelta?: number;
  attributes?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  partitionLeaderEpoch?: number;
}

/** Encode records (absolute offsets and timestamps) into one v2 batch with a valid CRC. */
export function buildBatch(records: readonly BatchRecord[], opts: BuildBatchOptions): Buffer {
  const attributes = opts.attributes ?? 0;
  const firstTimestamp = records.length ? Math.min(...records.map((r) => r.timestamp)) : -1;
  const maxTimestamp = records.length ? Math.max(...records.map((r) => r.timestamp)) : -1;
  const body = new Writer(false, 64 + records.length * 32);
  for (const rec of records) {
    const w = new Writer();
    w.int8(rec.attributes);
    w.varint(rec.timestamp - firstTimestamp);
    w.varint(rec.offset - opts.baseOffset);
    writeVarBytes(w, rec.key);
    writeVarBytes(w, rec.value);
    w.varint(rec.headers.length);
    for (const hd of rec.headers) {
      writeVarBytes(w, Buffer.from(hd.key, 'utf8'));
      writeVarBytes(w, hd.value);
    }
    const bytes = w.result();
    body.varint(bytes.length);
    body.raw(bytes);
  }
  let payload: Buffer = body.result();
  const codec = compressionOf(attributes);
  if (codec === Compression.gzip) payload = gzipSync(payload);
  else if (codec !== Compression.none) throw new RangeError(`cannot build a batch with compression ${codec}`);
  const lastOffsetDelta =
    opts.lastOffsetDelta ?? (records.length ? records[records.length - 1].offset - opts.baseOffset : 0);
  const out = Buffer.alloc(BATCH_HEADER_SIZE + payload.length);
  out.writeBigInt64BE(BigInt(opts.baseOffset), 0);
  out.writeInt32BE(out.length - LOG_OVERHEAD, 8);
  out.writeInt32BE(opts.partitionLeaderEpoch ?? 0, 12);
  out.writeInt8(2, 16);
  out.writeInt16BE(attributes, 21);
  out.writeInt32BE(lastOffsetDelta, 23);
  out.writeBigInt64BE(BigInt(firstTimestamp), 27);
  out.writeBigInt64BE(BigInt(maxTimestamp), 35);
  out.writeBigInt64BE(BigInt(opts.producerId ?? -1), 43);
  out.writeInt16BE(opts.producerEpoch ?? -1, 51);
  out.writeInt32BE(opts.baseSequence ?? -1, 53);
  out.writeInt32BE(records.length, 57);
  payload.copy(out, BATCH_HEADER_SIZE);
  out.writeUInt32BE(crc32c(out, 21, out.length), 17);
  return out;
}

function writeVarBytes(w: Writer, b: Buffer | null): void {
  if (b === null) {
    w.varint(-1);
    return;
  }
  w.varint(b.length);
  w.raw(b);
}
