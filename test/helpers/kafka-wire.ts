/**
 * Just enough of the Kafka wire protocol, written independently of src/broker, for tests
 * that must speak bytes the clients never send: duplicated produce requests, garbage
 * frames, unsupported versions. Independent on purpose: a bug shared between the
 * broker's codec and the test's codec would otherwise cancel out.
 */
import { connect, type Socket } from 'node:net';

/** Big-endian writer with Kafka's primitive types (non-flexible encodings). */
export class WireWriter {
  private readonly chunks: Buffer[] = [];

  int8(v: number): this { const b = Buffer.alloc(1); b.writeInt8(v); return this.raw(b); }
  int16(v: number): this { const b = Buffer.alloc(2); b.writeInt16BE(v); return this.raw(b); }
  int32(v: number): this { const b = Buffer.alloc(4); b.writeInt32BE(v); return this.raw(b); }
  uint32(v: number): this { const b = Buffer.alloc(4); b.writeUInt32BE(v >>> 0); return this.raw(b); }
  int64(v: bigint): this { const b = Buffer.alloc(8); b.writeBigInt64BE(v); return this.raw(b); }
  string(s: string): this { const b = Buffer.from(s); return this.int16(b.length).raw(b); }
  nullableString(s: string | null): this { return s === null ? this.int16(-1) : this.string(s); }
  bytes(b: Buffer): this { return this.int32(b.length).raw(b); }
  /** Zig-zag varint, as used inside v2 records. */
  varint(v: number): this { return this.uvarint(((v << 1) ^ (v >> 31)) >>> 0); }
  uvarint(v: number): this {
    const out: number[] = [];
    let n = v >>> 0;
    while (n > 0x7f) { out.push((n & 0x7f) | 0x80); n >>>= 7; }
    out.push(n);
    return this.raw(Buffer.from(out));
  }
  varBytes(b: Buffer | null): this { return b === null ? this.varint(-1) : this.varint(b.length).raw(b); }
  raw(b: Buffer): this { this.chunks.push(b); return this; }
  build(): Buffer { return Buffer.concat(this.chunks); }
}

/** Big-endian reader; throws RangeError on reads past the end (a truncated response). */
export class WireReader {
  offset = 0;
  constructor(readonly buf: Buffer) {}
  int8(): number { const v = this.buf.readInt8(this.offset); this.offset += 1; return v; }
  int16(): number { const v = this.buf.readInt16BE(this.offset); this.offset += 2; return v; }
  int32(): number { const v = this.buf.readInt32BE(this.offset); this.offset += 4; return v; }
  int64(): bigint { const v = this.buf.readBigInt64BE(this.offset); this.offset += 8; return v; }
  string(): string | null {
    const len = this.int16();
    if (len < 0) return null;
    const s = this.buf.toString('utf8', this.offset, this.offset + len);
    this.offset += len;
    return s;
  }
  uvarint(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.buf[this.offset++];
      if (byte === undefined) throw new RangeError('uvarint past end of buffer');
      result |= (byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result >>> 0;
      shift += 7;
    }
  }
  /** Flexible-version compact string: uvarint(len + 1), 0 = null. */
  compactString(): string | null {
    const n = this.uvarint();
    if (n === 0) return null;
    const s = this.buf.toString('utf8', this.offset, this.offset + n - 1);
    this.offset += n - 1;
    return s;
  }
  skipTaggedFields(): void {
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      const size = this.uvarint();
      this.offset += size;
    }
  }
  remaining(): number { return this.buf.length - this.offset; }
}

/** A request frame: int32 size, then request header v1 (key, version, correlation id, client id), then body. */
export function encodeRequest(apiKey: number, apiVersion: number, correlationId: number, body: Buffer, clientId = 'tributary-wire-test'): Buffer {
  const payload = new WireWriter().int16(apiKey).int16(apiVersion).int32(correlationId).nullableString(clientId).raw(body).build();
  return new WireWriter().int32(payload.length).raw(payload).build();
}

/** Splits a byte stream into frame payloads (without the int32 size prefix). */
export class FrameSplitter {
  private pending: Buffer = Buffer.alloc(0);
  push(chunk: Buffer): Buffer[] {
    this.pending = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    const frames: Buffer[] = [];
    while (this.pending.length >= 4) {
      const size = this.pending.readInt32BE(0);
      if (this.pending.length < 4 + size) break;
      frames.push(this.pending.subarray(4, 4 + size));
      this.pending = this.pending.subarray(4 + size);
    }
    return frames;
  }
}

/** A raw client connection: send bytes, await response frames, observe the close. */
export class WireConnection {
  private readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  private closedFlag = false;
  readonly closed: Promise<void>;

  private constructor(readonly socket: Socket) {
    const splitter = new FrameSplitter();
    socket.on('data', (chunk: Buffer) => {
      for (const f of splitter.push(chunk)) this.frames.push(f);
      this.wake();
    });
    // Errors (ECONNRESET when the broker drops us) count as a close, which is what tests assert.
    socket.on('error', () => {});
    this.closed = new Promise((resolve) => socket.on('close', () => { this.closedFlag = true; this.wake(); resolve(); }));
  }

  static open(host: string, port: number): Promise<WireConnection> {
    return new Promise((resolve, reject) => {
      const socket = connect({ host, port });
      socket.once('connect', () => resolve(new WireConnection(socket)));
      socket.once('error', reject);
    });
  }

  get isClosed(): boolean { return this.closedFlag; }

  send(bytes: Buffer): void { this.socket.write(bytes); }

  /** The next response frame; rejects if the connection closes first or nothing comes within timeoutMs. */
  async nextFrame(timeoutMs = 5_000): Promise<Buffer> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const f = this.frames.shift();
      if (f) return f;
      if (this.closedFlag) throw new Error('connection closed before a response arrived');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no response within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
  }

  /** Resolves true when the peer closes within timeoutMs, false if it is still open. */
  async closesWithin(timeoutMs: number): Promise<boolean> {
    if (this.closedFlag) return true;
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<false>((resolve) => { timer = setTimeout(() => resolve(false), timeoutMs); });
    const result = await Promise.race([this.closed.then(() => true as const), timeout]);
    clearTimeout(timer);
    return result;
  }

  close(): void { this.socket.destroy(); }

  private wake(): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) w();
  }
}

/** Request header fields of a request frame payload (the same in header v1 and v2). */
export function peekRequestHeader(payload: Buffer): { apiKey: number; apiVersion: number; correlationId: number } {
  return { apiKey: payload.readInt16BE(0), apiVersion: payload.readInt16BE(2), correlationId: payload.readInt32BE(4) };
}

// CRC-32C (Castagnoli), reflected polynomial 0x82F63B78: the checksum of record batch v2.
const crcTable = (() => {
  const t = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let c = i;
    for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1;
    t[i] = c >>> 0;
  }
  return t;
})();

export function crc32c(buf: Buffer): number {
  let crc = 0xffffffff;
  for (const byte of buf) crc = crcTable[(crc ^ byte) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

export interface WireRecord { key: Buffer | null; value: Buffer | null; timestamp: number }

export interface BatchOptions {
  producerId?: bigint;
  producerEpoch?: number;
  baseSequence?: number;
  attributes?: number;
}

/**
 * Record batch v2 (magic 2), uncompressed:
 *   baseOffset int64 | batchLength int32 | partitionLeaderEpoch int32 | magic int8 | crc uint32 |
 *   attributes int16 | lastOffsetDelta int32 | firstTimestamp int64 | maxTimestamp int64 |
 *   producerId int64 | producerEpoch int16 | baseSequence int32 | records [count int32, record...]
 * The CRC covers everything from attributes to the end.
 */
export function encodeRecordBatch(records: WireRecord[], opts: BatchOptions = {}): Buffer {
  const first = records[0]?.timestamp ?? Date.now();
  const max = records.reduce((m, r) => Math.max(m, r.timestamp), first);
  const body = new WireWriter();
  records.forEach((r, i) => {
    const rec = new WireWriter().int8(0).varint(r.timestamp - first).varint(i).varBytes(r.key).varBytes(r.value).varint(0).build();
    body.varint(rec.length).raw(rec);
  });
  const afterCrc = new WireWriter()
    .int16(opts.attributes ?? 0)
    .int32(records.length - 1)
    .int64(BigInt(first))
    .int64(BigInt(max))
    .int64(opts.producerId ?? -1n)
    .int16(opts.producerEpoch ?? -1)
    .int32(opts.baseSequence ?? -1)
    .int32(records.length)
    .raw(body.build())
    .build();
  const afterLength = new WireWriter().int32(0).int8(2).uint32(crc32c(afterCrc)).raw(afterCrc).build();
  return new WireWriter().int64(0n).int32(afterLength.length).raw(afterLength).build();
}
