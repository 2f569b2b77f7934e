/**
 * Minimal binary writer/reader for compact state values.
 * varint = unsigned LEB128 (up to 2^53); zigzag for signed (|v| < 2^52); f64 little-endian;
 * strings = varint byte length + UTF-8.
 *
 * Hot path (every dirty entry at every checkpoint): no DataView on small arrays (reading
 * `.buffer` of a small typed array makes V8 move it off-heap), f64 through one shared scratch.
 */
const encoder = new TextEncoder();
const decoder = new TextDecoder();
const scratch = new Float64Array(1);
const scratchBytes = new Uint8Array(scratch.buffer);
const littleEndian = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** What value encoders write to (ByteWriter; test doubles may implement it too). */
export interface ByteSink {
  u8(v: number): this;
  varint(v: number): this;
  svarint(v: number): this;
  f64(v: number): this;
  bytes(b: Uint8Array): this;
  string(s: string): this;
}

/** A buffer grown past this is dropped at the next begin(), so one huge value doesn't pin memory. */
const KEEP_BYTES = 1 << 16;

/**
 * One writer may be reused for many values (a codec keeps one): begin() starts a value, finish()
 * returns an exact-size copy; only finish() allocates.
 */
/** A buffer of twice (or more) buf's size holding its first `used` bytes, with room for `more` after them. */
export function grown(buf: Uint8Array, used: number, more: number): Uint8Array {
  let size = Math.max(1, buf.length) * 2;
  while (size < used + more) size *= 2;
  const next = new Uint8Array(size);
  next.set(buf.subarray(0, used));
  return next;
}

export class ByteWriter implements ByteSink {
  private buf: Uint8Array;
  private pos = 0;

  constructor(initial = 64) {
    this.buf = new Uint8Array(initial);
  }

  /** Start a new value in the same buffer. */
  begin(): this {
    this.pos = 0;
    if (this.buf.length > KEEP_BYTES) this.buf = new Uint8Array(256);
    return this;
  }

  private ensure(n: number): void {
    if (this.pos + n > this.buf.length) this.buf = grown(this.buf, this.pos, n);
  }

  u8(v: number): this {
    this.ensure(1);
    this.buf[this.pos++] = v;
    return this;
  }

  /** Unsigned varint, 0 <= v <= 2^53. */
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
    this.ensure(8);
    scratch[0] = v;
    const b = this.buf;
    const p = this.pos;
    if (littleEndian) {
      for (let i = 0; i < 8; i++) b[p + i] = scratchBytes[i]!;
    } else {
      for (let i = 0; i < 8; i++) b[p + i] = scratchBytes[7 - i]!;
    }
    this.pos = p + 8;
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
    // ASCII fast path (canonical distinct values, ids): one byte per char, no TextEncoder.
    const n = s.length;
    for (let i = 0; i < n; i++) {
      if (s.charCodeAt(i) > 0x7f) return this.bytes(encoder.encode(s));
    }
    return this.latin1(s);
  }

  /** A latin1 string (every char <= 0xff: bytes held as a string) as varint length + its bytes. */
  latin1(s: string): this {
    const n = s.length;
    this.varint(n);
    this.ensure(n);
    const buf = this.buf;
    let pos = this.pos;
    for (let i = 0; i < n; i++) buf[pos++] = s.charCodeAt(i);
    this.pos = pos;
    return this;
  }

  finish(): Uint8Array {
    return this.buf.slice(0, this.pos);
  }
}

export class ByteReader {
  private pos = 0;

  constructor(private readonly buf: Uint8Array) {}

  get done(): boolean {
    return this.pos >= this.buf.length;
  }

  u8(): number {
    if (this.pos >= this.buf.length) throw new RangeError('ByteReader: read past end');
    return this.buf[this.pos++]!;
  }

  varint(): number {
    let result = 0;
    let mul = 1;
    for (;;) {
      const b = this.u8();
      result += (b & 0x7f) * mul;
      if (b < 0x80) return result;
      mul *= 0x80;
    }
  }

  svarint(): number {
    const z = this.varint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  f64(): number {
    if (this.pos + 8 > this.buf.length) throw new RangeError('ByteReader: read past end');
    const b = this.buf;
    const p = this.pos;
    if (littleEndian) {
      for (let i = 0; i < 8; i++) scratchBytes[i] = b[p + i]!;
    } else {
      for (let i = 0; i < 8; i++) scratchBytes[7 - i] = b[p + i]!;
    }
    this.pos = p + 8;
    return scratch[0]!;
  }

  /** Moves past what bytes() would return. */
  skipBytes(): void {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new RangeError('ByteReader: read past end');
    this.pos += n;
  }

  bytes(): Uint8Array {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new RangeError('ByteReader: read past end');
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  string(): string {
    const n = this.varint();
    if (this.pos + n > this.buf.length) throw new RangeError('ByteReader: read past end');
    const b = this.buf;
    const start = this.pos;
    this.pos += n;
    if (n < 64) {
      let s = '';
      for (let i = start; i < start + n; i++) {
        const c = b[i]!;
        if (c > 0x7f) return decoder.decode(b.subarray(start, start + n));
        s += String.fromCharCode(c);
      }
      return s;
    }
    return decoder.decode(b.subarray(start, start + n));
  }
}
