/**
 * Row value -> statement parameter, by the column's declared type. Pure. A value the type cannot
 * hold throws TRIB_RECORD_INVALID naming the column (the record goes to the dead letters); limits
 * only the store knows (a varchar's length, an integer's range, a constraint) are left to it.
 *
 * Exactness: whole numbers beyond 2^53 and decimals travel as digit text and the server parses
 * them, so no value goes through a JS float on the way (a number the row already holds is written
 * as its shortest round-trip text, e.g. 0.1 -> '0.1').
 *
 * Time zones: a timestamp is an instant, stored in UTC. Epoch milliseconds, or ISO-8601 text with
 * a zone (Z or +hh:mm), name the instant; ISO text without a zone (a MySQL DATETIME read from the
 * binlog) is taken as UTC. PostgreSQL gets ISO text with Z (`timestamptz`, independent of the
 * session's TimeZone); MySQL gets 'YYYY-MM-DD hh:mm:ss.sss' in UTC (`DATETIME(3)`, and the sink's
 * sessions run with time_zone '+00:00' so a TIMESTAMP column reads it as UTC too). Millisecond
 * precision.
 */
import { TributaryError } from '../../core/errors.js';
import type { Value } from '../../core/record.js';
import type { SqlColumnType, SqlDialectName } from './spec.js';

export type SqlParam = string | number | boolean | null;

const INTEGER = /^[+-]?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;
const ISO = /^(\d{4}-\d{2}-\d{2})(?:[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)(Z|[+-]\d{2}:?\d{2})?)?$/i;

function invalid(column: string, type: string, value: Value): TributaryError {
  const shown = JSON.stringify(value);
  return new TributaryError('TRIB_RECORD_INVALID', `column '${column}' (${type}): cannot convert ${shown.length > 80 ? `${shown.slice(0, 80)}...` : shown}`);
}

function instant(column: string, value: Value): Date {
  let ms: number = Number.NaN;
  if (typeof value === 'number') ms = value;
  else if (typeof value === 'string') {
    const text = value.trim();
    const m = ISO.exec(text);
    if (INTEGER.test(text)) ms = Number(text);
    else if (m) ms = Date.parse(`${m[1]}T${m[2] ?? '00:00:00'}${m[3] ?? 'Z'}`);
  }
  const date = new Date(ms);
  if (!Number.isFinite(date.getTime())) throw invalid(column, 'timestamp', value);
  return date;
}

function text(value: Value): string {
  return typeof value === 'string' ? value : typeof value === 'object' ? JSON.stringify(value) : String(value);
}

/** The parameter for `value` in a column of `type`; null stays NULL (a NOT NULL column refuses it). */
export function toParam(column: string, type: SqlColumnType, value: Value, dialect: SqlDialectName): SqlParam {
  if (value === null) return null;
  switch (type) {
    case 'text':
    case 'varchar':
      return text(value);
    case 'json':
      return JSON.stringify(value);
    case 'integer':
    case 'bigint':
      if (typeof value === 'number' && Number.isSafeInteger(value)) return value;
      if (typeof value === 'string' && INTEGER.test(value.trim())) return value.trim();
      throw invalid(column, type, value);
    case 'decimal':
    case 'double':
      if (typeof value === 'number' && Number.isFinite(value)) return String(value);
      if (typeof value === 'string' && DECIMAL.test(value.trim())) return value.trim();
      throw invalid(column, type, value);
    case 'boolean':
      if (typeof value === 'boolean') return value;
      if (value === 0 || value === 1) return value === 1;
      if (typeof value === 'string' && /^(true|false|t|f|0|1)$/i.test(value.trim())) return /^(true|t|1)$/i.test(value.trim());
      throw invalid(column, type, value);
    case 'timestamp': {
      const iso = instant(column, value).toISOString();
      return dialect === 'postgres' ? iso : iso.slice(0, 23).replace('T', ' ');
    }
    case 'date': {
      if (typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value.trim())) return value.trim();
      return instant(column, value).toISOString().slice(0, 10);
    }
  }
}
