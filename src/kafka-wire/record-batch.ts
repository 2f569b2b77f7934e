/**
 * Record batch v2 (magic 2): the layout, varints and header shared by the dev broker
 * (broker/protocol/record-batch.ts: checks, stores, compacts) and our clients' produce and fetch
 * paths (connectors/kafka/record-batch.ts: encodes from ProduceMessages, decodes into
 * ConsumedMessages). One place knows where each field sits.
 *
 *   0  baseOffset int64           (the broker assigns it on append; outside the CRC)
 *   8  batchLength int32          bytes after this field
 *  12  partitionLeaderEpoch int32 (outside the CRC)
 *  16  magic int8 = 2
 *  17  crc uint32                 CRC32C over bytes 21..end
 *  21  attributes int16           bits 0-2 compression, 3 timestamp type (log append), 4 transactional, 5 control
 *  23  lastOffsetDelta int32
 *  27  firstTimestamp int64
 *  35  maxTimestamp int64
 *  43  producerId int64
 *  51  producerEpoch int16
 *  53  baseSequence int32
 *  57  recordCount int32
 *  61  records (compressed as a whole when the attributes say so), each:
 *        length varint, attributes int8, timestampDelta varlong, offsetDelta varint,
 *        keyLength varint (-1 = null), key, valueLength varint (-1 = null), value,
 *        headerCount varint, headers (keyLength varint, key UTF-8, valueLength varint, value)
 *  varint/varlong: zig-zag, 7 bits per byte, least significant group first.
 */
import { crc32c } from './crc32c.js';

export const BATCH_HEADER_SIZE = 61;
/** Bytes needed to know a batch's size: baseOffset + batchLength. */
export const LOG_OVERHEAD = 12;
/** The CRC covers the batch from here (attributes) to its end. */
export const CRC_START = 21;

export const Compression = { none: 0, gzip: 1, snappy: 2, lz4: 3, zstd: 4 } as const;
export const COMPRESSION_MASK = 0x07;
export const LOG_APPEND_TIME = 0x08;
export const IS_CONTROL = 0x20;

/** The header fields a writer chooses (length, magic and CRC follow from the bytes). */
export interface BatchHeaderFields {
  baseOffset: number | bigint;
  partitionLeaderEpoch: number;
  attributes: number;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number | bigint;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
}

/**
 * Writes the 61-byte header into `buf` (the whole batch: header, then its records section) and
 * then the CRC over everything after it, so the records must already be in place.
 */
export function writeBatchHeader(buf: Buffer, h: BatchHeaderFields): Buffer {
  buf.writeBigInt64BE(BigInt(h.baseOffset), 0);
  buf.writeInt32BE(buf.length - LOG_OVERHEAD, 8);
  buf.writeInt32BE(h.partitionLeaderEpoch, 12);
  buf.writeInt8(2, 16);
  buf.writeInt16BE(h.attributes, 21);
  buf.writeInt32BE(h.lastOffsetDelta, 23);
  buf.writeBigInt64BE(BigInt(h.firstTimestamp), 27);
  buf.writeBigInt64BE(BigInt(h.maxTimestamp), 35);
  buf.writeBigInt64BE(BigInt(h.producerId), 43);
  buf.writeInt16BE(h.producerEpoch, 51);
  buf.writeInt32BE(h.baseSequence, 53);
  buf.writeInt32BE(h.recordCount, 57);
  buf.writeUInt32BE(crc32c(buf, CRC_START, buf.length), 17);
  return buf;
}

/** True when the batch at `at` (of `size` bytes) carries a matching CRC32C. */
export function batchCrcValid(buf: Buffer, at: number, size: number): boolean {
  return crc32c(buf, at + CRC_START, at + size) === buf.readUInt32BE(at + 17);
}

/** Bytes of the zig-zag varint of a safe integer (|v| < 2^53). */
export function varintSize(v: number): number {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (z >= 128) {
    z = Math.floor(z / 128);
    n++;
  }
  return n;
}

/** Writes the zig-zag varint of a safe integer at `at`; returns the position after it. */
export function writeVarint(buf: Buffer, at: number, v: number): number {
  if (v >= -0x40000000 && v < 0x40000000) {
    let z = ((v << 1) ^ (v >> 31)) >>> 0;
    while (z >= 0x80) {
      buf[at++] = (z & 0x7f) | 0x80;
      z >>>= 7;
    }
    buf[at++] = z;
    return at;
  }
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  while (z >= 128) {
    buf[at++] = (z % 128) | 0x80;
    z = Math.floor(z / 128);
  }
  buf[at++] = z;
  return at;
}

/** Writes a varint length and the bytes (-1 for null); returns the position after them. */
export function writeVarBytes(buf: Buffer, at: number, bytes: Uint8Array | null): number {
  if (bytes === null) return writeVarint(buf, at, -1);
  at = writeVarint(buf, at, bytes.length);
  buf.set(bytes, at);
  return at + bytes.length;
}

/** Size of writeVarBytes' output. */
export function varBytesSize(bytes: Uint8Array | null): number {
  return bytes === null ? 1 : varintSize(bytes.length) + bytes.length;
}

/** A read position, advanced by the readers below. */
export interface ReadPosition {
  at: number;
}

/** A zig-zag varint read at `pos.at` (advanced); safe-integer range. */
export function readVarint(buf: Buffer, pos: ReadPosition): number {
  let at = pos.at;
  if (at >= buf.length) throw new RangeError('varint overruns its record batch');
  let b = buf[at++]!;
  let z = b & 0x7f;
  let mul = 128;
  while (b & 0x80) {
    if (at >= buf.length) throw new RangeError('varint overruns its record batch');
    b = buf[at++]!;
    z += (b & 0x7f) * mul;
    mul *= 128;
  }
  pos.at = at;
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Length-prefixed bytes as a view into `buf` (no copy); null for length -1. */
export function readVarBytes(buf: Buffer, pos: ReadPosition): Buffer | null {
  const n = readVarint(buf, pos);
  if (n < 0) return null;
  const at = pos.at;
  if (at + n > buf.length) throw new RangeError('record overruns its record batch');
  pos.at = at + n;
  return buf.subarray(at, at + n);
}
