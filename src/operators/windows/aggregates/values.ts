/**
 * Value helpers shared by the aggregates: numeric coercion, the min/max order, the canonical
 * identity string used by count_distinct, and a compact binary encoding of any Value.
 *
 * Binary Value layout (one tag byte, then):
 *   0 null | 1 false | 2 true | 3 integer, |v| < 2^52 (zigzag varint) | 4 other number (f64 LE)
 *   5 string (varint len + UTF-8) | 6 array (varint n, n values) | 7 object (varint n, n × (string key, value))
 */
import { TributaryError } from '../../../core/errors.js';
import type { Value } from '../../../core/record.js';
import type { ByteReader, ByteSink } from '../../../state/codec/bytes.js';

const DECIMAL = /^\s*[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?\s*$/;

/** What a record's value was, for error messages (never the whole value: it may be large or sensitive). */
function describe(v: Value): string {
  if (typeof v === 'string') return `string "${v.length > 40 ? v.slice(0, 40) + '…' : v}"`;
  if (Array.isArray(v)) return 'an array';
  if (v !== null && typeof v === 'object') return 'an object';
  return `${typeof v} ${String(v)}`;
}

export function invalidValue(label: string, v: Value, expected: string): TributaryError {
  return new TributaryError('TRIB_RECORD_INVALID', `${label}: expected ${expected}, got ${describe(v)}`);
}

/** A finite number, or a decimal string that parses to one; anything else is a bad record. */
export function toNumber(v: Value, label: string): number {
  if (typeof v === 'number') {
    if (Number.isFinite(v)) return v === 0 ? 0 : v;
  } else if (typeof v === 'string' && DECIMAL.test(v)) {
    const n = Number(v);
    if (Number.isFinite(n)) return n === 0 ? 0 : n;
  }
  throw invalidValue(label, v, 'a finite number or a numeric string');
}

/**
 * min/max accept numbers and strings. Numeric strings become numbers (amounts often arrive as
 * "12.50" in JSON feeds, and "9.00" < "12.50" must hold); other strings compare by UTF-16 code
 * units and sort after every number.
 */
export function toOrdered(v: Value, label: string): number | string {
  if (typeof v === 'string' && !DECIMAL.test(v)) return v;
  if (typeof v === 'number' || typeof v === 'string') return toNumber(v, label);
  throw invalidValue(label, v, 'a number or a string');
}

export function compareOrdered(a: number | string, b: number | string): number {
  if (typeof a === 'number') {
    if (typeof b === 'number') return a < b ? -1 : a > b ? 1 : 0;
    return -1;
  }
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * Identity of a value for count_distinct: type-tagged, so 1 and "1" are distinct; objects
 * with the same fields in another order are the same value.
 */
export function canonicalKey(v: Value): string {
  if (v === null) return 'z';
  switch (typeof v) {
    case 'number':
      return 'n' + String(v === 0 ? 0 : v);
    case 'string':
      return 's' + v;
    case 'boolean':
      return v ? 'b1' : 'b0';
    default:
      return 'j' + stableText(v);
  }
}

function stableText(v: Value): string {
  if (v === null || typeof v !== 'object') return typeof v === 'string' ? JSON.stringify(v) : String(v === 0 ? 0 : v);
  if (Array.isArray(v)) return '[' + v.map(stableText).join(',') + ']';
  const keys = Object.keys(v).sort();
  return '{' + keys.map((k) => JSON.stringify(k) + ':' + stableText(v[k] ?? null)).join(',') + '}';
}

export function writeValue(w: ByteSink, v: Value): void {
  if (v === null || v === undefined) {
    w.u8(0);
  } else if (typeof v === 'boolean') {
    w.u8(v ? 2 : 1);
  } else if (typeof v === 'number') {
    if (Number.isInteger(v) && Math.abs(v) < 2 ** 52 && !Object.is(v, -0)) w.u8(3).svarint(v);
    else w.u8(4).f64(v);
  } else if (typeof v === 'string') {
    w.u8(5).string(v);
  } else if (Array.isArray(v)) {
    w.u8(6).varint(v.length);
    for (const item of v) writeValue(w, item);
  } else {
    const keys = Object.keys(v);
    w.u8(7).varint(keys.length);
    for (const k of keys) {
      w.string(k);
      writeValue(w, v[k] ?? null);
    }
  }
}

export function readValue(r: ByteReader): Value {
  const tag = r.u8();
  switch (tag) {
    case 0:
      return null;
    case 1:
      return false;
    case 2:
      return true;
    case 3:
      return r.svarint();
    case 4:
      return r.f64();
    case 5:
      return r.string();
    case 6: {
      const n = r.varint();
      const out: Value[] = [];
      for (let i = 0; i < n; i++) out.push(readValue(r));
      return out;
    }
    case 7: {
      const n = r.varint();
      const out: { [field: string]: Value } = {};
      for (let i = 0; i < n; i++) {
        const k = r.string();
        out[k] = readValue(r);
      }
      return out;
    }
    default:
      throw new TributaryError('TRIB_STATE_IO', `window state: unknown value tag ${tag}`);
  }
}

/** Event times and slice starts: whole milliseconds, possibly negative. */
export function writeTime(w: ByteSink, t: number): void {
  w.svarint(t);
}

export function readTime(r: ByteReader): number {
  return r.svarint();
}
