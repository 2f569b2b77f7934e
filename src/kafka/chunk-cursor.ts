/**
 * A read position over a list of Buffers: a fetch response as it came off the socket (~64 KB
 * pieces; a 12 MB response is ~180 of them). Record batches are decoded straight out of the
 * pieces (record-batch.ts): concatenating each partition's records into one buffer first cost a
 * multi-MB allocation and copy per partition and response (~0.6 ms CPU per 1k records of the
 * pass-through, half of it page faults). Only what straddles two pieces is copied: a batch header,
 * a record, a compressed batch's body.
 */
import { readVarint } from '../kafka-wire/record-batch.js';

const EMPTY = Buffer.alloc(0);
const scratch = { at: 0 };

export class ChunkCursor {
  /** Index of the current piece; `at` is the offset in it, `base` the bytes before it. */
  private i = 0;
  at = 0;
  private base = 0;
  readonly length: number;

  constructor(private readonly chunks: readonly Buffer[]) {
    let n = 0;
    for (const c of chunks) n += c.length;
    this.length = n;
    this.settle();
  }

  get position(): number {
    return this.base + this.at;
  }

  get remaining(): number {
    return this.length - this.base - this.at;
  }

  /** The piece the cursor is in (never at its end, except at the end of all). */
  get chunk(): Buffer {
    return this.chunks[this.i] ?? EMPTY;
  }

  skip(n: number): void {
    this.at += n;
    if (this.at >= this.chunk.length) this.settle();
  }

  /** `n` bytes from here, the cursor not moved: a view when they lie in one piece, else a copy. */
  peek(n: number): Buffer {
    const c = this.chunk;
    if (this.at + n <= c.length) return c.subarray(this.at, this.at + n);
    if (n > this.remaining) throw new RangeError('read past the end of the fetched records');
    const out = Buffer.allocUnsafe(n);
    let i = this.i;
    let at = this.at;
    let done = 0;
    while (done < n) {
      const src = this.chunks[i]!;
      const k = Math.min(src.length - at, n - done);
      src.copy(out, done, at, at + k);
      done += k;
      i++;
      at = 0;
    }
    return out;
  }

  take(n: number): Buffer {
    const out = this.peek(n);
    this.skip(n);
    return out;
  }

  /** A zigzag varint (record-batch.ts readVarint), across pieces if need be. */
  varint(): number {
    const c = this.chunk;
    if (this.at + 5 <= c.length) {
      scratch.at = this.at;
      const v = readVarint(c, scratch);
      this.skip(scratch.at - this.at);
      return v;
    }
    let b: number;
    let z = 0;
    let mul = 1;
    do {
      if (this.remaining <= 0) throw new RangeError('varint overruns its record batch');
      b = this.chunk[this.at]!;
      this.skip(1);
      z += (b & 0x7f) * mul;
      mul *= 128;
    } while (b & 0x80);
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }

  private settle(): void {
    while (this.i < this.chunks.length && this.at >= this.chunks[this.i]!.length) {
      const len = this.chunks[this.i]!.length;
      this.at -= len;
      this.base += len;
      this.i++;
    }
  }
}
