/**
 * Kafka wire writer, the mirror of Reader: `flexible` selects compact strings, bytes and
 * arrays and makes `tags()` write an empty tagged-field section.
 */
export class Writer {
  private buf: Buffer;
  pos = 0;

  constructor(
    public flexible = false,
    initial = 256,
  ) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  private ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.pos + n) size *= 2;
    const next = Buffer.allocUnsafe(size);
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }

  int8(v: number): this {
    this.ensure(1);
    this.buf.writeInt8(v, this.pos);
    this.pos += 1;
    return this;
  }
  bool(v: boolean): this {
    return this.int8(v ? 1 : 0);
  }
  int16(v: number): this {
    this.ensure(2);
    this.buf.writeInt16BE(v, this.pos);
    this.pos += 2;
    return this;
  }
  int32(v: number): this {
    this.ensure(4);
    this.buf.writeInt32BE(v, this.pos);
    this.pos += 4;
    return this;
  }
  uint32(v: number): this {
    this.ensure(4);
    this.buf.writeUInt32BE(v >>> 0, this.pos);
    this.pos += 4;
    return this;
  }
  int64(v: number | bigint): this {
    this.ensure(8);
    this.buf.writeBigInt64BE(typeof v === 'bigint' ? v : BigInt(v), this.pos);
    this.pos += 8;
    return this;
  }
  uuid(v?: Buffer): this {
    this.ensure(16);
    if (v) v.copy(this.buf, this.pos, 0, 16);
    else this.buf.fill(0, this.pos, this.pos + 16);
    this.pos += 16;
    return this;
  }
  uvarint(v: number): this {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
    return this;
  }
  varint(v: number): this {
    return this.uvarint(v < 0 ? -v * 2 - 1 : v * 2);
  }

  raw(b: Uint8Array): this {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  nullableString(s: string | null | undefined): this {
    if (s === null || s === undefined) {
      return this.flexible ? this.uvarint(0) : this.int16(-1);
    }
    const len = Buffer.byteLength(s);
    if (this.flexible) this.uvarint(len + 1);
    else this.int16(len);
    this.ensure(len);
    this.buf.write(s, this.pos, 'utf8');
    this.pos += len;
    return this;
  }
  string(s: string): this {
    return this.nullableString(s);
  }
  /** Classic int16 string even in flexible messages. */
  classicString(s: string | null): this {
    const f = this.flexible;
    this.flexible = false;
    this.nullableString(s);
    this.flexible = f;
    return this;
  }

  nullableBytes(b: Uint8Array | null | undefined): this {
    if (b === null || b === undefined) return this.flexible ? this.uvarint(0) : this.int32(-1);
    if (this.flexible) this.uvarint(b.length + 1);
    else this.int32(b.length);
    return this.raw(b);
  }
  bytes(b: Uint8Array): this {
    return this.nullableBytes(b);
  }

  nullableArray<T>(items: readonly T[] | null | undefined, item: (w: Writer, v: T) => void): this {
    if (items === null || items === undefined) return this.flexible ? this.uvarint(0) : this.int32(-1);
    if (this.flexible) this.uvarint(items.length + 1);
    else this.int32(items.length);
    for (const v of items) item(this, v);
    return this;
  }
  array<T>(items: readonly T[], item: (w: Writer, v: T) => void): this {
    return this.nullableArray(items, item);
  }
  int32Array(items: readonly number[]): this {
    return this.array(items, (w, v) => w.int32(v));
  }

  /** Empty tagged-field section in flexible versions. */
  tags(): this {
    return this.flexible ? this.uvarint(0) : this;
  }

  /** Reserve 4 bytes for a size written later. */
  reserve32(): number {
    const at = this.pos;
    this.int32(0);
    return at;
  }
  patch32(at: number, v: number): void {
    this.buf.writeInt32BE(v, at);
  }

  result(): Buffer {
    return this.buf.subarray(0, this.pos);
  }
}
