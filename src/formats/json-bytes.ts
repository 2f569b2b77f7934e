/**
 * JSON straight into bytes, exactly as `Buffer.from(JSON.stringify(value), 'utf8')` would be.
 * Sinks write one JSON row per output: JSON.stringify makes a string, Buffer.from a second copy
 * (and a pooled buffer with its own object), then the Kafka record batch a third. Rows are flat
 * (numbers, short ASCII strings), so writing them here byte by byte costs about half, and the
 * bytes land where they are sent from (bench/kafka-e2e.bench.ts: stringify + Buffer.from were
 * ~7% of the worker's main thread).
 *
 * Fast paths: plain objects and arrays, safe integers, ASCII strings without escapes, booleans,
 * null. Everything else is JSON.stringify's own text: other numbers (String(n) is what JSON
 * writes), strings that need escapes or are not ASCII, and, for the whole value, any object
 * JSON.stringify would treat specially (toJSON, Date, Map, class instances, boxed primitives).
 */

/** A written value needed JSON.stringify's own handling: the caller writes the whole value that way. */
const FALLBACK = -2;
/** Nothing to write (undefined, a function, a symbol): an object property is left out, an array element is null. */
const NOTHING = -1;

const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Writes the JSON of `value` into `buf` from `at` and returns the end. An end beyond `buf.length`
 * means it did not fit (what lies past the buffer was not written): write it again from `at` into
 * a buffer with room for `end - at` bytes. Returns -1 when JSON.stringify(value) would be
 * undefined; throws what JSON.stringify throws (a BigInt, a cycle).
 */
export function writeJson(buf: Buffer, at: number, value: unknown): number {
  const end = objectPrototypeEnumerates() ? FALLBACK : writeValue(buf, at, value, 0);
  if (end !== FALLBACK) return end;
  const text = JSON.stringify(value) as string | undefined;
  return text === undefined ? NOTHING : writeText(buf, at, text);
}

/** Deeper than this the fast path hands over to JSON.stringify (which also detects cycles). */
const MAX_DEPTH = 32;

function writeValue(buf: Buffer, at: number, v: unknown, depth: number): number {
  switch (typeof v) {
    case 'string':
      return writeString(buf, at, v);
    case 'number':
      return writeNumber(buf, at, v);
    case 'boolean':
      return v ? writeAscii(buf, at, 'true') : writeAscii(buf, at, 'false');
    case 'object': {
      if (v === null) return writeAscii(buf, at, 'null');
      if (depth >= MAX_DEPTH || typeof (v as { toJSON?: unknown }).toJSON === 'function') return FALLBACK;
      if (Array.isArray(v)) return writeArray(buf, at, v, depth + 1);
      const proto: unknown = Object.getPrototypeOf(v);
      if (proto !== Object.prototype && proto !== null) return FALLBACK;
      return writeObject(buf, at, v as Record<string, unknown>, depth + 1);
    }
    case 'undefined':
    case 'function':
    case 'symbol':
      return NOTHING;
    default:
      return FALLBACK; // bigint: JSON.stringify throws, and so will the caller's fallback
  }
}

/** Someone added an enumerable property to Object.prototype (for-in would visit it, JSON.stringify not). */
function objectPrototypeEnumerates(): boolean {
  for (const _ in Object.prototype) return true;
  return false;
}

/** Field names of top-level objects by position: the last one seen there and its `"name":` bytes. */
const KEY_SLOTS = 64;
const keyNames: Array<string | undefined> = new Array<string | undefined>(KEY_SLOTS).fill(undefined);
const keyBytes: Array<Uint8Array | undefined> = new Array<Uint8Array | undefined>(KEY_SLOTS).fill(undefined);

function writeObject(buf: Buffer, at: number, o: Record<string, unknown>, depth: number): number {
  buf[at++] = 0x7b; // {
  let first = true;
  let slot = 0;
  // for-in visits own keys in JSON.stringify's order (integer keys, then insertion order), and
  // no inherited ones: writeJson checked Object.prototype has none (an Object.hasOwn per key cost
  // more than a third of a row).
  for (const k in o) {
    const start = at;
    if (!first) buf[at++] = COMMA;
    if (depth === 1 && slot < KEY_SLOTS) {
      // Rows of one step share their field names, in order: `"name":` comes from a per-position
      // cache (a string compare, then a byte copy) instead of being checked char by char.
      let bytes = keyBytes[slot];
      if (keyNames[slot] !== k || bytes === undefined) {
        keyNames[slot] = k;
        keyBytes[slot] = bytes = Buffer.from(`${JSON.stringify(k)}:`, 'utf8');
      }
      slot++;
      if (at + bytes.length <= buf.length) buf.set(bytes, at); // set() throws past the end
      at += bytes.length;
    } else {
      at = writeString(buf, at, k);
      buf[at++] = COLON;
    }
    const end = writeValue(buf, at, o[k], depth);
    if (end === FALLBACK) return FALLBACK;
    if (end === NOTHING) {
      at = start;
      continue;
    }
    at = end;
    first = false;
  }
  buf[at++] = 0x7d; // }
  return at;
}

function writeArray(buf: Buffer, at: number, a: readonly unknown[], depth: number): number {
  buf[at++] = 0x5b; // [
  for (let i = 0; i < a.length; i++) {
    if (i > 0) buf[at++] = COMMA;
    const end = writeValue(buf, at, a[i], depth);
    if (end === FALLBACK) return FALLBACK;
    at = end === NOTHING ? writeAscii(buf, at, 'null') : end;
  }
  buf[at++] = 0x5d; // ]
  return at;
}

/** JSON writes -0 as 0 and NaN, ±Infinity as null; other numbers as String(n). */
function writeNumber(buf: Buffer, at: number, n: number): number {
  if (!Number.isSafeInteger(n)) return Number.isFinite(n) ? writeAscii(buf, at, String(n)) : writeAscii(buf, at, 'null');
  if (n < 0) {
    buf[at++] = 0x2d; // -
    n = -n;
  }
  if (n < 1e9) return writeDigits(buf, at, n);
  // Above int32: the top digits, then the low nine zero-padded (both halves stay small integers).
  const hi = Math.floor(n / 1e9);
  let lo = n - hi * 1e9;
  at = writeDigits(buf, at, hi);
  for (let i = at + 8; i >= at; i--) {
    const q = (lo / 10) | 0;
    buf[i] = 0x30 + lo - q * 10;
    lo = q;
  }
  return at + 9;
}

/** 0 <= n < 1e9, an integer. */
function writeDigits(buf: Buffer, at: number, n: number): number {
  let digits = 1;
  for (let t = n; t >= 10; t = (t / 10) | 0) digits++;
  for (let i = at + digits - 1; i >= at; i--) {
    const q = (n / 10) | 0;
    buf[i] = 0x30 + n - q * 10;
    n = q;
  }
  return at + digits;
}

/** A quoted string: printable ASCII byte by byte, anything else (escapes, non-ASCII) as JSON.stringify writes it. */
function writeString(buf: Buffer, at: number, s: string): number {
  const start = at;
  buf[at++] = QUOTE;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c > 0x7e || c === QUOTE || c === 0x5c) return writeText(buf, start, JSON.stringify(s));
    buf[at++] = c;
  }
  buf[at++] = QUOTE;
  return at;
}

/** ASCII text (number and literal spellings). */
function writeAscii(buf: Buffer, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[at++] = s.charCodeAt(i);
  return at;
}

/** Any text as UTF-8; only when all of it fits (a partial write would hide the overflow). */
function writeText(buf: Buffer, at: number, s: string): number {
  const length = Buffer.byteLength(s, 'utf8');
  if (at + length <= buf.length) buf.write(s, at, 'utf8');
  return at + length;
}

/** Room for one more value in a buffer that may be too small: at least `need` bytes more than `used`. */
function grown(buf: Buffer, used: number, need: number): Buffer {
  const next = Buffer.allocUnsafe(Math.max(buf.length * 2, used + need * 2));
  buf.copy(next, 0, 0, used);
  return next;
}

/**
 * A growing byte buffer of JSON values and separators, reused from one batch to the next: for a
 * sink whose write of the bytes is over before the next batch starts (the file sink).
 */
export class JsonBytes {
  private buf: Buffer;
  length = 0;

  constructor(initial = 64 * 1024) {
    this.buf = Buffer.allocUnsafe(initial);
  }

  clear(): void {
    this.length = 0;
  }

  /** Appends the JSON of `value`; false (nothing appended) when JSON.stringify(value) would be undefined. */
  json(value: unknown): boolean {
    let end = writeJson(this.buf, this.length, value);
    if (end === NOTHING) return false;
    if (end > this.buf.length) {
      this.buf = grown(this.buf, this.length, end - this.length);
      end = writeJson(this.buf, this.length, value);
    }
    this.length = end;
    return true;
  }

  byte(b: number): void {
    if (this.length === this.buf.length) this.buf = grown(this.buf, this.length, 1);
    this.buf[this.length++] = b;
  }

  /** The bytes so far: a view, valid until the next clear(). */
  bytes(): Buffer {
    return this.buf.subarray(0, this.length);
  }
}

/**
 * Encoded values, each a view into shared chunks that are filled once and never written again: a
 * view stays valid for as long as anything holds it (a produce call still retrying after its
 * caller gave up), and a batch of values costs a few chunk allocations instead of one buffer each.
 */
export class ByteArena {
  private chunk: Buffer;
  private at = 0;

  constructor(private readonly chunkSize = 256 * 1024) {
    this.chunk = Buffer.allocUnsafe(chunkSize);
  }

  /** The JSON of `value` as UTF-8, or undefined when JSON.stringify(value) would be. */
  json(value: unknown): Buffer | undefined {
    let end = writeJson(this.chunk, this.at, value);
    if (end === NOTHING) return undefined;
    if (end > this.chunk.length) {
      this.fresh(end - this.at);
      end = writeJson(this.chunk, 0, value);
    }
    return this.take(end);
  }

  /** Text as UTF-8. */
  text(s: string): Buffer {
    let end = writeAsciiChecked(this.chunk, this.at, s);
    if (end < 0) end = writeText(this.chunk, this.at, s);
    if (end > this.chunk.length) {
      this.fresh(end - this.at);
      end = writeText(this.chunk, 0, s);
    }
    return this.take(end);
  }

  private take(end: number): Buffer {
    const view = this.chunk.subarray(this.at, end);
    this.at = end;
    return view;
  }

  /** A new chunk with room for `need` bytes; the old one stays with the views into it. */
  private fresh(need: number): void {
    this.chunk = Buffer.allocUnsafe(Math.max(this.chunkSize, need));
    this.at = 0;
  }
}

/** ASCII text byte by byte, or -1 (nothing meaningful written) at the first non-ASCII character. */
function writeAsciiChecked(buf: Buffer, at: number, s: string): number {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return -1;
    buf[at++] = c;
  }
  return at;
}
