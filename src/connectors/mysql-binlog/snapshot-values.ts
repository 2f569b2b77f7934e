/**
 * Column value rules shared by the snapshot and the binlog streamer, so a row reads the same
 * whether it came from `SELECT` (op 'r') or from a row event (op c/u/d).
 *
 *   kind        emitted as                                   accepted raw forms
 *   integer     number; string when beyond ±2^53             number | bigint | string | Buffer(text)
 *   decimal     string, exactly as MySQL prints it ('12.50') string | Buffer(text) | number (lossy)
 *   float       number, shortest text that round-trips       number | string | Buffer(text)
 *               through float32 (so '3.14159' from SELECT equals 3.1415901184 from the binlog)
 *   double      number                                       number | string | Buffer(text)
 *   bit         BIT(1) boolean; wider: number, string > 2^53 Buffer (big-endian bytes) | number | bigint | boolean
 *   date        'YYYY-MM-DD'                                 string | Buffer | Date (UTC fields)
 *   datetime    'YYYY-MM-DDTHH:mm:ss[.ffffff]' (naive, fsp digits) string | Buffer | Date (UTC fields)
 *   timestamp   'YYYY-MM-DDTHH:mm:ss[.ffffff]Z' (UTC)        string read with time_zone '+00:00' | Date | epoch seconds
 *   time        'HH:mm:ss[.ffffff]' (may be negative / >24h) string | Buffer
 *   year        number                                       number | string | Buffer
 *   json        parsed JSON (big integers inside lose precision like any JSON.parse)
 *                                                            string | Buffer | already-parsed value
 *   text        string                                       string | Buffer (utf8, the connection charset)
 *   binary      base64 string (BINARY/VARBINARY/BLOB)        Buffer | Uint8Array | string (latin1 bytes)
 *   enum        string                                       string | Buffer | number (1-based index)
 *   set         string[]                                     string 'a,b' | Buffer | number (bitmask) | string[]
 *   geometry    base64 of MySQL's internal form (SRID + WKB) Buffer
 *   NULL        null
 * Zero dates ('0000-00-00', '0000-00-00 00:00:00') are not dates: they read as null.
 * The snapshot reads every column as raw bytes (see rawTypeCast) and converts them here, so no
 * mysql2 conversion (Date objects in the client's zone, floats for DECIMAL) can lose anything.
 */
import type { Value } from '../../core/record.js';

export type ColumnKind =
  | 'integer' | 'decimal' | 'float' | 'double' | 'bit'
  | 'date' | 'datetime' | 'timestamp' | 'time' | 'year'
  | 'json' | 'text' | 'binary' | 'enum' | 'set' | 'geometry';

export interface ColumnDescriptor {
  name: string;
  kind: ColumnKind;
  unsigned: boolean;
  /** Fractional second digits (DATETIME/TIMESTAMP/TIME), 0 otherwise. */
  fsp: number;
  /** DECIMAL precision/scale; BIT width in `precision`. */
  precision: number;
  scale: number;
  /** ENUM/SET members in definition order. */
  members: string[];
  /** Collation of a text column (ordering of string keys), null for non-text. */
  collation: string | null;
}

/** One row of information_schema.COLUMNS (the fields this module reads), plus whether it holds JSON. */
export interface ColumnInfo {
  COLUMN_NAME: string;
  DATA_TYPE: string;
  COLUMN_TYPE: string;
  NUMERIC_PRECISION: number | string | null;
  NUMERIC_SCALE: number | string | null;
  DATETIME_PRECISION: number | string | null;
  CHARACTER_SET_NAME: string | null;
  COLLATION_NAME: string | null;
  /** MariaDB stores JSON as LONGTEXT with a json_valid() check; MySQL reports DATA_TYPE 'json'. */
  isJson?: boolean;
}

const KIND_BY_TYPE: Record<string, ColumnKind> = {
  tinyint: 'integer', smallint: 'integer', mediumint: 'integer', int: 'integer', integer: 'integer', bigint: 'integer',
  decimal: 'decimal', numeric: 'decimal', dec: 'decimal', fixed: 'decimal',
  float: 'float', double: 'double', real: 'double', 'double precision': 'double',
  bit: 'bit', date: 'date', datetime: 'datetime', timestamp: 'timestamp', time: 'time', year: 'year',
  json: 'json', enum: 'enum', set: 'set',
  char: 'text', varchar: 'text', tinytext: 'text', text: 'text', mediumtext: 'text', longtext: 'text',
  binary: 'binary', varbinary: 'binary', tinyblob: 'binary', blob: 'binary', mediumblob: 'binary', longblob: 'binary',
  geometry: 'geometry', point: 'geometry', linestring: 'geometry', polygon: 'geometry', multipoint: 'geometry',
  multilinestring: 'geometry', multipolygon: 'geometry', geometrycollection: 'geometry',
};

const toInt = (v: number | string | null): number => (v === null ? 0 : Number(v));

export function describeColumn(info: ColumnInfo): ColumnDescriptor {
  const dataType = info.DATA_TYPE.toLowerCase();
  let kind: ColumnKind = KIND_BY_TYPE[dataType] ?? (info.CHARACTER_SET_NAME ? 'text' : 'binary');
  if (info.isJson) kind = 'json';
  // CHAR(n) CHARACTER SET binary is BINARY(n) under another name.
  if (kind === 'text' && (info.CHARACTER_SET_NAME === 'binary' || info.COLLATION_NAME === 'binary')) kind = 'binary';
  return {
    name: info.COLUMN_NAME,
    kind,
    unsigned: /\bunsigned\b/i.test(info.COLUMN_TYPE),
    fsp: toInt(info.DATETIME_PRECISION),
    precision: kind === 'bit' ? bitWidth(info.COLUMN_TYPE) : toInt(info.NUMERIC_PRECISION),
    scale: toInt(info.NUMERIC_SCALE),
    members: kind === 'enum' || kind === 'set' ? parseMembers(info.COLUMN_TYPE) : [],
    collation: kind === 'text' ? info.COLLATION_NAME : null,
  };
}

function bitWidth(columnType: string): number {
  const m = /bit\((\d+)\)/i.exec(columnType);
  return m ? Number(m[1]) : 1;
}

/** "enum('a','it''s')" -> ['a', "it's"] (information_schema doubles quotes inside members). */
export function parseMembers(columnType: string): string[] {
  const open = columnType.indexOf('(');
  const out: string[] = [];
  let i = open + 1;
  while (i > 0 && i < columnType.length) {
    if (columnType[i] !== "'") { i++; continue; }
    let s = '';
    i++;
    for (; i < columnType.length; i++) {
      const c = columnType[i];
      if (c === "'" && columnType[i + 1] === "'") { s += "'"; i++; continue; }
      if (c === '\\' && i + 1 < columnType.length) { s += columnType[i + 1]; i++; continue; }
      if (c === "'") break;
      s += c;
    }
    out.push(s);
    i++;
  }
  return out;
}

/** mysql2 typeCast that hands every column over as raw bytes (the text protocol's exact text). */
export function rawTypeCast(field: { buffer(): Buffer | null }): Buffer | null {
  return field.buffer();
}

const text = (raw: unknown): string =>
  Buffer.isBuffer(raw) ? raw.toString('utf8') : raw instanceof Uint8Array ? Buffer.from(raw).toString('utf8') : String(raw);

/** An integer as a JSON-safe value: number while exact, decimal string beyond ±2^53. */
export function integerValue(v: bigint): number | string {
  return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v.toString();
}

function float32Text(x: number): number {
  if (!Number.isFinite(x) || x === 0) return x;
  const f = Math.fround(x);
  for (let p = 1; p <= 9; p++) {
    const candidate = Number(f.toPrecision(p));
    if (Math.fround(candidate) === f) return candidate;
  }
  return f;
}

const pad = (n: number, w: number): string => String(n).padStart(w, '0');

/** Date (its UTC fields) -> 'YYYY-MM-DD HH:mm:ss[.fff000]' with `fsp` fraction digits. */
function dateToText(d: Date, fsp: number): string {
  const base = `${pad(d.getUTCFullYear(), 4)}-${pad(d.getUTCMonth() + 1, 2)}-${pad(d.getUTCDate(), 2)} ` +
    `${pad(d.getUTCHours(), 2)}:${pad(d.getUTCMinutes(), 2)}:${pad(d.getUTCSeconds(), 2)}`;
  return fsp > 0 ? `${base}.${(pad(d.getUTCMilliseconds(), 3) + '000').slice(0, fsp)}` : base;
}

const ZERO_DATE = /^0000-00-00/;

function dateTimeText(raw: unknown, fsp: number): string | null {
  const s = raw instanceof Date ? dateToText(raw, fsp) : text(raw);
  if (ZERO_DATE.test(s)) return null;
  return s.replace(' ', 'T');
}

function bitsToBigInt(raw: unknown): bigint {
  if (typeof raw === 'bigint') return raw;
  if (typeof raw === 'number') return BigInt(raw);
  if (typeof raw === 'boolean') return raw ? 1n : 0n;
  const bytes = Buffer.isBuffer(raw) ? raw : raw instanceof Uint8Array ? Buffer.from(raw) : Buffer.from(String(raw), 'latin1');
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  return v;
}

function setMembers(col: ColumnDescriptor, raw: unknown): string[] {
  if (Array.isArray(raw)) return raw.map(String);
  if (typeof raw === 'number' || typeof raw === 'bigint') {
    const mask = BigInt(raw);
    return col.members.filter((_, i) => ((mask >> BigInt(i)) & 1n) === 1n);
  }
  const s = text(raw);
  return s === '' ? [] : s.split(',');
}

/** Converts one column value to the envelope form (see the table above). */
export function normalizeValue(col: ColumnDescriptor, raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  switch (col.kind) {
    case 'integer':
      return integerValue(typeof raw === 'bigint' ? raw : BigInt(typeof raw === 'number' ? Math.trunc(raw) : text(raw).trim()));
    case 'decimal':
      return text(raw);
    case 'float':
      return float32Text(typeof raw === 'number' ? raw : Number(text(raw)));
    case 'double':
      return typeof raw === 'number' ? raw : Number(text(raw));
    case 'bit': {
      const v = bitsToBigInt(raw);
      return col.precision <= 1 ? v === 1n : integerValue(v);
    }
    case 'year':
      return typeof raw === 'number' ? raw : Number(text(raw));
    case 'date': {
      const s = raw instanceof Date ? dateToText(raw, 0).slice(0, 10) : text(raw);
      return ZERO_DATE.test(s) ? null : s;
    }
    case 'datetime':
      return dateTimeText(raw, col.fsp);
    case 'timestamp': {
      const r = typeof raw === 'number' ? new Date(raw * 1000) : raw;
      const s = dateTimeText(r, col.fsp);
      return s === null ? null : s + 'Z';
    }
    case 'time':
      return text(raw);
    case 'json': {
      if (!Buffer.isBuffer(raw) && typeof raw !== 'string') return raw as Value;
      const s = text(raw);
      try {
        return JSON.parse(s) as Value;
      } catch {
        return s; // not valid JSON (MariaDB without the json_valid check): keep the text
      }
    }
    case 'text':
      return text(raw);
    case 'binary':
    case 'geometry':
      return (Buffer.isBuffer(raw) ? raw : raw instanceof Uint8Array ? Buffer.from(raw) : Buffer.from(String(raw), 'latin1')).toString('base64');
    case 'enum':
      if (typeof raw === 'number') return raw === 0 ? '' : (col.members[raw - 1] ?? String(raw));
      return text(raw);
    case 'set':
      return setMembers(col, raw);
  }
}
