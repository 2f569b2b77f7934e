/**
 * The statements the sql sink runs, per dialect. Pure: text only, parameters in column order
 * (the mapped columns, then the version, then the deleted marker when there is one).
 *
 * The version guard lives inside the statement, so "compare, then write" is one atomic step on
 * the server and a replay can never overwrite a newer row (connectors/upsert.ts has the rule):
 *   an upsert applies when  stored version < new version, or equal and the row is not a tombstone;
 *   a tombstone applies when stored version <= new version.
 * PostgreSQL: INSERT ... ON CONFLICT (keys) DO UPDATE SET ... WHERE <guard>.
 * MySQL/MariaDB: INSERT ... ON DUPLICATE KEY UPDATE col = IF(<guard>, VALUES(col), col) for every
 * column. MySQL evaluates the assignments left to right and later ones see earlier results, so
 * the deleted marker comes second to last (setting it false only widens the upsert guard) and the
 * version last (the guard reads the stored version).
 */
import type { SqlColumnConfig, SqlColumnType, SqlDialectName } from './spec.js';

export interface SqlColumn extends SqlColumnConfig {
  name: string;
}

/** The table as the sink writes it. */
export interface TableShape {
  /** `table` or `schema.table`. */
  table: string;
  key: readonly string[];
  /** Every mapped column, key columns included, in parameter order. */
  columns: readonly SqlColumn[];
  versionColumn: string;
  /** Present with changelog input: deletes become tombstones. */
  deletedColumn?: string | undefined;
}

export interface SqlDialect {
  readonly name: SqlDialectName;
  quote(identifier: string): string;
  /** INSERT of `rows` upserts, version-guarded. */
  upsert(shape: TableShape, rows: number): string;
  /** INSERT of `rows` tombstones (row values from the before-image, marker true), version-guarded. */
  tombstone(shape: TableShape, rows: number): string;
  /** The CREATE TABLE the sink expects. */
  ddl(shape: TableShape): string;
  /** Largest number of parameters one statement may carry. */
  readonly maxParams: number;
}

/** Every column the statements write, in parameter order. */
export function writtenColumns(shape: TableShape): string[] {
  return [...shape.columns.map((c) => c.name), shape.versionColumn, ...(shape.deletedColumn ? [shape.deletedColumn] : [])];
}

function tableName(shape: TableShape, quote: (id: string) => string): string {
  return shape.table.split('.').map(quote).join('.');
}

function valuesList(columns: number, rows: number, placeholder: (i: number) => string): string {
  const out: string[] = [];
  let i = 0;
  for (let r = 0; r < rows; r++) {
    const one: string[] = [];
    for (let c = 0; c < columns; c++) one.push(placeholder(++i));
    out.push(`(${one.join(', ')})`);
  }
  return out.join(', ');
}

function columnType(dialect: SqlDialectName, c: SqlColumn, isKey: boolean): string {
  const pg = dialect === 'postgres';
  const types: Record<SqlColumnType, string> = {
    // MySQL cannot index an unbounded TEXT: a text key column is a VARCHAR there.
    text: pg ? 'text' : isKey ? `VARCHAR(${c.length ?? 255})` : 'TEXT',
    varchar: pg ? `varchar(${c.length ?? 255})` : `VARCHAR(${c.length ?? 255})`,
    integer: pg ? 'integer' : 'INT',
    bigint: pg ? 'bigint' : 'BIGINT',
    decimal: `${pg ? 'numeric' : 'DECIMAL'}(${c.precision ?? 18},${c.scale ?? 2})`,
    double: pg ? 'double precision' : 'DOUBLE',
    boolean: pg ? 'boolean' : 'BOOLEAN',
    timestamp: pg ? 'timestamptz(3)' : 'DATETIME(3)',
    date: pg ? 'date' : 'DATE',
    json: pg ? 'jsonb' : 'JSON',
  };
  return types[c.type];
}

function ddl(dialect: SqlDialectName, quote: (id: string) => string, shape: TableShape): string {
  const pg = dialect === 'postgres';
  const lines = shape.columns.map((c) => {
    const isKey = shape.key.includes(c.name);
    return `  ${quote(c.name)} ${columnType(dialect, c, isKey)}${isKey || c.nullable === false ? ' NOT NULL' : ''}`;
  });
  lines.push(`  ${quote(shape.versionColumn)} ${pg ? 'double precision' : 'DOUBLE'} NOT NULL`);
  if (shape.deletedColumn) lines.push(`  ${quote(shape.deletedColumn)} ${pg ? 'boolean' : 'BOOLEAN'} NOT NULL DEFAULT FALSE`);
  lines.push(`  PRIMARY KEY (${shape.key.map(quote).join(', ')})`);
  return `CREATE TABLE ${tableName(shape, quote)} (\n${lines.join(',\n')}\n);`;
}

/** `INSERT INTO table [AS cur] (columns) VALUES (...), ...` for `rows` rows. */
function insertRows(shape: TableShape, rows: number, quote: (id: string) => string, placeholder: (i: number) => string, alias = ''): string {
  const cols = writtenColumns(shape);
  return `INSERT INTO ${tableName(shape, quote)}${alias} (${cols.map(quote).join(', ')}) VALUES ${valuesList(cols.length, rows, placeholder)}`;
}

const pgParam = (i: number): string => `$${i}`;
const myParam = (): string => '?';
const pgQuote = (id: string): string => `"${id.replace(/"/g, '""')}"`;
const myQuote = (id: string): string => '`' + id.replace(/`/g, '``') + '`';

export const postgresDialect: SqlDialect = {
  name: 'postgres',
  quote: pgQuote,
  maxParams: 65_535,
  upsert(shape, rows) {
    const cols = writtenColumns(shape);
    const v = pgQuote(shape.versionColumn);
    const set = cols.filter((c) => !shape.key.includes(c)).map((c) => `${pgQuote(c)} = EXCLUDED.${pgQuote(c)}`);
    const guard = shape.deletedColumn
      ? `cur.${v} < EXCLUDED.${v} OR (cur.${v} = EXCLUDED.${v} AND NOT cur.${pgQuote(shape.deletedColumn)})`
      : `cur.${v} <= EXCLUDED.${v}`;
    return `${insertRows(shape, rows, pgQuote, pgParam, ' AS cur')} ON CONFLICT (${shape.key.map(pgQuote).join(', ')}) DO UPDATE SET ${set.join(', ')} WHERE ${guard}`;
  },
  tombstone(shape, rows) {
    const v = pgQuote(shape.versionColumn);
    const d = pgQuote(shape.deletedColumn ?? '_deleted');
    return `${insertRows(shape, rows, pgQuote, pgParam, ' AS cur')} ON CONFLICT (${shape.key.map(pgQuote).join(', ')})` +
      ` DO UPDATE SET ${d} = TRUE, ${v} = EXCLUDED.${v} WHERE cur.${v} <= EXCLUDED.${v}`;
  },
  ddl: (shape) => ddl('postgres', pgQuote, shape),
};

export const mysqlDialect: SqlDialect = {
  name: 'mysql',
  quote: myQuote,
  // Values are escaped into the text client-side (mysql2 query()); this only bounds statement size.
  maxParams: 65_535,
  upsert(shape, rows) {
    const cols = writtenColumns(shape);
    const v = myQuote(shape.versionColumn);
    const guard = shape.deletedColumn
      ? `${v} < VALUES(${v}) OR (${v} = VALUES(${v}) AND NOT ${myQuote(shape.deletedColumn)})`
      : `${v} <= VALUES(${v})`;
    // The version column must come last (see the header); writtenColumns puts the marker after it.
    const order = [...cols.filter((c) => !shape.key.includes(c) && c !== shape.versionColumn), shape.versionColumn];
    const set = order.map((c) => `${myQuote(c)} = IF(${guard}, VALUES(${myQuote(c)}), ${myQuote(c)})`);
    return `${insertRows(shape, rows, myQuote, myParam)} ON DUPLICATE KEY UPDATE ${set.join(', ')}`;
  },
  tombstone(shape, rows) {
    const v = myQuote(shape.versionColumn);
    const d = myQuote(shape.deletedColumn ?? '_deleted');
    const guard = `${v} <= VALUES(${v})`;
    return `${insertRows(shape, rows, myQuote, myParam)} ON DUPLICATE KEY UPDATE ${d} = IF(${guard}, TRUE, ${d}), ${v} = IF(${guard}, VALUES(${v}), ${v})`;
  },
  ddl: (shape) => ddl('mysql', myQuote, shape),
};

export function dialectFor(name: SqlDialectName): SqlDialect {
  return name === 'postgres' ? postgresDialect : mysqlDialect;
}
