/**
 * The writer the window codecs encode with. Same wire format as state/codec/bytes.ts's
 * ByteWriter, so ByteReader decodes it: varint = unsigned LEB128 (≤ 2^53), svarint = zigzag,
 * f64 little-endian, string = varint UTF-8 length + UTF-8.
 *
 * Why not ByteWriter: a checkpoint encodes every dirty head and slice (about two per record
 * processed), so the writer is on the hot path. This one keeps one buffer per codec and reuses
 * it for every encode (only finish() allocates: the exact-size copy handed to the store), and
 * writes ASCII strings (what canonical count_distinct values usually are) without a TextEncoder
 * round-trip.
 */

/** What the aggregate and tracker encoders write to; ByteWriter satisfies it too. */
export interface ByteSink {
  u8(v: number): this;
  varint(v: number): this;
  svarint(v: number): this;
  f64(v: number): this;
  bytes(b: Uint8Array): this;
  string(s: string): this;
}

const encoder = new TextEncoder();
/** A buffer grown past this is dropped after the encode that needed it. */
const KEEP_BYTES = 1 << 16;

export class StateWriter implements ByteSink {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private pos = 0;

  /** Starts a new value (the previous one must have been finished). */
  begin(): this {
    this.pos = 0;
    return this;
  }

  /** The bytes written since begin(), as a new array. */
  finish(): Uint8Array {
    const out = this.buf.slice(0, this.pos);
    this.pos = 0;
    if (this.buf.length > KEEP_BYTES) this.reset(256);
    return out;
  }

  private reset(size: number): void {
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.pos));
    this.buf = next;
    this.view = new DataView(next.buffer);
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      let size = this.buf.length * 2;
      while (size < this.pos + n) size *= 2;
      this.reset(size);
    }
  }

  u8(v: number): this {
    if (this.pos >= this.buf.length) this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  /** Unsigned varint, 0 ≤ v ≤ 2^53. */
  varint(v: number): this {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    const buf = this.buf;
    let pos = this.pos;
    if (v < 0x80000000) {
      while (v >= 0x80) {
        buf[pos++] = (v & 0x7f) | 0x80;
        v >>>= 7;
      }
    } else {
      while (v >= 0x80) {
        buf[pos++] = (v % 0x80) | 0x80;
        v = Math.floor(v / 0x80);
      }
    }
    buf[pos++] = v;
    this.pos = pos;
    return this;
  }

  /** Signed integer with |v| < 2^52 as zigzag varint (doubling beyond that would lose bits). */
  svarint(v: number): this {
    if (!(Math.abs(v) < 2 ** 52) || !Number.isInteger(v)) throw new RangeError(`svarint: ${v} is not an integer with |v| < 2^52`);
    return this.varint(v < 0 ? -v * 2 - 1 : v * 2);
  }

  f64(v: number): this {
    if (this.pos + 8 > this.buf.length) this.ensure(8);
    this.view.setFloat64(this.pos, v, true);
    this.pos += 8;
    return this;
  }

  bytes(b: Uint8Array): this {
    this.varint(b.length);
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
    return this;
  }

  string(s: string): this {
    const n = s.length;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) return this.bytes(encoder.encode(s));
    }
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
    return this;
  }
}
