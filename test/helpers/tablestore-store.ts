/**
 * The data side of the wire-level TableStore stand-in: tables, rows, the service's limits and
 * its conditions (row existence + column conditions, single and composite, passIfMissing), as
 * the TableStore documentation describes them. One cell version is kept per column (tables
 * behave as maxVersions 1), which is what the conditions' latestVersionOnly reads anyway.
 */
import { CELL_OP, decodeVariant, type PbCell, type PbRow, type PbValue } from './tablestore-plainbuffer.js';

/** An error the service answers with: its code, message and HTTP status. */
export class OtsFault extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

export const LIMITS = { pkStringBytes: 1024, attributeBytes: 2 * 1024 * 1024, columnName: 255, batchRows: 200, rangeRows: 5000 } as const;
const PK_TYPES: Record<number, PbValue['type']> = { 1: 'integer', 2: 'string', 3: 'binary' };
const VT_NAMES: Record<string, string> = { integer: 'VT_INTEGER', string: 'VT_STRING', binary: 'VT_BLOB', double: 'VT_DOUBLE', boolean: 'VT_BOOLEAN' };

export interface PkSchema { name: string; type: number }
interface StoredCell { value: PbValue; ts: bigint }
export interface StoredRow { pk: PbCell[]; columns: Map<string, StoredCell> }

export interface Filter { type: number; filter: Uint8Array }
export interface FilterCodec {
  decodeFilter(bytes: Uint8Array): Filter;
  decodeSingle(bytes: Uint8Array): { comparator: number; columnName: string; columnValue: Uint8Array; filterIfMissing: boolean; latestVersionOnly: boolean };
  decodeComposite(bytes: Uint8Array): { combinator: number; subFilters: Filter[] };
}

export class StandinTable {
  readonly rows = new Map<string, StoredRow>();
  constructor(readonly name: string, readonly pkSchema: PkSchema[], readonly createdAt: number) {}

  /** Checks a request's primary key against the schema (request-level parameter errors). */
  checkPk(pk: PbCell[], allowInf = false): string {
    if (pk.length !== this.pkSchema.length) {
      throw new OtsFault('OTSParameterInvalid', `The number of primary key columns must be in range: [${this.pkSchema.length}, ${this.pkSchema.length}]. Current count: ${pk.length}.`);
    }
    pk.forEach((cell, i) => {
      const schema = this.pkSchema[i]!;
      if (cell.name !== schema.name) throw new OtsFault('OTSParameterInvalid', `Validate PK name fail. Input: ${cell.name}, Meta: ${schema.name}.`);
      const v = cell.value;
      if (!v) throw new OtsFault('OTSParameterInvalid', `Primary key column '${cell.name}' has no value.`);
      if (allowInf && (v.type === 'inf_min' || v.type === 'inf_max')) return;
      const want = PK_TYPES[schema.type]!;
      if (v.type !== want) throw new OtsFault('OTSParameterInvalid', `Validate PK type fail. Input: ${VT_NAMES[v.type] ?? v.type}, Meta: ${VT_NAMES[want]}.`);
      if (v.type === 'string' && Buffer.byteLength(v.value) > LIMITS.pkStringBytes) {
        throw new OtsFault('OTSParameterInvalid', `The length of primary key column: '${cell.name}' exceeded the MaxLength:${LIMITS.pkStringBytes} with CurrentLength:${Buffer.byteLength(v.value)}.`);
      }
    });
    return keyOf(pk);
  }
}

/** Attribute limits the service enforces per row. */
export function checkAttributes(cells: PbCell[]): void {
  for (const cell of cells) {
    const nameBytes = Buffer.byteLength(cell.name);
    if (nameBytes === 0 || nameBytes > LIMITS.columnName) throw new OtsFault('OTSParameterInvalid', `The length of attribute column name: '${cell.name}' must be in range [1, ${LIMITS.columnName}].`);
    const v = cell.value;
    const size = v?.type === 'string' ? Buffer.byteLength(v.value) : v?.type === 'binary' ? v.value.length : 0;
    if (size > LIMITS.attributeBytes) {
      throw new OtsFault('OTSParameterInvalid', `The length of attribute column: '${cell.name}' exceeds the MaxLength:${LIMITS.attributeBytes} with CurrentLength:${size}.`);
    }
  }
}

export function keyOf(pk: PbCell[]): string {
  return JSON.stringify(pk.map((c) => (c.value?.type === 'integer' ? `i${c.value.value}` : c.value?.type === 'string' ? `s${c.value.value}` : c.value?.type === 'binary' ? `b${c.value.value.toString('hex')}` : '')));
}

function rank(v: PbValue): number {
  return v.type === 'inf_min' ? 0 : v.type === 'inf_max' ? 2 : 1;
}

export function comparePk(a: PbCell[], b: PbCell[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const x = a[i]!.value!;
    const y = b[i]!.value!;
    if (rank(x) !== rank(y)) return rank(x) - rank(y);
    if (x.type === 'integer' && y.type === 'integer') { if (x.value !== y.value) return x.value < y.value ? -1 : 1; continue; }
    if (x.type === 'string' && y.type === 'string') { const c = Buffer.compare(Buffer.from(x.value), Buffer.from(y.value)); if (c !== 0) return c; continue; }
    if (x.type === 'binary' && y.type === 'binary') { const c = Buffer.compare(x.value, y.value); if (c !== 0) return c; }
  }
  return 0;
}

function compareValues(stored: PbValue, given: PbValue): number | undefined {
  if ((stored.type === 'integer' || stored.type === 'double') && (given.type === 'integer' || given.type === 'double')) {
    if (stored.type === 'integer' && given.type === 'integer') return stored.value === given.value ? 0 : stored.value < given.value ? -1 : 1;
    const a = Number(stored.value);
    const b = Number(given.value);
    return a === b ? 0 : a < b ? -1 : 1;
  }
  if (stored.type !== given.type) return undefined;
  if (stored.type === 'string' && given.type === 'string') return Buffer.compare(Buffer.from(stored.value), Buffer.from(given.value));
  if (stored.type === 'boolean' && given.type === 'boolean') return Number(stored.value) - Number(given.value);
  if (stored.type === 'binary' && given.type === 'binary') return Buffer.compare(stored.value, given.value);
  return undefined;
}

/** Evaluates a serialized Filter (a condition's column_condition, or a read filter) on a row (undefined: missing row). */
export function evaluateFilter(codec: FilterCodec, bytes: Uint8Array, row: StoredRow | undefined): boolean {
  const filter = codec.decodeFilter(bytes);
  return evaluate(codec, filter, row);
}

function evaluate(codec: FilterCodec, filter: Filter, row: StoredRow | undefined): boolean {
  if (filter.type === 1) {
    const f = codec.decodeSingle(filter.filter);
    const cell = row?.columns.get(f.columnName);
    if (!cell) return !f.filterIfMissing;
    const c = compareValues(cell.value, decodeVariant(f.columnValue));
    if (c === undefined) return f.comparator === 2;
    switch (f.comparator) {
      case 1: return c === 0;
      case 2: return c !== 0;
      case 3: return c > 0;
      case 4: return c >= 0;
      case 5: return c < 0;
      case 6: return c <= 0;
      default: throw new OtsFault('OTSParameterInvalid', `Invalid comparator: ${f.comparator}.`);
    }
  }
  if (filter.type === 2) {
    const f = codec.decodeComposite(filter.filter);
    const subs = f.subFilters;
    if (f.combinator === 1) {
      if (subs.length !== 1) throw new OtsFault('OTSParameterInvalid', 'The NOT combinator takes exactly one sub condition.');
      return !evaluate(codec, subs[0]!, row);
    }
    if (subs.length < 2) throw new OtsFault('OTSParameterInvalid', 'A composite condition needs at least two sub conditions.');
    if (f.combinator === 2) return subs.every((s) => evaluate(codec, s, row));
    if (f.combinator === 3) return subs.some((s) => evaluate(codec, s, row));
    throw new OtsFault('OTSParameterInvalid', `Invalid logical operator: ${f.combinator}.`);
  }
  throw new OtsFault('OTSParameterInvalid', `Filter type ${filter.type} is not supported as a row condition.`);
}

/** Row existence (0 IGNORE, 1 EXPECT_EXIST, 2 EXPECT_NOT_EXIST) and the column condition. */
export function checkCondition(codec: FilterCodec, condition: { rowExistence: number; columnCondition?: Uint8Array | null }, row: StoredRow | undefined): void {
  const failed = (): OtsFault => new OtsFault('OTSConditionCheckFail', 'Condition check failed.', 403);
  if (condition.rowExistence === 1 && !row) throw failed();
  if (condition.rowExistence === 2 && row) throw failed();
  if (condition.columnCondition && condition.columnCondition.length > 0 && !evaluateFilter(codec, condition.columnCondition, row)) throw failed();
}

/** PutRow: the row is replaced. */
export function putRow(table: StandinTable, change: PbRow, now: bigint): void {
  const key = table.checkPk(change.pk);
  const columns = new Map<string, StoredCell>();
  for (const cell of change.cells) {
    if (!cell.value) throw new OtsFault('OTSParameterInvalid', `Attribute column '${cell.name}' has no value.`);
    columns.set(cell.name, { value: cell.value, ts: cell.timestamp ?? now });
  }
  table.rows.set(key, { pk: change.pk, columns });
}

/** UpdateRow: PUT cells set, DELETE_ALL / DELETE_ONE remove, INCREMENT adds. */
export function updateRow(table: StandinTable, change: PbRow, now: bigint): void {
  const key = table.checkPk(change.pk);
  const row = table.rows.get(key) ?? { pk: change.pk, columns: new Map<string, StoredCell>() };
  for (const cell of change.cells) {
    if (cell.op === CELL_OP.DELETE_ALL_VERSION) row.columns.delete(cell.name);
    else if (cell.op === CELL_OP.DELETE_ONE_VERSION) { if (row.columns.get(cell.name)?.ts === cell.timestamp) row.columns.delete(cell.name); }
    else if (cell.op === CELL_OP.INCREMENT) {
      const old = row.columns.get(cell.name)?.value;
      if (cell.value?.type !== 'integer' || (old && old.type !== 'integer')) throw new OtsFault('OTSParameterInvalid', `Increment needs integer values (column '${cell.name}').`);
      row.columns.set(cell.name, { value: { type: 'integer', value: (old?.type === 'integer' ? old.value : 0n) + cell.value.value }, ts: now });
    } else {
      if (!cell.value) throw new OtsFault('OTSParameterInvalid', `Attribute column '${cell.name}' has no value.`);
      row.columns.set(cell.name, { value: cell.value, ts: cell.timestamp ?? now });
    }
  }
  table.rows.set(key, row);
}

/** A stored row as the service returns it (only `columns` when given, every cell with its timestamp). */
export function outputRow(row: StoredRow, columns?: string[]): PbRow {
  const wanted = columns && columns.length > 0 ? new Set(columns) : undefined;
  const cells: PbCell[] = [];
  for (const [name, cell] of [...row.columns].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
    if (!wanted || wanted.has(name)) cells.push({ name, value: cell.value, timestamp: cell.ts });
  }
  return { pk: row.pk, cells, deleteMarker: false };
}
