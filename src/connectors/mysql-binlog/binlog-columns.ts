/**
 * Which column descriptor converts a streamed value: information_schema's (the table as it is
 * now) or the binlog's own (the table as it was when the row was written).
 *
 * A stream that runs behind a later ALTER TABLE reads old rows while information_schema already
 * shows the new columns: `MODIFY b VARCHAR` turns a row written while b was INT into b "7"
 * instead of 7 if the new descriptor converts it. The table map event that precedes every row
 * event carries each column's type code and its type metadata (decimal precision/scale, BIT
 * width, fractional seconds), exact as of the row; with binlog_row_metadata=FULL also names,
 * signedness, charsets and ENUM/SET members. zongji decodes the row by those type codes.
 *
 * Rule: information_schema's descriptor is used when its kind agrees with the binlog's type
 * code (it knows what the binlog cannot: MariaDB's JSON check constraint, collations); a
 * descriptor built from the binlog is used when they disagree or information_schema no longer
 * has the column. ENUM/SET members come from the binlog when it carries them (FULL).
 */
import type { ColumnInfo, ColumnSchema } from '@vlasky/zongji';
import type { ColumnDescriptor, ColumnKind } from './snapshot-values.js';

/** A table map's columns as zongji keeps them: type codes with metadata, and their schema rows. */
export interface BinlogColumns {
  columns: readonly ColumnInfo[];
  schemas: readonly ColumnSchema[];
}

/** MySQL field type codes (binlog TABLE_MAP column types), as zongji reports them after updateColumnInfo. */
const KIND_BY_CODE: Record<number, ColumnKind | 'string'> = {
  0: 'decimal', 246: 'decimal',
  1: 'integer', 2: 'integer', 3: 'integer', 8: 'integer', 9: 'integer',
  4: 'float', 5: 'double', 16: 'bit', 13: 'year',
  10: 'date', 14: 'date',
  12: 'datetime', 18: 'datetime',
  7: 'timestamp', 17: 'timestamp',
  11: 'time', 19: 'time',
  245: 'json', 247: 'enum', 248: 'set', 255: 'geometry',
  // Character or byte strings; which one follows the column's charset.
  15: 'string', 253: 'string', 254: 'string', 141: 'string',
  249: 'string', 250: 'string', 251: 'string', 252: 'string', 140: 'string',
};

/** Kinds information_schema may report for a binlog string column (MariaDB JSON is LONGTEXT). */
const STRING_KINDS: ReadonlySet<ColumnKind> = new Set(['text', 'binary', 'json']);

function binlogKind(column: ColumnInfo): ColumnKind | 'string' | undefined {
  return KIND_BY_CODE[column.type];
}

function agrees(described: ColumnKind, binlog: ColumnKind | 'string'): boolean {
  return binlog === 'string' ? STRING_KINDS.has(described) : described === binlog;
}

const num = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** A descriptor from the binlog alone. */
export function binlogDescriptor(column: ColumnInfo, schema: ColumnSchema | undefined): ColumnDescriptor {
  const found = binlogKind(column);
  const charset = schema?.CHARACTER_SET_NAME ?? column.charset;
  const kind: ColumnKind = found === undefined ? 'binary' : found === 'string' ? (charset && charset !== 'binary' ? 'text' : 'binary') : found;
  const meta = column.metadata ?? {};
  return {
    name: column.name,
    kind,
    unsigned: schema?.UNSIGNED ?? /\bunsigned\b/i.test(schema?.COLUMN_TYPE ?? ''),
    fsp: kind === 'datetime' || kind === 'timestamp' || kind === 'time' ? num(meta.decimals) : 0,
    precision: kind === 'bit' ? num(meta.bits) : kind === 'decimal' ? num(meta.precision) : 0,
    scale: kind === 'decimal' ? num(meta.decimals) : 0,
    members: schema?.ENUM_VALUES ?? schema?.SET_VALUES ?? [],
    collation: null,
  };
}

function reconcile(described: ColumnDescriptor | undefined, column: ColumnInfo, schema: ColumnSchema | undefined): ColumnDescriptor {
  const kind = binlogKind(column);
  if (!described || (kind !== undefined && !agrees(described.kind, kind))) return binlogDescriptor(column, schema);
  const members = schema?.ENUM_VALUES ?? schema?.SET_VALUES;
  return members && (described.kind === 'enum' || described.kind === 'set') ? { ...described, members } : described;
}

const cache = new WeakMap<readonly ColumnInfo[], { described: readonly ColumnDescriptor[]; byName: Map<string, ColumnDescriptor> }>();

/**
 * Column name → descriptor for rows of one table map. `described` is information_schema's
 * view (TableShape.columns); without binlog columns it is used as it is.
 */
export function rowDescriptors(described: readonly ColumnDescriptor[], binlog: BinlogColumns | undefined): Map<string, ColumnDescriptor> {
  if (!binlog) return new Map(described.map((c) => [c.name, c]));
  const hit = cache.get(binlog.columns);
  if (hit && hit.described === described) return hit.byName;
  const byDescribedName = new Map(described.map((c) => [c.name, c]));
  const byName = new Map<string, ColumnDescriptor>();
  binlog.columns.forEach((column, i) => {
    byName.set(column.name, reconcile(byDescribedName.get(column.name), column, binlog.schemas[i]));
  });
  cache.set(binlog.columns, { described, byName });
  return byName;
}
