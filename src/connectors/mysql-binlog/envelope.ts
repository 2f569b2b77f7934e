/**
 * A streamed row change as the DESIGN.md envelope:
 *   {op: c|u|d, before, after, source: {server_id, gtid, file, pos, ts_ms, db, table}}
 * Column values follow snapshot-values.ts (one rule for snapshot and stream), plus the
 * `timezone` rule for DATETIME (datetime-zone.ts). `source.pos` is the start of the change's
 * transaction in `file` (a resumable position), `gtid` its GTID when the server writes them.
 * The record key is the primary key: the value itself for a one-column key, an array of the
 * values in key order for a composite key (the same form as snapshot rows).
 */
import type { Row, Value } from '../../core/record.js';
import { normalizeValue, type ColumnDescriptor } from './snapshot-values.js';
import type { TableShape } from './snapshot-schema.js';
import type { DatetimeRule } from './datetime-zone.js';
import type { RowChange } from './stream.js';
import { rowDescriptors, type BinlogColumns } from './binlog-columns.js';

/** A column the descriptors do not know (a DDL raced the stream): keep what zongji decoded, JSON-safe. */
function fallbackValue(raw: unknown): Value {
  if (raw === null || raw === undefined) return null;
  if (Buffer.isBuffer(raw)) return raw.toString('base64');
  if (typeof raw === 'bigint') return raw.toString();
  if (raw instanceof Date) return raw.toISOString();
  return raw as Value;
}

/**
 * One row image in the envelope form. `binlog` is the row's table map (types as of the row):
 * where information_schema's shape disagrees with it (an ALTER TABLE the stream has not reached
 * yet), the binlog's type converts the value (binlog-columns.ts).
 */
export function convertRow(shape: TableShape, raw: Record<string, unknown>, datetime: DatetimeRule, binlog?: BinlogColumns): Row {
  const byName: Map<string, ColumnDescriptor> = rowDescriptors(shape.columns, binlog);
  const row: Row = {};
  for (const [name, value] of Object.entries(raw)) {
    const col = byName.get(name);
    if (!col) {
      row[name] = fallbackValue(value);
      continue;
    }
    // zongji decodes GEOMETRY into points/arrays and drops the bytes: keep its form (not the snapshot's base64).
    if (col.kind === 'geometry' && !Buffer.isBuffer(value)) {
      row[name] = fallbackValue(value);
      continue;
    }
    const v = normalizeValue(col, value);
    row[name] = col.kind === 'datetime' && typeof v === 'string' ? datetime(v) : v;
  }
  return row;
}

export function primaryKey(shape: TableShape, row: Row): Value {
  const values = shape.pkIndex.map((i) => row[shape.columns[i].name] ?? null);
  return values.length === 1 ? values[0] : values;
}

export interface Envelope { key: Value; value: Row }

export function envelope(change: RowChange, shape: TableShape, datetime: DatetimeRule, serverId: number): Envelope {
  const before = change.before ? convertRow(shape, change.before, datetime, change.binlog) : null;
  const after = change.after ? convertRow(shape, change.after, datetime, change.binlog) : null;
  const source: Row = {
    server_id: change.serverId ?? serverId, gtid: change.gtid ?? null, file: change.txn.file, pos: change.txn.pos,
    ts_ms: change.tsMs, db: change.db, table: change.table,
  };
  return { key: primaryKey(shape, (after ?? before)!), value: { op: change.op, before, after, source } };
}
