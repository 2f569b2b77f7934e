/**
 * Avro values <-> Row values, compiled once per schema (a converter tree of closures, no per-record
 * type dispatch on the schema).
 *
 * Mapping (decode → Row; encode accepts the same shapes back):
 *   null, boolean, int, float, double, string  → as they are
 *   long (any logicalType)   → number when |n| ≤ 2^53−1, else its decimal string (no silent rounding);
 *                              encode accepts a safe integer or a decimal string in int64 range
 *   timestamp-millis         → a long, so epoch ms as a number (micros/nanos: the raw count, same rule)
 *   bytes, fixed (decimal)   → base64 string
 *   enum                     → its symbol as a string
 *   array / map / record     → array / object / object (record: schema fields only)
 *   union                    → the branch value, unwrapped (wrapped unions lose the branch name;
 *                              encode picks the first branch the value is valid for, for a string
 *                              a non-long branch first: a decoded string stays a string)
 */
import avsc from 'avsc';
import type { Row, Value } from '../core/record.js';

type AvroType = avsc.Type;
/** What avsc reads and writes: JSON-like plus Buffers (bytes/fixed) and record instances. */
type AvroValue = unknown;

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const SAFE_MIN = BigInt(Number.MIN_SAFE_INTEGER);
const SAFE_MAX = BigInt(Number.MAX_SAFE_INTEGER);
const DECIMAL = /^-?\d{1,19}$/;

function isLong(v: unknown): boolean {
  if (typeof v === 'number') return Number.isSafeInteger(v);
  if (typeof v !== 'string' || !DECIMAL.test(v)) return false;
  const n = BigInt(v);
  return n >= INT64_MIN && n <= INT64_MAX;
}

/**
 * avsc's own long throws on values beyond 2^53 ("potential precision loss"); ids and nanosecond
 * timestamps get there, so longs go through this type instead (number when safe, else a string).
 */
const losslessLong: AvroType = avsc.types.LongType.__with({
  fromBuffer(buf: Buffer): number | string {
    const n = buf.readBigInt64LE();
    return n >= SAFE_MIN && n <= SAFE_MAX ? Number(n) : n.toString();
  },
  toBuffer(v: number | string): Buffer {
    const buf = Buffer.alloc(8);
    buf.writeBigInt64LE(BigInt(v));
    return buf;
  },
  fromJSON: (v: number | string) => v,
  toJSON: (v: number | string) => v,
  isValid: isLong,
  compare(a: number | string, b: number | string): number {
    const x = BigInt(a);
    const y = BigInt(b);
    return x < y ? -1 : x > y ? 1 : 0;
  },
});

type ForSchemaOptions = Partial<avsc.ForSchemaOptions> & { registry?: Record<string, AvroType>; namespace?: string };

function longHook(schema: avsc.Schema, opts: ForSchemaOptions): AvroType | undefined {
  if (schema === 'long') return losslessLong;
  if (typeof schema === 'object' && schema !== null && !Array.isArray(schema) && (schema as { type?: unknown }).type === 'long') return losslessLong;
  if (Array.isArray(schema) && sharesLongValues(schema, opts)) {
    // A lossless long takes numbers and decimal strings, so avsc cannot tell it from an int, double
    // or string branch by the value alone ("ambiguous conversion" on encode). Wrapped, the branch is
    // ours to pick (compileFromRow).
    return avsc.Type.forSchema(schema, { ...opts, wrapUnions: true, typeHook: (s, o) => (s === schema ? undefined : longHook(s, o)) });
  }
  return undefined;
}

/** Whether a union has a long branch and another branch whose row values a long's also are. */
function sharesLongValues(branches: readonly unknown[], opts: ForSchemaOptions): boolean {
  const kinds = branches.map((b) => {
    const name = typeof b === 'string' ? b : typeof b === 'object' && b !== null && typeof (b as { type?: unknown }).type === 'string' ? (b as { type: string }).type : undefined;
    if (name === undefined) return 'other';
    if (name === 'long') return 'long';
    if (name === 'int' || name === 'float' || name === 'double' || name === 'string' || name === 'enum') return 'scalar';
    const named = opts.registry?.[name] ?? (opts.namespace ? opts.registry?.[`${opts.namespace}.${name}`] : undefined);
    return named?.typeName === 'enum' ? 'scalar' : 'other';
  });
  const longs = kinds.filter((k) => k === 'long').length;
  return longs > 0 && longs + kinds.filter((k) => k === 'scalar').length > 1;
}

/**
 * Parse a schema (parsed JSON, as read from .avsc or a registry) the way every Tributary Avro format
 * does (lossless longs). Throws avsc's error for an invalid schema.
 */
export function avroType(schema: unknown): AvroType {
  return avsc.Type.forSchema(schema as avsc.Schema, { typeHook: longHook });
}

type ToRow = (v: AvroValue) => Value;
type FromRow = (v: Value) => AvroValue;

const identity = <T>(v: T): T => v;
const base64 = (v: AvroValue): Value => (Buffer.isBuffer(v) ? v.toString('base64') : (v as Value));
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
/** Not base64 stays a string, so validation reports it at its path instead of writing garbage bytes. */
const fromBase64 = (v: Value): AvroValue => (typeof v === 'string' && BASE64.test(v) ? Buffer.from(v, 'base64') : v);

function isPlainObject(v: unknown): v is { [k: string]: unknown } {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && !Buffer.isBuffer(v);
}

/** Which JS shape a decoded union value has; unwrapped unions hold at most one branch per shape. */
function shapeOf(v: unknown): 'null' | 'buffer' | 'array' | 'object' | 'scalar' {
  if (v === null) return 'null';
  if (Buffer.isBuffer(v)) return 'buffer';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : 'scalar';
}

function typeShape(t: AvroType): ReturnType<typeof shapeOf> {
  switch (t.typeName) {
    case 'null': return 'null';
    case 'bytes': case 'fixed': return 'buffer';
    case 'array': return 'array';
    case 'record': case 'error': case 'map': return 'object';
    default: return 'scalar';
  }
}

export function compileToRow(t: AvroType): ToRow {
  switch (t.typeName) {
    case 'bytes':
    case 'fixed':
      return base64;
    case 'array': {
      const item = compileToRow((t as avsc.types.ArrayType).itemsType);
      return (v) => (v as AvroValue[]).map(item);
    }
    case 'map': {
      const val = compileToRow((t as avsc.types.MapType).valuesType as AvroType);
      return (v) => {
        const out: Row = {};
        for (const [k, x] of Object.entries(v as Record<string, AvroValue>)) out[k] = val(x);
        return out;
      };
    }
    case 'record':
    case 'error': {
      const fields = (t as avsc.types.RecordType).fields.map((f) => ({ name: f.name, conv: compileToRow(f.type) }));
      return (v) => {
        const rec = v as Record<string, AvroValue>;
        const out: Row = {};
        for (const f of fields) out[f.name] = f.conv(rec[f.name]);
        return out;
      };
    }
    case 'union:unwrapped': {
      const byShape = new Map<string, ToRow>();
      for (const b of (t as avsc.types.WrappedUnionType).types) byShape.set(typeShape(b), compileToRow(b));
      return (v) => (byShape.get(shapeOf(v)) ?? (identity as ToRow))(v);
    }
    case 'union:wrapped': {
      const byName = new Map<string, ToRow>();
      for (const b of (t as avsc.types.WrappedUnionType).types) byName.set(b.branchName ?? b.typeName, compileToRow(b));
      return (v) => {
        if (v === null) return null;
        const [name, inner] = Object.entries(v as Record<string, AvroValue>)[0] ?? [];
        const conv = name === undefined ? undefined : byName.get(name);
        return conv ? conv(inner) : null;
      };
    }
    default:
      return identity as ToRow;
  }
}

/** Thrown inside encode conversion for shapes no branch/field can take; reported with its path. */
export class AvroShapeError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
  }
}

export function compileFromRow(t: AvroType, path = ''): FromRow {
  switch (t.typeName) {
    case 'bytes':
    case 'fixed':
      return fromBase64;
    case 'array': {
      const item = compileFromRow((t as avsc.types.ArrayType).itemsType, `${path}[]`);
      return (v) => (Array.isArray(v) ? v.map(item) : v);
    }
    case 'map': {
      const val = compileFromRow((t as avsc.types.MapType).valuesType as AvroType, `${path}{}`);
      return (v) => {
        if (!isPlainObject(v)) return v;
        const out: Record<string, AvroValue> = {};
        for (const [k, x] of Object.entries(v)) out[k] = val(x as Value);
        return out;
      };
    }
    case 'record':
    case 'error': {
      const rt = t as avsc.types.RecordType;
      const fields = rt.fields.map((f) => ({ name: f.name, conv: compileFromRow(f.type, path ? `${path}.${f.name}` : f.name) }));
      const known = new Set(fields.map((f) => f.name));
      return (v) => {
        if (!isPlainObject(v)) return v;
        // A field the schema does not have would be dropped on the wire without a word: refuse it.
        for (const k of Object.keys(v)) {
          if (!known.has(k)) throw new AvroShapeError(path ? `${path}.${k}` : k, `field not in schema ${rt.name ?? 'record'}`);
        }
        const out: Record<string, AvroValue> = {};
        // Missing fields stay undefined so avsc writes their defaults (and rejects them when there is none).
        for (const f of fields) out[f.name] = v[f.name] === undefined ? undefined : f.conv(v[f.name] as Value);
        return out;
      };
    }
    case 'union:unwrapped': {
      const types = (t as avsc.types.WrappedUnionType).types;
      const byShape = new Map<string, FromRow>();
      for (const b of types) byShape.set(typeShape(b), compileFromRow(b, path));
      // Bytes travel in rows as base64 strings: a string goes to the bytes branch unless a string branch exists.
      const hasString = types.some((b) => b.typeName === 'string' || b.typeName === 'enum');
      const bytes = hasString ? undefined : byShape.get('buffer');
      return (v) => {
        if (bytes && typeof v === 'string') return bytes(v);
        return (byShape.get(shapeOf(v)) ?? (identity as FromRow))(v);
      };
    }
    case 'union:wrapped': {
      const branches = (t as avsc.types.WrappedUnionType).types.map((b) => ({ type: b, name: b.branchName ?? b.typeName, conv: compileFromRow(b, path) }));
      // A long beyond 2^53 is a string in rows; a string that some other branch takes is that
      // branch's, so what decodes as a string encodes as one (the row round-trips unchanged).
      const stringsFirst = [...branches.filter((b) => !isLongType(b.type)), ...branches.filter((b) => isLongType(b.type))];
      return (v) => {
        for (const b of typeof v === 'string' ? stringsFirst : branches) {
          let x: AvroValue;
          try {
            x = b.conv(v);
          } catch {
            continue;
          }
          if (b.type.isValid(x)) return b.name === 'null' ? null : { [b.name]: x };
        }
        throw new AvroShapeError(path, `matches no branch of union ${JSON.stringify(branches.map((b) => b.name))}`);
      };
    }
    default:
      return identity as FromRow;
  }
}

function isLongType(t: AvroType): boolean {
  return t === losslessLong || t.typeName === 'long';
}

/** The first problems avsc finds in a value, as `path: expected <type>, got <value>`. */
export function describeInvalid(t: AvroType, value: AvroValue, limit = 3): string[] {
  const problems: string[] = [];
  t.isValid(value, {
    errorHook(path: string[], v: unknown, type: AvroType) {
      if (problems.length >= limit) return;
      const where = path.length > 0 ? path.join('.') : '(root)';
      const expected = type.typeName === 'abstract:long' ? 'long' : (type.branchName ?? type.typeName);
      const got = v === undefined ? 'missing' : preview(v);
      problems.push(`${where}: expected ${expected}, got ${got}`);
    },
  });
  return problems;
}

function preview(v: unknown): string {
  if (Buffer.isBuffer(v)) return `${v.length} bytes`;
  const s = JSON.stringify(v) ?? String(v);
  return s.length > 60 ? `${s.slice(0, 57)}...` : s;
}
