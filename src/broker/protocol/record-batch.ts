/**
 * Record batch v2 (magic 2), the unit the dev broker stores and serves: checks of what producers
 * send, headers and records as the log and the cleaner need them (absolute offsets, record
 * attributes, a batch's span kept through compaction). The layout, varints, header writer and
 * CRC are shared with the clients' codec (kafka-wire/record-batch.ts).
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import {
  BATCH_HEADER_SIZE, COMPRESSION_MASK, Compression, LOG_OVERHEAD, batchCrcValid,
  readVarBytes, readVarint, varBytesSize, varintSize, writeBatchHeader, writeVarBytes, writeVarint, type ReadPosition,
} from '../../kafka-wire/record-batch.js';

export { BATCH_HEADER_SIZE, Compression, LOG_OVERHEAD, batchCrcValid };

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
  return attributes & COMPRESSION_MASK;
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
  const pos: ReadPosition = { at: 0 };
  const out: BatchRecord[] = [];
  for (let i = 0; i < h.recordCount; i++) {
    readVarint(body, pos); // record length
    if (pos.at >= body.length) throw new RangeError('record overruns its batch');
    const attributes = body.readInt8(pos.at++);
    const timestamp = h.firstTimestamp + readVarint(body, pos);
    const offset = h.baseOffset + readVarint(body, pos);
    const key = readVarBytes(body, pos);
    const value = readVarBytes(body, pos);
    const headers: RecordHeader[] = [];
    const hc = readVarint(body, pos);
    for (let j = 0; j < hc; j++) {
      const hk = readVarBytes(body, pos);
      headers.push({ key: hk ? hk.toString('utf8') : '', value: readVarBytes(body, pos) });
    }
    out.push({ attributes, offset, timestamp, key, value, headers });
  }
  return out;
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

/** Encode records (absolute offsets and timestamps) into one v2 batch with a valid CRC, in one buffer sized up front. */
export function buildBatch(records: readonly BatchRecord[], opts: BuildBatchOptions): Buffer {
  const attributes = opts.attributes ?? 0;
  let firstTimestamp = records.length ? Infinity : -1;
  let maxTimestamp = records.length ? -Infinity : -1;
  for (const r of records) {
    if (r.timestamp < firstTimestamp) firstTimestamp = r.timestamp;
    if (r.timestamp > maxTimestamp) maxTimestamp = r.timestamp;
  }
  const headerKeys = records.map((r) => r.headers.map((hd) => Buffer.from(hd.key, 'utf8')));
  const bodies = records.map((r, i) => {
    let size = 1 + varintSize(r.timestamp - firstTimestamp) + varintSize(r.offset - opts.baseOffset)
      + varBytesSize(r.key) + varBytesSize(r.value) + varintSize(r.headers.length);
    r.headers.forEach((hd, j) => { size += varBytesSize(headerKeys[i]![j]!) + varBytesSize(hd.value); });
    return size;
  });
  let recordsSize = 0;
  for (const b of bodies) recordsSize += varintSize(b) + b;
  const section = Buffer.allocUnsafe(recordsSize);
  let at = 0;
  records.forEach((r, i) => {
    at = writeVarint(section, at, bodies[i]!);
    section.writeInt8(r.attributes, at++);
    at = writeVarint(section, at, r.timestamp - firstTimestamp);
    at = writeVarint(section, at, r.offset - opts.baseOffset);
    at = writeVarBytes(section, at, r.key);
    at = writeVarBytes(section, at, r.value);
    at = writeVarint(section, at, r.headers.length);
    r.headers.forEach((hd, j) => {
      at = writeVarBytes(section, at, headerKeys[i]![j]!);
      at = writeVarBytes(section, at, hd.value);
    });
  });
  const codec = compressionOf(attributes);
  let payload: Buffer = section;
  if (codec === Compression.gzip) payload = gzipSync(section);
  else if (codec !== Compression.none) throw new RangeError(`cannot build a batch with compression ${codec}`);
  const out = Buffer.allocUnsafe(BATCH_HEADER_SIZE + payload.length);
  payload.copy(out, BATCH_HEADER_SIZE);
  return writeBatchHeader(out, {
    baseOffset: opts.baseOffset,
    partitionLeaderEpoch: opts.partitionLeaderEpoch ?? 0,
    attributes,
    lastOffsetDelta: opts.lastOffsetDelta ?? (records.length ? records[records.length - 1]!.offset - opts.baseOffset : 0),
    firstTimestamp,
    maxTimestamp,
    producerId: opts.producerId ?? -1,
    producerEpoch: opts.producerEpoch ?? -1,
    baseSequence: opts.baseSequence ?? -1,
    recordCount: records.length,
  });
}
