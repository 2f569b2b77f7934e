/**
 * Kafka wire reader. One instance reads one request body; `flexible` switches strings,
 * bytes and arrays to their compact (unsigned-varint length + 1) forms and makes
 * `tags()` skip a tagged-field section, so one decode function serves every version.
 */
import { TributaryError } from '../../core/errors.js';

export class ProtocolError extends TributaryError {
  constructor(message: string) {
    super('TRIB_BROKER_PROTOCOL', message);
    this.name = 'ProtocolError';
  }
}

export class Reader {
  pos: number;

  constructor(
    readonly buf: Buffer,
    public flexible = false,
    start = 0,
  ) {
    this.pos = start;
  }

  get remaining(): number {
    return this.buf.length - this.pos;
  }

  private need(n: number): number {
    if (n < 0 || this.pos + n > this.buf.length) {
      throw new ProtocolError(`truncated: need ${n} bytes at ${this.pos}, have ${this.buf.length - this.pos}`);
    }
    const at = this.pos;
    this.pos += n;
    return at;
  }

  int8(): number {
    return this.buf.readInt8(this.need(1));
  }
  bool(): boolean {
    return this.int8() !== 0;
  }
  int16(): number {
    return this.buf.readInt16BE(this.need(2));
  }
  int32(): number {
    return this.buf.readInt32BE(this.need(4));
  }
  uint32(): number {
    return this.buf.readUInt32BE(this.need(4));
  }
  /** int64 as a JS number: offsets and timestamps stay far below 2^53. */
  int64(): number {
    return Number(this.buf.readBigInt64BE(this.need(8)));
  }
  uuid(): Buffer {
    const at = this.need(16);
    return this.buf.subarray(at, at + 16);
  }

  uvarint(): number {
    let value = 0;
    let mul = 1;
    for (let i = 0; i < 10; i++) {
      const b = this.buf[this.need(1)];
      value += (b & 0x7f) * mul;
      if ((b & 0x80) === 0) return value;
      mul *= 128;
    }
    throw new ProtocolError('varint too long');
  }
  /** zigzag varint/varlong (records use these). */
  varint(): number {
    const v = this.uvarint();
    return v % 2 === 0 ? v / 2 : -(v + 1) / 2;
  }

  /** Length prefix of a compact or classic string/bytes; -1 means null. */
  private length(classic16: boolean): number {
    if (this.flexible) return this.uvarint() - 1;
    return classic16 ? this.int16() : this.int32();
  }

  nullableString(): string | null {
    const n = this.length(true);
    if (n < 0) return null;
    const at = this.need(n);
    return this.buf.toString('utf8', at, at + n);
  }
  string(): string {
    const s = this.nullableString();
    if (s === null) throw new ProtocolError('null where a string is required');
    return s;
  }
  /** Classic int16 string even in flexible messages (the request header's client_id). */
  classicNullableString(): string | null {
    const n = this.int16();
    if (n < 0) return null;
    const at = this.need(n);
    return this.buf.toString('utf8', at, at + n);
  }

  nullableBytes(): Buffer | null {
    const n = this.length(false);
    if (n < 0) return null;
    const at = this.need(n);
    return this.buf.subarray(at, at + n);
  }
  bytes(): Buffer {
    return this.nullableBytes() ?? Buffer.alloc(0);
  }

  nullableArray<T>(item: (r: Reader) => T): T[] | null {
    const n = this.flexible ? this.uvarint() - 1 : this.int32();
    if (n < 0) return null;
    if (n > this.remaining) throw new ProtocolError(`array length ${n} exceeds the frame`);
    const out: T[] = [];
    for (let i = 0; i < n; i++) out.push(item(this));
    return out;
  }
  array<T>(item: (r: Reader) => T): T[] {
    return this.nullableArray(item) ?? [];
  }

  /** Skip a tagged-field section (flexible versions only); we define no tags of our own. */
  tags(): void {
    if (!this.flexible) return;
    const count = this.uvarint();
    for (let i = 0; i < count; i++) {
      this.uvarint();
      const size = this.uvarint();
      this.need(size);
    }
  }
}
