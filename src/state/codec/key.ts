/**
 * Canonical record-key codec: one Value -> one byte string, so equal keys share state and
 * unequal keys never do (42 and '42' are different keys; {a,b} and {b,a} are the same key).
 *
 *   null      [0x00]
 *   false     [0x01]
 *   true      [0x02]
 *   integer   [0x03][zigzag LEB128]          |v| < 2^52 (zigzag stays exact); -0 is 0
 *   number    [0x04][f64 big-endian]         everything else: fractions, huge, ±Infinity, NaN
 *   string    [0x05][UTF-8 bytes]            no length: a record key is the whole byte string
 *   composite [0x06][canonical JSON]         arrays/objects, object keys sorted at every depth
 *
 * keyToPartitionBytes is a different thing: the bytes a Kafka producer would send as the message
 * key for this value, so murmur2 partitioning agrees with other clients writing the same topic.
 */
import type { Value } from '../../core/record.js';
import { TributaryError } from '../../core/errors.js';

const TAG_NULL = 0x00;
const TAG_FALSE = 0x01;
const TAG_TRUE = 0x02;
const TAG_INT = 0x03;
const TAG_FLOAT = 0x04;
const TAG_STRING = 0x05;
const TAG_JSON = 0x06;
/** Zigzag doubles the value: beyond 2^52 that exceeds 2^53 and loses bits. */
const ZIGZAG_EXACT = 2 ** 52;

const encoder = new TextEncoder();
const decoder = new TextDecoder('utf-8', { fatal: true });

/** JSON with object keys sorted at every depth, so structurally equal values serialize alike. */
export function canonicalJson(v: Value): string {
  if (v === null || typeof v !== 'object') return JSON.stringify(v) ?? 'null';
  if (Array.isArray(v)) return '[' + v.map((x) => canonicalJson(x === undefined ? null : x)).join(',') + ']';
  const fields = Object.keys(v)
    .filter((k) => v[k] !== undefined)
    .sort()
    .map((k) => JSON.stringify(k) + ':' + canonicalJson(v[k]!));
  return '{' + fields.join(',') + '}';
}

export function encodeKey(v: Value): Uint8Array {
  if (v === null) return Uint8Array.of(TAG_NULL);
  switch (typeof v) {
    case 'boolean':
      return Uint8Array.of(v ? TAG_TRUE : TAG_FALSE);
    case 'number': {
      if (Number.isInteger(v) && Math.abs(v) < ZIGZAG_EXACT) return intKey(v);
      const out = new Uint8Array(9);
      out[0] = TAG_FLOAT;
      // One NaN bit pattern, whatever payload the engine carries.
      if (Number.isNaN(v)) out.set([0x7f, 0xf8, 0, 0, 0, 0, 0, 0], 1);
      else {
        // A scratch view: `out.buffer` would move a small on-heap array off-heap, the dearest step here.
        scratchView.setFloat64(0, v, false);
        out.set(scratchBytes, 1);
      }
      return out;
    }
    case 'string': {
      const ascii = asciiBytes(v, 1);
      if (ascii !== undefined) {
        ascii[0] = TAG_STRING;
        return ascii;
      }
      const s = encoder.encode(v);
      const out = new Uint8Array(s.length + 1);
      out[0] = TAG_STRING;
      out.set(s, 1);
      return out;
    }
    case 'object': {
      const s = encoder.encode(canonicalJson(v));
      const out = new Uint8Array(s.length + 1);
      out[0] = TAG_JSON;
      out.set(s, 1);
      return out;
    }
    default:
      throw new TributaryError('TRIB_RECORD_INVALID', `cannot use a ${typeof v} as a key`);
  }
}

export function decodeKey(b: Uint8Array): Value {
  if (b.length === 0) throw corrupt('empty key');
  try {
    switch (b[0]) {
      case TAG_NULL:
        return null;
      case TAG_FALSE:
        return false;
      case TAG_TRUE:
        return true;
      case TAG_INT:
        return readIntKey(b);
      case TAG_FLOAT:
        if (b.length !== 9) throw corrupt('float key must be 9 bytes');
        for (let i = 0; i < 8; i++) scratchBytes[i] = b[i + 1]!;
        return scratchView.getFloat64(0, false);
      case TAG_STRING:
        return asciiString(b, 1) ?? decoder.decode(b.subarray(1));
      case TAG_JSON:
        return JSON.parse(decoder.decode(b.subarray(1))) as Value;
      default:
        throw corrupt(`unknown key tag 0x${b[0]!.toString(16)}`);
    }
  } catch (err) {
    if (err instanceof TributaryError) throw err;
    throw corrupt(err instanceof Error ? err.message : String(err), err);
  }
}

/**
 * The message-key bytes a Kafka producer would send for this value: strings as UTF-8, numbers and
 * booleans as their decimal/string form (what a string serializer writes), composites as
 * canonical JSON.
 */
export function keyToPartitionBytes(v: Value): Uint8Array {
  if (typeof v === 'string') return asciiBytes(v, 0) ?? encoder.encode(v);
  if (typeof v === 'number' || typeof v === 'boolean') return encoder.encode(String(v));
  return encoder.encode(canonicalJson(v));
}

const scratchBytes = new Uint8Array(8);
const scratchView = new DataView(scratchBytes.buffer);

/**
 * Reusable output for the hot paths that encode a record's key and are done with the bytes before
 * they encode the next one (a window step per record, keyBy's partition choice). Short keys land
 * in one buffer seen through one view per length, made once: no allocation per record. Bytes
 * returned by the *Into functions are valid until the next call with the same scratch; whoever
 * keeps them must copy them (the state cache and the timers do).
 */
export class KeyScratch {
  private readonly buf = new Uint8Array(ASCII_FAST_MAX + 16);
  private readonly views: Uint8Array[] = [];

  /** The scratch's first n bytes (n ≤ ASCII_FAST_MAX + 16) after `fill` wrote them. */
  bytes(n: number): Uint8Array {
    return (this.views[n] ??= this.buf.subarray(0, n));
  }

  /** Writes `s` (after `tag`, unless it is -1) if it is short pure ASCII; returns the length written, or -1. */
  ascii(s: string, tag: number): number {
    const n = s.length;
    if (n > ASCII_FAST_MAX) return -1;
    const buf = this.buf;
    const at = tag < 0 ? 0 : 1;
    buf[0] = tag;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c > 0x7f) return -1;
      buf[at + i] = c;
    }
    return at + n;
  }

  /** Writes [TAG_INT][zigzag LEB128] of a safe integer |v| < 2^52; returns its length. */
  int(v: number): number {
    return writeIntKey(this.buf, v);
  }
}

/** encodeKey(v), in `scratch` when short (see KeyScratch: valid until its next use). */
export function encodeKeyInto(v: Value, scratch: KeyScratch): Uint8Array {
  if (typeof v === 'string') {
    const n = scratch.ascii(v, TAG_STRING);
    if (n >= 0) return scratch.bytes(n);
  } else if (typeof v === 'number' && Number.isInteger(v) && Math.abs(v) < ZIGZAG_EXACT) {
    return scratch.bytes(scratch.int(v));
  }
  return encodeKey(v);
}

/** keyToPartitionBytes(v), in `scratch` when short (see KeyScratch: valid until its next use). */
export function keyToPartitionBytesInto(v: Value, scratch: KeyScratch): Uint8Array {
  if (typeof v === 'string') {
    const n = scratch.ascii(v, -1);
    if (n >= 0) return scratch.bytes(n);
  }
  return keyToPartitionBytes(v);
}

/** [TAG_INT][zigzag LEB128], the layout ByteWriter.svarint writes (-0 as 0). */
function intKey(v: number): Uint8Array {
  let n = 1;
  for (let t = v < 0 ? -v * 2 - 1 : v * 2; t >= 0x80; t = Math.floor(t / 0x80)) n++;
  const out = new Uint8Array(1 + n);
  writeIntKey(out, v);
  return out;
}

/** Writes [TAG_INT][zigzag LEB128] of v at the start of `out` (room enough); returns its length. */
function writeIntKey(out: Uint8Array, v: number): number {
  let z = v < 0 ? -v * 2 - 1 : v === 0 ? 0 : v * 2;
  out[0] = TAG_INT;
  let i = 1;
  while (z >= 0x80) {
    out[i++] = (z % 0x80) | 0x80;
    z = Math.floor(z / 0x80);
  }
  out[i] = z;
  return i + 1;
}

function readIntKey(b: Uint8Array): number {
  let z = 0;
  let mul = 1;
  for (let i = 1; ; i++) {
    if (i >= b.length) throw corrupt('integer key ends inside its varint');
    const byte = b[i]!;
    z += (byte & 0x7f) * mul;
    if (byte < 0x80) break;
    mul *= 0x80;
  }
  return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
}

/** Keys are short and mostly ASCII: a plain loop beats TextEncoder's call and copy there. */
const ASCII_FAST_MAX = 64;

/** `s` as bytes after `skip` reserved leading bytes, if it is short pure ASCII (its UTF-8 then); else undefined. */
function asciiBytes(s: string, skip: number): Uint8Array | undefined {
  const n = s.length;
  if (n > ASCII_FAST_MAX) return undefined;
  const out = new Uint8Array(n + skip);
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c > 0x7f) return undefined;
    out[i + skip] = c;
  }
  return out;
}

/** The bytes from `from` as a string if they are short pure ASCII; else undefined (decode them as UTF-8). */
function asciiString(b: Uint8Array, from: number): string | undefined {
  const n = b.length - from;
  if (n > ASCII_FAST_MAX) return undefined;
  let out = '';
  for (let i = from; i < b.length; i++) {
    const c = b[i]!;
    if (c > 0x7f) return undefined;
    out += String.fromCharCode(c);
  }
  return out;
}

function corrupt(detail: string, cause?: unknown): TributaryError {
  return new TributaryError('TRIB_STATE_IO', `corrupt record key in state: ${detail}`, { cause });
}
