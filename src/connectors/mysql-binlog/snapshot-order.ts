/**
 * Orderings the snapshot must agree on with the server: primary-key order (MySQL's, per column
 * type and collation) and binlog position order.
 *
 * Key columns supported: integer, decimal, float/double, date, datetime, timestamp, time, year,
 * binary strings (byte order) and text. Text follows the column's collation, emulated:
 *   - PAD SPACE collations (all but *_nopad_*) ignore trailing spaces;
 *   - *_bin / binary: code point order (= UTF-8 byte order);
 *   - *_cs keep case, *_as keep accents; other collations (general_ci, unicode_ci, 0900_ai_ci,
 *     latin1_swedish_ci ...) compare case- and accent-folded (NFD, marks removed, upper case),
 *     then by code point.
 * Caveat: that fold is not the real weight table. Language tailorings (Swedish å/ä/ö after z,
 * German ß = ss, utf8mb4_general_ci's U+FFFD for supplementary characters, ignorable characters)
 * can order differently. It only matters for a key compared with a resume boundary that sits
 * between two such strings; prefer integer or *_bin keys where exactness matters.
 * ENUM, SET, BIT, JSON, BLOB/TEXT prefix and geometry keys are refused (see keyColumnProblem).
 */
import type { ColumnDescriptor, ColumnKind } from './snapshot-values.js';

export interface BinlogPosition { file: string; pos: number; gtid?: string }

const KEY_KINDS: ReadonlySet<ColumnKind> = new Set<ColumnKind>(
  ['integer', 'decimal', 'float', 'double', 'date', 'datetime', 'timestamp', 'time', 'year', 'text', 'binary']);

/** Why a column cannot be a chunking key, or null when it can. */
export function keyColumnProblem(col: ColumnDescriptor): string | null {
  return KEY_KINDS.has(col.kind) ? null : `primary key column ${col.name} has type ${col.kind}, which the snapshot cannot order`;
}

/** 'binlog.000012' -> ['binlog', 12]: compare numerically so '.999999' < '.1000000'. */
function splitFile(file: string): [string, number] {
  const m = /^(.*)\.(\d+)$/.exec(file);
  return m ? [m[1], Number(m[2])] : [file, 0];
}

/**
 * Order of two positions on the same server, by file then offset (GTIDs are not compared: the
 * snapshot and the streamer it feeds read one server's binlog).
 */
export function comparePositions(a: BinlogPosition, b: BinlogPosition): number {
  if (a.file !== b.file) {
    const [ab, an] = splitFile(a.file);
    const [bb, bn] = splitFile(b.file);
    if (ab !== bb) return ab < bb ? -1 : 1;
    if (an !== bn) return an < bn ? -1 : 1;
  }
  return a.pos === b.pos ? 0 : a.pos < b.pos ? -1 : 1;
}

const sign = (n: number | bigint): number => (n > 0 ? 1 : n < 0 ? -1 : 0);

function compareCodePoints(a: string, b: string): number {
  const ia = a[Symbol.iterator]();
  const ib = b[Symbol.iterator]();
  for (;;) {
    const x = ia.next();
    const y = ib.next();
    if (x.done || y.done) return x.done && y.done ? 0 : x.done ? -1 : 1;
    const d = x.value.codePointAt(0)! - y.value.codePointAt(0)!;
    if (d !== 0) return sign(d);
  }
}

/** The string MySQL's collation effectively compares, as far as we emulate it (see header). */
export function collationKey(s: string, collation: string | null): string {
  const c = (collation ?? '').toLowerCase();
  let out = /nopad/.test(c) ? s : s.replace(/ +$/, '');
  if (c === '' || c === 'binary' || c.endsWith('_bin')) return out;
  if (!/_as(_|$)/.test(c) && !c.endsWith('_cs')) out = out.normalize('NFD').replace(/\p{M}/gu, '');
  if (!/_cs(_|$)/.test(c)) out = out.toUpperCase();
  return out;
}

/** Exact comparison of decimal texts such as '-12.50' and '3'. */
export function compareDecimals(a: string, b: string): number {
  const parse = (s: string): [number, string, string] => {
    const t = s.trim();
    const neg = t.startsWith('-');
    const [i = '', f = ''] = t.replace(/^[-+]/, '').split('.');
    const int = i.replace(/^0+/, '');
    const frac = f.replace(/0+$/, '');
    return [int === '' && frac === '' ? 0 : neg ? -1 : 1, int, frac];
  };
  const [sa, ia, fa] = parse(a);
  const [sb, ib, fb] = parse(b);
  if (sa !== sb) return sign(sa - sb);
  if (sa === 0) return 0;
  let mag = ia.length !== ib.length ? sign(ia.length - ib.length) : ia < ib ? -1 : ia > ib ? 1 : 0;
  if (mag === 0) {
    const w = Math.max(fa.length, fb.length);
    const pa = fa.padEnd(w, '0');
    const pb = fb.padEnd(w, '0');
    mag = pa < pb ? -1 : pa > pb ? 1 : 0;
  }
  return sa * mag;
}

/** 'YYYY-MM-DDTHH:mm:ss.ffZ' / 'YYYY-MM-DD HH:mm:ss' -> fixed-width text that sorts like the value. */
function temporalText(v: unknown): string {
  const s = String(v).replace('T', ' ').replace(/Z$/, '');
  const [main, frac = ''] = s.split('.');
  return `${main}.${frac.padEnd(6, '0')}`;
}

function timeMicros(v: unknown): number {
  const s = String(v).trim();
  const neg = s.startsWith('-');
  const [hms, frac = ''] = s.replace(/^-/, '').split('.');
  const [h = 0, m = 0, sec = 0] = hms.split(':').map(Number);
  const micros = ((h * 60 + m) * 60 + sec) * 1e6 + Number(frac.padEnd(6, '0').slice(0, 6));
  return neg ? -micros : micros;
}

/** Compares two normalized values (snapshot-values form) of one key column in MySQL's order. */
export function compareColumn(col: ColumnDescriptor, a: unknown, b: unknown): number {
  if (a === null || b === null) return a === b ? 0 : a === null ? -1 : 1; // NULL sorts first (never in a PK)
  switch (col.kind) {
    case 'integer':
      return sign(BigInt(a as string | number) - BigInt(b as string | number));
    case 'decimal':
      return compareDecimals(String(a), String(b));
    case 'float': case 'double': case 'year':
      return sign(Number(a) - Number(b));
    case 'date': case 'datetime': case 'timestamp': {
      const x = temporalText(a);
      const y = temporalText(b);
      return x < y ? -1 : x > y ? 1 : 0;
    }
    case 'time':
      return sign(timeMicros(a) - timeMicros(b));
    case 'binary':
      return Buffer.compare(Buffer.from(String(a), 'base64'), Buffer.from(String(b), 'base64'));
    case 'text':
      return compareCodePoints(collationKey(String(a), col.collation), collationKey(String(b), col.collation));
    default:
      throw new Error(`cannot order values of ${col.kind} column ${col.name}`);
  }
}

/** Lexicographic order of composite keys (arrays in primary key column order). */
export function compareKeys(pk: readonly ColumnDescriptor[], a: readonly unknown[], b: readonly unknown[]): number {
  for (let i = 0; i < pk.length; i++) {
    const c = compareColumn(pk[i], a[i], b[i]);
    if (c !== 0) return c;
  }
  return 0;
}

/**
 * A normalized key value as an SQL parameter plus the placeholder expression that makes the
 * server compare it exactly: integers go as BigInt literals and DECIMAL through CAST, since
 * comparing those columns with a string literal would compare as DOUBLE and lose precision.
 */
export function keyParam(col: ColumnDescriptor, v: unknown): { placeholder: string; value: unknown } {
  switch (col.kind) {
    case 'integer':
      return { placeholder: '?', value: BigInt(v as string | number) };
    case 'decimal':
      return { placeholder: `CAST(? AS DECIMAL(${col.precision || 65},${col.scale}))`, value: String(v) };
    case 'float': case 'double': case 'year':
      return { placeholder: '?', value: Number(v) };
    case 'date': case 'datetime': case 'timestamp':
      // The snapshot session runs with time_zone '+00:00', so a TIMESTAMP literal reads as UTC.
      return { placeholder: '?', value: String(v).replace('T', ' ').replace(/Z$/, '') };
    case 'binary':
      return { placeholder: '?', value: Buffer.from(String(v), 'base64') };
    default:
      return { placeholder: '?', value: String(v) };
  }
}
