/**
 * What a decoded state value costs on the V8 heap, estimated by walking it: the write-back cache
 * is bounded in bytes (spec.state.cacheSize), and its values are kept decoded, so their encoded
 * length says little (a rolling head of ~30 encoded bytes is ~500 bytes of objects and arrays).
 * Sizes follow V8's layout on 64-bit Node without pointer compression; the bench
 * (bench/state-scale-child.ts estimate) compares the total with measured heap use.
 *
 * Walked at a miss and when a checkpoint encodes an entry, never per put: an entry that grows
 * while dirty is re-measured at the next checkpoint.
 */

/**
 * What the walk misses (hidden classes, hash-table slack, allocation alignment), measured by
 * `npm run bench -- state-scale` (its estimate row: heap freed by dropping 100k rolling heads of
 * count + sum + count_distinct, over the bytes accounted): 1.35 without this factor.
 */
export const HEAP_CALIBRATION = 1.35;

/** An Entry object (cache-entry.ts; 14 fields), its place in the clean queue and the dirty list (write-back-cache.ts). */
export const ENTRY_BYTES = Math.round(HEAP_CALIBRATION * 160);
/** A record key's node in its scope (cache-scope.ts; 8 fields) and its key-table slots (12 bytes each, 2 to 8 per node); plus the key string. */
export const NODE_BYTES = 128;

const OBJECT = 24;
const SLOT = 8;
const ARRAY = 32;
const MAP = 64;
/** Per Map/Set element: the hash table's entry and bucket share at the usual load factor. */
const MAP_ENTRY = 40;
const SET_ENTRY = 28;
const TYPED_ARRAY = 96;
/** Values nested deeper are counted as one slot (state values are shallow). */
const MAX_DEPTH = 8;

/** Bytes of a one-byte string of this length (header, rounded to 8). */
export function stringBytes(length: number): number {
  return (16 + length + 7) & ~7;
}

/** Estimated heap bytes of `value` and everything it references (shared references counted again). */
export function estimateHeapBytes(value: unknown): number {
  return walk(value, 0);
}

function walk(v: unknown, depth: number): number {
  switch (typeof v) {
    case 'number':
      // Small integers live in the slot; other numbers are boxed when stored in a generic slot.
      return (v | 0) === v ? 0 : 16;
    case 'string':
      return stringBytes(v.length);
    case 'bigint':
      return 24;
    case 'object':
      break;
    default:
      return 0;
  }
  if (v === null || depth >= MAX_DEPTH) return 0;
  if (Array.isArray(v)) {
    let n = ARRAY + SLOT * v.length;
    let numbers = true;
    for (let i = 0; i < v.length; i++) {
      const x: unknown = v[i];
      if (typeof x !== 'number') numbers = false;
      n += walk(x, depth + 1);
    }
    // An array of numbers only stores them unboxed (V8's double elements).
    return numbers ? ARRAY + SLOT * v.length : n;
  }
  if (ArrayBuffer.isView(v)) return TYPED_ARRAY + v.byteLength;
  if (v instanceof Map) {
    let n = MAP + MAP_ENTRY * v.size;
    for (const [k, x] of v) n += walk(k, depth + 1) + walk(x, depth + 1);
    return n;
  }
  if (v instanceof Set) {
    let n = MAP + SET_ENTRY * v.size;
    for (const k of v) n += walk(k, depth + 1);
    return n;
  }
  let n = OBJECT;
  for (const k in v) n += SLOT + walk((v as Record<string, unknown>)[k], depth + 1);
  return n;
}
