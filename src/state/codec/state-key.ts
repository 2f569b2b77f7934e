/**
 * LevelDB key layout. All integers big-endian and fixed width, so byte order = tuple order and
 * one (kind, step, partition) scope is one contiguous key range.
 *
 *   head   [0x10][step u16][partition u16][record key ...]
 *   slice  [0x11][step u16][partition u16][key length u16][record key][slice start t64]
 *   kv     [0x12][step u16][partition u16][record key ...]
 *   timer  [0x13][step u16][partition u16][time t64][record key ...]   (before timer pages; read once to migrate)
 *   timers [0x14][step u16][partition u16][page start t64]           one page of timers (codec/timer-page.ts)
 *   meta   [0x01][name UTF-8 ...]        fingerprints, step-id registry, checkpoint, format
 *
 *   step   u16 assigned to a topology step id on first use, persisted in meta (step:<id>)
 *   t64    signed epoch ms as u64 + 2^63 (order-preserving); -Infinity = 0, +Infinity = 2^64-1
 *
 * A slice key carries the record key's length so one key's slices are contiguous and sorted by
 * start (without it, key "a" + start and key "ab" + start would interleave). Record keys in a
 * scope therefore sort by (length, bytes) — nothing depends on record-key order, only on time
 * order within a key. Heads, kv entries and timers end with the key, so they need no length.
 */
import { TributaryError } from '../../core/errors.js';

export const KIND_META = 0x01;
export const KIND_HEAD = 0x10;
export const KIND_SLICE = 0x11;
export const KIND_KV = 0x12;
export const KIND_TIMER = 0x13;
export const KIND_TIMER_PAGE = 0x14;

export type ScopedKind = typeof KIND_HEAD | typeof KIND_SLICE | typeof KIND_KV | typeof KIND_TIMER | typeof KIND_TIMER_PAGE;

export type DecodedStateKey =
  | { kind: 'head' | 'kv'; step: number; partition: number; key: Uint8Array }
  | { kind: 'slice'; step: number; partition: number; key: Uint8Array; start: number }
  | { kind: 'timer'; step: number; partition: number; time: number; key: Uint8Array }
  | { kind: 'timer-page'; step: number; partition: number; start: number }
  | { kind: 'meta'; name: string };

const HEADER = 5;
const TWO32 = 2 ** 32;
const TWO21 = 2 ** 21;
const TWO63 = 2 ** 63;
const OFFSET63 = 2n ** 63n;
const MAX_KEY = 0xffff;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

function header(kind: ScopedKind, step: number, partition: number, rest: number): Uint8Array {
  assertScope(step, partition);
  const out = new Uint8Array(HEADER + rest);
  out[0] = kind;
  out[1] = step >>> 8;
  out[2] = step & 0xff;
  out[3] = partition >>> 8;
  out[4] = partition & 0xff;
  return out;
}

/**
 * A record key as its bytes, or as the latin1 string of its bytes (one char per byte, 0..255):
 * the form the state cache and the timers keep it in, so they need no copy of the bytes too.
 */
export type RecordKeyBytes = Uint8Array | string;

function putKey(out: Uint8Array, at: number, key: RecordKeyBytes): void {
  if (typeof key !== 'string') {
    out.set(key, at);
    return;
  }
  for (let i = 0; i < key.length; i++) out[at + i] = key.charCodeAt(i);
}

export function headKey(step: number, partition: number, key: RecordKeyBytes): Uint8Array {
  return entryKey(KIND_HEAD, step, partition, key, Number.NaN);
}

export function kvKey(step: number, partition: number, key: RecordKeyBytes): Uint8Array {
  return entryKey(KIND_KV, step, partition, key, Number.NaN);
}

/** The LevelDB key of a head, kv or slice entry (`start` NaN but for a slice), in a new array. */
function entryKey(kind: typeof KIND_HEAD | typeof KIND_KV | typeof KIND_SLICE, step: number, partition: number, key: RecordKeyBytes, start: number): Uint8Array {
  const out = new Uint8Array(entryKeyLength(kind, key));
  writeEntryKey(out, 0, kind, step, partition, key, start);
  return out;
}

/** Bytes of the LevelDB key of a head, kv or slice entry of this record key. */
export function entryKeyLength(kind: typeof KIND_HEAD | typeof KIND_KV | typeof KIND_SLICE, key: RecordKeyBytes): number {
  return kind === KIND_SLICE ? HEADER + 2 + key.length + 8 : HEADER + key.length;
}

/**
 * Writes the LevelDB key of a head, kv or slice entry (`start` is read for a slice only) into
 * `out` at `at` (entryKeyLength bytes): a checkpoint packs every dirty entry's key into one
 * buffer (level-bytes-store.ts PackedOps) instead of an array per key.
 */
export function writeEntryKey(out: Uint8Array, at: number, kind: typeof KIND_HEAD | typeof KIND_KV | typeof KIND_SLICE, step: number, partition: number, key: RecordKeyBytes, start: number): void {
  if (kind === KIND_SLICE) assertSliceKey(key, start);
  assertScope(step, partition);
  out[at] = kind;
  out[at + 1] = step >>> 8;
  out[at + 2] = step & 0xff;
  out[at + 3] = partition >>> 8;
  out[at + 4] = partition & 0xff;
  if (kind !== KIND_SLICE) {
    putKey(out, at + HEADER, key);
    return;
  }
  out[at + HEADER] = key.length >>> 8;
  out[at + HEADER + 1] = key.length & 0xff;
  putKey(out, at + HEADER + 2, key);
  writeTime(out, at + HEADER + 2 + key.length, start);
}

/**
 * Throws TRIB_RECORD_INVALID for a record key too long for a slice key (TRIB_INTERNAL for a start
 * that is no time). The cache builds LevelDB
 * keys only at checkpoint, so it checks when the slice is touched: the record is dead-lettered
 * instead of every later checkpoint failing.
 */
export function assertSliceKey(key: RecordKeyBytes, start: number): void {
  if (key.length > MAX_KEY) {
    throw new TributaryError('TRIB_RECORD_INVALID', `record key of ${key.length} bytes is too long for window state (max ${MAX_KEY})`);
  }
  if (!Number.isSafeInteger(start)) assertTime(start);
}

/** Throws TRIB_INTERNAL unless writeTime can encode t. */
export function assertTime(t: number): void {
  if (Number.isSafeInteger(t) || t === Number.POSITIVE_INFINITY || t === Number.NEGATIVE_INFINITY) return;
  if (Number.isInteger(t) && t > -TWO63 && t < TWO63) return;
  throw internal(`time ${t} is not an integer number of milliseconds in (-2^63, 2^63)`);
}

/** Throws TRIB_INTERNAL unless step and partition fit the key header (u16 each). */
export function assertScope(step: number, partition: number): void {
  if (!isU16(step)) throw internal(`state step number ${step} out of range 0..65535`);
  if (!isU16(partition)) throw internal(`partition ${partition} out of range 0..65535`);
}

export function sliceKey(step: number, partition: number, key: RecordKeyBytes, start: number): Uint8Array {
  return entryKey(KIND_SLICE, step, partition, key, start);
}

export function timerKey(step: number, partition: number, time: number, key: RecordKeyBytes): Uint8Array {
  const out = header(KIND_TIMER, step, partition, 8 + key.length);
  writeTime(out, HEADER, time);
  putKey(out, HEADER + 8, key);
  return out;
}

export function timerPageKey(step: number, partition: number, start: number): Uint8Array {
  const out = header(KIND_TIMER_PAGE, step, partition, 8);
  writeTime(out, HEADER, start);
  return out;
}

export function metaKey(name: string): Uint8Array {
  const s = encoder.encode(name);
  const out = new Uint8Array(1 + s.length);
  out[0] = KIND_META;
  out.set(s, 1);
  return out;
}

/** The key range [gte, lt) holding every entry of one kind for one (step, partition). */
export function scopeRange(kind: ScopedKind, step: number, partition: number): { gte: Uint8Array; lt: Uint8Array } {
  const gte = header(kind, step, partition, 0);
  return { gte, lt: prefixEnd(gte) };
}

/** The key range holding every meta entry whose name starts with `prefix`. */
export function metaRange(prefix = ''): { gte: Uint8Array; lt: Uint8Array } {
  const gte = metaKey(prefix);
  return { gte, lt: prefixEnd(gte) };
}

export function decodeStateKey(b: Uint8Array): DecodedStateKey {
  const kind = b[0];
  if (kind === KIND_META) return { kind: 'meta', name: decoder.decode(b.subarray(1)) };
  if (b.length < HEADER) throw corrupt(b, 'shorter than its header');
  const step = (b[1]! << 8) | b[2]!;
  const partition = (b[3]! << 8) | b[4]!;
  switch (kind) {
    case KIND_HEAD:
      return { kind: 'head', step, partition, key: copy(b, HEADER) };
    case KIND_KV:
      return { kind: 'kv', step, partition, key: copy(b, HEADER) };
    case KIND_SLICE: {
      const len = (b[HEADER]! << 8) | b[HEADER + 1]!;
      if (b.length !== HEADER + 2 + len + 8) throw corrupt(b, 'slice key length mismatch');
      return { kind: 'slice', step, partition, key: copy(b, HEADER + 2, HEADER + 2 + len), start: readTime(b, HEADER + 2 + len) };
    }
    case KIND_TIMER:
      if (b.length < HEADER + 8) throw corrupt(b, 'timer key too short');
      return { kind: 'timer', step, partition, time: readTime(b, HEADER), key: copy(b, HEADER + 8) };
    case KIND_TIMER_PAGE:
      if (b.length !== HEADER + 8) throw corrupt(b, 'timer page key length mismatch');
      return { kind: 'timer-page', step, partition, start: readTime(b, HEADER) };
    default:
      throw corrupt(b, `unknown kind 0x${(kind ?? 0).toString(16)}`);
  }
}

/**
 * Writes epoch ms as an order-preserving u64 at `off`. Safe integers (every real timestamp) take
 * the float-arithmetic path; larger integers go through BigInt.
 */
export function writeTime(out: Uint8Array, off: number, t: number): void {
  if (Number.isSafeInteger(t)) {
    // Byte by byte: a DataView per call costs more than the rest of key building together.
    const hi = Math.floor(t / TWO32);
    const h = (hi + 0x80000000) >>> 0;
    const l = t - hi * TWO32;
    out[off] = h >>> 24;
    out[off + 1] = (h >>> 16) & 0xff;
    out[off + 2] = (h >>> 8) & 0xff;
    out[off + 3] = h & 0xff;
    out[off + 4] = l >>> 24;
    out[off + 5] = (l >>> 16) & 0xff;
    out[off + 6] = (l >>> 8) & 0xff;
    out[off + 7] = l & 0xff;
  } else if (t === Number.POSITIVE_INFINITY) {
    out.fill(0xff, off, off + 8);
  } else if (t === Number.NEGATIVE_INFINITY) {
    out.fill(0, off, off + 8);
  } else if (Number.isInteger(t) && t > -TWO63 && t < TWO63) {
    new DataView(out.buffer, out.byteOffset, out.byteLength).setBigUint64(off, BigInt(t) + OFFSET63, false);
  } else {
    throw internal(`time ${t} is not an integer number of milliseconds in (-2^63, 2^63)`);
  }
}

export function readTime(b: Uint8Array, off: number): number {
  const hiU = ((b[off]! << 24) | (b[off + 1]! << 16) | (b[off + 2]! << 8) | b[off + 3]!) >>> 0;
  const lo = ((b[off + 4]! << 24) | (b[off + 5]! << 16) | (b[off + 6]! << 8) | b[off + 7]!) >>> 0;
  const hi = hiU - 0x80000000;
  if (hi >= -TWO21 && hi < TWO21) return hi * TWO32 + lo;
  if (hiU === 0xffffffff && lo === 0xffffffff) return Number.POSITIVE_INFINITY;
  if (hiU === 0 && lo === 0) return Number.NEGATIVE_INFINITY;
  return Number(new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(off, false) - OFFSET63);
}

/** The smallest byte string greater than every string starting with `prefix`. */
export function prefixEnd(prefix: Uint8Array): Uint8Array {
  const out = new Uint8Array(prefix);
  for (let i = out.length - 1; i >= 0; i--) {
    if (out[i]! < 0xff) {
      out[i] = out[i]! + 1;
      return out.subarray(0, i + 1);
    }
  }
  throw internal('no key range end for an all-0xff prefix');
}

/** Byte-wise comparison, as LevelDB's default comparator orders keys. */
export function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) return a[i]! - b[i]!;
  }
  return a.length - b.length;
}

/** A plain Uint8Array copy (Buffer#slice would share memory with LevelDB's buffer). */
function copy(b: Uint8Array, start: number, end = b.length): Uint8Array {
  return new Uint8Array(b.subarray(start, end));
}

function isU16(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffff;
}

function internal(message: string): TributaryError {
  return new TributaryError('TRIB_INTERNAL', message);
}

function corrupt(b: Uint8Array, detail: string): TributaryError {
  return new TributaryError('TRIB_STATE_IO', `corrupt state key (${detail}): ${Buffer.from(b).toString('hex')}`);
}
