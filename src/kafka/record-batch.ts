/**
 * Record batch v2 (magic 2): encoded as a producer writes it, for one partition, into ONE buffer
 * sized up front, and decoded straight into ConsumedMessages. platformatic's own encoder builds
 * every record from a dozen small buffers and concatenates them (~3 µs per record; this is
 * ~0.25 µs), and its decoder makes an intermediate object (bigint deltas, header pairs) per
 * record; a worker sends and reads a lot of records (input, sink output, changelog). Pure: no I/O.
 *
 * The layout, varints and header writer are shared with the dev broker (kafka-wire/record-batch.ts).
 * What a producer writes: baseOffset 0 (the broker assigns offsets), partitionLeaderEpoch -1,
 * attributes 0 or gzip with create time, producerId/epoch/baseSequence -1 (not idempotent),
 * record attributes 0 and offset deltas 0..n-1.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import type { ConsumedMessage, KafkaCompression, KafkaHeaders, ProduceMessage } from './client.js';
import {
  BATCH_HEADER_SIZE as HEADER_SIZE, COMPRESSION_MASK, Compression, IS_CONTROL, LOG_APPEND_TIME, LOG_OVERHEAD,
  readVarBytes as readBytes, readVarint, varintSize, writeBatchHeader, writeVarint,
} from '../kafka-wire/record-batch.js';
import { ChunkCursor } from './chunk-cursor.js';

const GZIP = Compression.gzip;
const EMPTY_HEADERS: Buffer = Buffer.from([0]);

/** Whole milliseconds: the wire has no fractions. */
const timestampOf = (m: ProduceMessage, now: number): number => Math.trunc(m.timestamp ?? now);

/**
 * Header names as bytes, made once per name: a worker's names are a handful of constants
 * (repartition, changelog tags) on every record it writes. Bounded, in case names are data.
 */
const headerNames = new Map<string, Buffer>();
function headerName(name: string): Buffer {
  let b = headerNames.get(name);
  if (b === undefined) {
    b = Buffer.from(name, 'utf8');
    if (headerNames.size < 256) headerNames.set(name, b);
  }
  return b;
}

/** A headers object as its wire form: count, then (key, value) pairs. */
function encodeHeaders(headers: KafkaHeaders | undefined): Buffer {
  if (headers === undefined) return EMPTY_HEADERS;
  const pairs: Array<[Buffer, Buffer]> = [];
  let size = 0;
  for (const name in headers) {
    const k = headerName(name);
    const v = headers[name]!;
    pairs.push([k, v]);
    size += varintSize(k.length) + k.length + varintSize(v.length) + v.length;
  }
  if (pairs.length === 0) return EMPTY_HEADERS;
  const buf = Buffer.allocUnsafe(varintSize(pairs.length) + size);
  let at = writeVarint(buf, 0, pairs.length);
  for (const [k, v] of pairs) {
    at = writeVarint(buf, at, k.length);
    at += k.copy(buf, at);
    at = writeVarint(buf, at, v.length);
    at += v.copy(buf, at);
  }
  return buf;
}

/**
 * `bytes` into `buf` at `at`; returns the end. Short ones (keys) byte by byte: set() has a fixed
 * cost that is most of the copy below a few dozen bytes.
 */
function copyBytes(buf: Buffer, at: number, bytes: Uint8Array): number {
  const n = bytes.length;
  if (n > 32) buf.set(bytes, at);
  else for (let i = 0; i < n; i++) buf[at + i] = bytes[i]!;
  return at + n;
}

/**
 * One partition's messages as a record batch, in order (offset deltas 0..n-1). A message without
 * a timestamp gets `now`, one without headers `headers` (none by default); fractions of a
 * millisecond are dropped. Throws on an empty list.
 */
export function encodeRecordBatch(messages: readonly ProduceMessage[], now: number, compression: KafkaCompression = 'none', headers?: KafkaHeaders): Buffer {
  const n = messages.length;
  if (n === 0) throw new Error('internal: a record batch needs at least one record');
  const first = timestampOf(messages[0]!, now);
  let max = first;
  // Messages of one call usually share one headers object (changelog tags): encode it once.
  let lastHeaders: KafkaHeaders | undefined;
  let lastBlock: Buffer = EMPTY_HEADERS;
  const blocks: Buffer[] = new Array<Buffer>(n);
  const bodies = new Int32Array(n);
  const deltas = new Float64Array(n);
  let size = HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    const ts = timestampOf(m, now);
    if (ts > max) max = ts;
    deltas[i] = ts - first;
    const h = m.headers ?? headers;
    if (h !== lastHeaders) {
      lastHeaders = h;
      lastBlock = encodeHeaders(h);
    }
    blocks[i] = lastBlock;
    const keyLen = m.key === null ? -1 : m.key.length;
    const valueLen = m.value === null ? -1 : m.value.length;
    const body = 1 + varintSize(ts - first) + varintSize(i)
      + varintSize(keyLen) + Math.max(keyLen, 0) + varintSize(valueLen) + Math.max(valueLen, 0) + lastBlock.length;
    bodies[i] = body;
    size += varintSize(body) + body;
  }
  let buf = Buffer.allocUnsafe(size);
  let at = HEADER_SIZE;
  for (let i = 0; i < n; i++) {
    const m = messages[i]!;
    at = writeVarint(buf, at, bodies[i]!);
    buf[at++] = 0;
    at = writeVarint(buf, at, deltas[i]!);
    at = writeVarint(buf, at, i);
    // Keys and values are any Uint8Array (a Buffer, or a codec's bytes): set() copies either.
    if (m.key === null) at = writeVarint(buf, at, -1);
    else at = copyBytes(buf, writeVarint(buf, at, m.key.length), m.key);
    if (m.value === null) at = writeVarint(buf, at, -1);
    else at = copyBytes(buf, writeVarint(buf, at, m.value.length), m.value);
    const block = blocks[i]!;
    if (block === EMPTY_HEADERS) buf[at++] = 0;
    else at += block.copy(buf, at);
  }
  let attributes = 0;
  if (compression === 'gzip') {
    const records = gzipSync(buf.subarray(HEADER_SIZE));
    const out = Buffer.allocUnsafe(HEADER_SIZE + records.length);
    records.copy(out, HEADER_SIZE);
    buf = out;
    attributes = GZIP;
  }
  return writeBatchHeader(buf, {
    baseOffset: 0, partitionLeaderEpoch: -1, attributes, lastOffsetDelta: n - 1, firstTimestamp: first, maxTimestamp: max,
    producerId: -1, producerEpoch: -1, baseSequence: -1, recordCount: n,
  });
}

const NO_HEADERS: KafkaHeaders = Object.freeze({}) as KafkaHeaders;

/** Decompresses a batch's records section (gzip here; other codecs through `inflate`). */
export type Inflate = (codec: number, data: Buffer) => Buffer;

/**
 * The records of the complete v2 batches in `data` (a fetch response's records of one partition:
 * one buffer, or the pieces it arrived in, see chunk-cursor.ts) at or after offset `from`, appended
 * to `out`; control batches occupy offsets but carry no user record. Keys, values and header
 * values are views into `data` (or the inflated section), not copies, except those of a record
 * that straddles two pieces. A batch cut off at the end of `data` (the response's byte limit) is
 * left for the next fetch. Returns the offset after the last complete batch, or `from` when there
 * is none.
 */
export function decodeRecordBatches(data: Buffer | readonly Buffer[], topic: string, partition: number, from: bigint, out: ConsumedMessage[], inflate: Inflate): bigint {
  let next = from;
  const c = new ChunkCursor(Buffer.isBuffer(data) ? [data] : data as readonly Buffer[]);
  while (c.remaining >= HEADER_SIZE) {
    const header = c.peek(HEADER_SIZE);
    const size = LOG_OVERHEAD + header.readInt32BE(8);
    if (c.remaining < size) break;
    if (size < HEADER_SIZE) throw new Error(`record batch of ${topic}[${partition}] is ${size} bytes long, shorter than its header`);
    const magic = header.readInt8(16);
    if (magic !== 2) throw new Error(`record batch of ${topic}[${partition}] has magic ${magic}; only v2 batches are supported`);
    const baseOffset = header.readBigInt64BE(0);
    const attributes = header.readInt16BE(21);
    const last = baseOffset + BigInt(header.readInt32BE(23));
    const end = c.position + size;
    if ((attributes & IS_CONTROL) === 0 && last >= from) {
      const batch: Batch = {
        topic, partition, from, baseOffset,
        firstTimestamp: Number(header.readBigInt64BE(27)),
        logAppend: (attributes & LOG_APPEND_TIME) !== 0 ? Number(header.readBigInt64BE(35)) : undefined,
      };
      const count = header.readInt32BE(57);
      const codec = attributes & COMPRESSION_MASK;
      c.skip(HEADER_SIZE);
      if (codec === 0) readRecords(c, end, count, batch, out);
      else {
        const body = c.take(size - HEADER_SIZE);
        readRecords(new ChunkCursor([codec === GZIP ? gunzipSync(body) : inflate(codec, body)]), Infinity, count, batch, out);
      }
      if (c.position > end) throw new RangeError('record overruns its record batch');
    }
    c.skip(end - c.position);
    if (last + 1n > next) next = last + 1n;
  }
  return next;
}

interface Batch {
  topic: string;
  partition: number;
  from: bigint;
  baseOffset: bigint;
  firstTimestamp: number;
  logAppend: number | undefined;
}

const pos = { at: 0 };

/**
 * `count` records from `c` (ending by `end`, a position in `c`). A record inside one piece is
 * decoded where it lies; one that straddles two is copied out first.
 */
function readRecords(c: ChunkCursor, end: number, count: number, b: Batch, out: ConsumedMessage[]): void {
  for (let i = 0; i < count; i++) {
    const length = c.varint();
    if (length < 0 || c.position + length > end) throw new RangeError('record overruns its record batch');
    let body = c.chunk;
    let stop = c.at + length;
    if (stop <= body.length) pos.at = c.at;
    else {
      body = c.peek(length);
      pos.at = 0;
      stop = length;
    }
    c.skip(length);
    pos.at++; // attributes
    const timestampDelta = readVarint(body, pos);
    const offsetDelta = readVarint(body, pos);
    const key = readBytes(body, pos);
    const value = readBytes(body, pos);
    const headerCount = readVarint(body, pos);
    let headers = NO_HEADERS;
    if (headerCount > 0) {
      headers = {};
      for (let h = 0; h < headerCount; h++) {
        const k = readBytes(body, pos);
        const v = readBytes(body, pos);
        if (k !== null) headers[k.toString('utf8')] ??= v ?? Buffer.alloc(0);
      }
    }
    if (pos.at > stop) throw new RangeError('record overruns its length');
    const offset = b.baseOffset + BigInt(offsetDelta);
    if (offset < b.from) continue;
    out.push({ topic: b.topic, partition: b.partition, offset, key, value, headers, timestamp: b.logAppend ?? b.firstTimestamp + timestampDelta });
  }
}
