/**
 * Records -> TableStore row operations, pure (no SDK, no I/O).
 *
 * Types (TableStore attribute columns are schema-free, so the value decides unless `types` pins
 * a column):
 *   integer number (safe)   -> INTEGER (int64)     non-integer number -> DOUBLE
 *   string                  -> STRING  (decimals from CDC arrive as strings and stay exact)
 *   boolean                 -> BOOLEAN             object / array      -> STRING holding JSON
 *   null                    -> put: column left out; update: column deleted
 * `types` converts: integer accepts integral numbers and digit strings (int64 range), double
 * any finite number or numeric string, string anything (JSON for objects), json anything.
 *
 * Changelog input and versions follow the rule every upsert sink shares (../upsert.ts); the
 * version column is INTEGER, so a version must be an integer (epoch ms, a counter).
 * Ordering of two writes of one row: (version, delete-after-upsert) — a delete at version v
 * beats an upsert at v, so a replayed upsert cannot undo the delete that followed it.
 */
import { TributaryError } from '../../core/errors.js';
import type { Row, Value } from '../../core/record.js';
import { compileTemplate, type Template } from '../kafka/template.js';
import type { SinkRecord } from '../types.js';
import { guardedWrites } from '../upsert.js';
import type { TablestoreSinkConfig } from './spec.js';

/** An attribute cell: bigint = INTEGER, number = DOUBLE. */
export type Cell = string | number | bigint | boolean;
export type PkValue = string | bigint;

export const TOMBSTONE_COLUMN = '_deleted';

export interface RowOp {
  kind: 'upsert' | 'delete';
  pk: Array<[string, PkValue]>;
  /** Identity of the row within a batch (the primary key as text). */
  id: string;
  /** upsert: cells to write (the version cell last). */
  cells: Array<[string, Cell]>;
  /** upsert with write: update: columns to delete. */
  clear: string[];
  version: bigint;
  record: SinkRecord;
}

type ColumnType = NonNullable<TablestoreSinkConfig['types']>[string];

interface PkPart {
  name: string;
  template: Template;
  type: 'string' | 'integer';
}

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;

export function recordInvalid(message: string): TributaryError {
  return new TributaryError('TRIB_RECORD_INVALID', message);
}

/** Compiles the sink's row mapping once; `toOps` then turns each record into 0..2 operations. */
export class RowMapper {
  private readonly pk: PkPart[];
  private readonly pkNames: Set<string>;
  private readonly columns: Array<[string, string]> | undefined;
  private readonly types: Record<string, ColumnType>;
  private readonly versionColumn: string;

  constructor(private readonly config: TablestoreSinkConfig, where: string) {
    const fail = (message: string): TributaryError => new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: ${message}`);
    if (config.primaryKey.length > 4) throw fail('TableStore tables have at most 4 primary key columns');
    this.pk = config.primaryKey.map((p) => ({ name: p.name, template: compileTemplate(p.value ?? `{${p.name}}`), type: p.type ?? 'string' }));
    this.pkNames = new Set(this.pk.map((p) => p.name));
    if (this.pkNames.size !== this.pk.length) throw fail('a primary key column is listed twice');
    const cols = config.columns;
    this.columns = cols === undefined ? undefined : Array.isArray(cols) ? cols.map((c) => [c, c]) : Object.entries(cols);
    this.versionColumn = config.versionColumn ?? '_v';
    const reserved = new Set([this.versionColumn, TOMBSTONE_COLUMN]);
    for (const [column] of this.columns ?? []) {
      if (this.pkNames.has(column)) throw fail(`column '${column}' is a primary key column`);
      if (reserved.has(column)) throw fail(`column '${column}' is reserved (version / tombstone)`);
    }
    if (this.pkNames.has(this.versionColumn)) throw fail(`versionColumn '${this.versionColumn}' is a primary key column`);
    this.types = config.types ?? {};
  }

  /** The operations one record asks for; throws TRIB_RECORD_INVALID for a record that cannot be written. */
  toOps(record: SinkRecord): RowOp[] {
    const writes = guardedWrites(record, {
      changelog: this.config.changelog ?? false,
      version: this.config.version,
      keyOf: (row) => pkId(this.primaryKey(record, row)),
    });
    return writes.map((w) => {
      const pk = this.primaryKey(record, w.row);
      const version = toInt64(w.version, this.config.version === undefined ? 'event time' : `version field '${this.config.version}'`);
      if (w.kind === 'delete') return { kind: 'delete', pk, id: pkId(pk), cells: [], clear: [], version, record };
      return { kind: 'upsert', pk, id: pkId(pk), ...this.cells(w.row, version), version, record };
    });
  }

  private cells(row: Row, version: bigint): Pick<RowOp, 'cells' | 'clear'> {
    const cells: Array<[string, Cell]> = [];
    const clear: string[] = [];
    for (const [column, field] of this.columns ?? this.defaultColumns(row)) {
      if (!Object.hasOwn(row, field)) {
        if (this.columns) throw recordInvalid(`field '${field}' (column '${column}') is missing from the row`);
        continue;
      }
      const v = row[field]!;
      if (v === null) clear.push(column);
      else cells.push([column, this.cell(column, v)]);
    }
    cells.push([this.versionColumn, version]);
    return { cells, clear };
  }

  private defaultColumns(row: Row): Array<[string, string]> {
    const out: Array<[string, string]> = [];
    for (const field of Object.keys(row)) {
      if (this.pkNames.has(field)) continue;
      if (field === this.versionColumn || field === TOMBSTONE_COLUMN) {
        throw recordInvalid(`row field '${field}' collides with the ${field === TOMBSTONE_COLUMN ? 'tombstone' : 'version'} column; rename it or list 'columns'`);
      }
      out.push([field, field]);
    }
    return out;
  }

  private primaryKey(record: SinkRecord, row: Row): Array<[string, PkValue]> {
    return this.pk.map((p) => {
      const text = p.template.render({ key: record.key, row });
      return [p.name, p.type === 'integer' ? toInt64(text, `primary key '${p.name}'`) : text];
    });
  }

  private cell(column: string, v: Exclude<Value, null>): Cell {
    const type = this.types[column];
    const what = `column '${column}'`;
    switch (type) {
      case undefined:
        if (typeof v === 'number') return Number.isSafeInteger(v) ? BigInt(v) : finite(v, what);
        if (typeof v === 'string' || typeof v === 'boolean') return v;
        return JSON.stringify(v);
      case 'integer':
        return toInt64(v, what);
      case 'double': {
        const n = typeof v === 'string' && v.trim() !== '' ? Number(v) : v;
        if (typeof n !== 'number') throw recordInvalid(`${what} wants a double, got ${JSON.stringify(v)}`);
        return finite(n, what);
      }
      case 'boolean':
        if (typeof v === 'boolean') return v;
        if (v === 'true' || v === 1) return true;
        if (v === 'false' || v === 0) return false;
        throw recordInvalid(`${what} wants a boolean, got ${JSON.stringify(v)}`);
      case 'string':
        return typeof v === 'string' ? v : typeof v === 'object' ? JSON.stringify(v) : String(v);
      case 'json':
        return JSON.stringify(v);
    }
  }
}

function finite(n: number, what: string): number {
  if (!Number.isFinite(n)) throw recordInvalid(`${what} is not a finite number (${n})`);
  return n;
}

/** An int64 from an integral number or a digit string. */
export function toInt64(v: Value | undefined, what: string): bigint {
  let n: bigint | undefined;
  if (typeof v === 'number' && Number.isSafeInteger(v)) n = BigInt(v);
  else if (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v)) n = BigInt(v.trim());
  if (n === undefined || n < INT64_MIN || n > INT64_MAX) throw recordInvalid(`${what} is not an int64 integer (got ${JSON.stringify(v ?? null)})`);
  return n;
}

function pkId(pk: Array<[string, PkValue]>): string {
  return pk.map(([, v]) => (typeof v === 'bigint' ? `i${v}` : `s${v}`)).join('\u0000');
}

/**
 * The operations a batch must send: one per row (BatchWriteRow refuses a row twice), the one
 * that wins under the guard's order — higher version, a delete over an upsert at one version,
 * then the later one. The others are returned as superseded (they would be skipped as stale).
 */
export function collapse(ops: RowOp[]): { winners: RowOp[]; superseded: RowOp[] } {
  const best = new Map<string, RowOp>();
  const superseded: RowOp[] = [];
  for (const op of ops) {
    const prev = best.get(op.id);
    if (!prev) {
      best.set(op.id, op);
      continue;
    }
    const wins = op.version > prev.version || (op.version === prev.version && (op.kind === 'delete' || prev.kind === 'upsert'));
    if (wins) {
      best.set(op.id, op);
      superseded.push(prev);
    } else superseded.push(op);
  }
  return { winners: [...best.values()], superseded };
}
