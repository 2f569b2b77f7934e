/**
 * Table discovery for the snapshot from information_schema: which tables a spec names, their
 * columns (as ColumnDescriptors, see snapshot-values.ts) and their primary key.
 * Table specs are 'db.table' or 'db.*' (every base table of db, by name).
 */
import type { Connection } from 'mysql2/promise';
import { TributaryError } from '../../core/errors.js';
import { describeColumn, type ColumnDescriptor, type ColumnInfo } from './snapshot-values.js';
import { keyColumnProblem } from './snapshot-order.js';

export interface TableShape {
  /** 'db.table', the name used in state, chunks and includesChange(). */
  id: string;
  db: string;
  table: string;
  columns: ColumnDescriptor[];
  /** Primary key columns in key order. */
  pk: ColumnDescriptor[];
  /** Index of each pk column in `columns`. */
  pkIndex: number[];
}

export function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

function splitSpec(spec: string): [string, string] {
  const dot = spec.indexOf('.');
  if (dot <= 0 || dot === spec.length - 1) {
    throw new TributaryError('TRIB_SOURCE', `snapshot table "${spec}" must be qualified as db.table or db.*`);
  }
  return [spec.slice(0, dot), spec.slice(dot + 1)];
}

async function rows<T>(conn: Connection, sql: string, values: unknown[]): Promise<T[]> {
  const [result] = await conn.query(sql, values);
  return result as T[];
}

/** Expands specs to existing base tables, in spec order, without duplicates. */
export async function resolveTables(conn: Connection, specs: readonly string[]): Promise<Array<[string, string]>> {
  const out: Array<[string, string]> = [];
  const seen = new Set<string>();
  for (const spec of specs) {
    const [db, table] = splitSpec(spec);
    const found = await rows<{ TABLE_NAME: string }>(conn,
      `SELECT TABLE_NAME AS TABLE_NAME FROM information_schema.TABLES
        WHERE TABLE_SCHEMA = ? AND TABLE_TYPE = 'BASE TABLE' ${table === '*' ? '' : 'AND TABLE_NAME = ?'}
        ORDER BY TABLE_NAME`, table === '*' ? [db] : [db, table]);
    if (found.length === 0 && table !== '*') {
      throw new TributaryError('TRIB_SOURCE', `snapshot table ${db}.${table} does not exist (or is a view)`);
    }
    for (const { TABLE_NAME } of found) {
      if (!seen.has(`${db}.${TABLE_NAME}`)) out.push([db, TABLE_NAME]);
      seen.add(`${db}.${TABLE_NAME}`);
    }
  }
  return out;
}

/** MariaDB declares JSON as LONGTEXT CHECK (json_valid(`col`)): find those columns. */
async function mariaDbJsonColumns(conn: Connection, db: string, table: string): Promise<Set<string>> {
  const checks = await rows<{ CHECK_CLAUSE: string }>(conn,
    `SELECT CHECK_CLAUSE AS CHECK_CLAUSE FROM information_schema.CHECK_CONSTRAINTS
      WHERE CONSTRAINT_SCHEMA = ? AND TABLE_NAME = ?`, [db, table]);
  const names = new Set<string>();
  for (const { CHECK_CLAUSE } of checks) {
    const m = /^json_valid\(`((?:[^`]|``)+)`\)$/i.exec(CHECK_CLAUSE.trim());
    if (m) names.add(m[1].replace(/``/g, '`'));
  }
  return names;
}

/**
 * Columns and primary key of one table. A table without a primary key is refused: chunks,
 * resume points and the key of every emitted record all come from it.
 */
export async function describeTable(conn: Connection, db: string, table: string, isMariaDb: boolean): Promise<TableShape> {
  const id = `${db}.${table}`;
  const infos = await rows<ColumnInfo>(conn,
    `SELECT COLUMN_NAME AS COLUMN_NAME, DATA_TYPE AS DATA_TYPE, COLUMN_TYPE AS COLUMN_TYPE,
            NUMERIC_PRECISION AS NUMERIC_PRECISION, NUMERIC_SCALE AS NUMERIC_SCALE,
            DATETIME_PRECISION AS DATETIME_PRECISION, CHARACTER_SET_NAME AS CHARACTER_SET_NAME,
            COLLATION_NAME AS COLLATION_NAME
       FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION`, [db, table]);
  const json = isMariaDb ? await mariaDbJsonColumns(conn, db, table) : new Set<string>();
  const columns = infos.map((info) => describeColumn({ ...info, isJson: json.has(info.COLUMN_NAME) }));
  const keyRows = await rows<{ COLUMN_NAME: string; SUB_PART: number | string | null }>(conn,
    `SELECT COLUMN_NAME AS COLUMN_NAME, SUB_PART AS SUB_PART FROM information_schema.STATISTICS
      WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? AND INDEX_NAME = 'PRIMARY' ORDER BY SEQ_IN_INDEX`, [db, table]);
  if (keyRows.length === 0) {
    throw new TributaryError('TRIB_SOURCE',
      `table ${id} has no primary key: the snapshot reads, resumes and keys records by primary key; add one or leave the table out`);
  }
  const pkIndex = keyRows.map(({ COLUMN_NAME, SUB_PART }) => {
    const i = columns.findIndex((c) => c.name === COLUMN_NAME);
    const problem = i < 0 ? `primary key column ${COLUMN_NAME} not found` :
      SUB_PART !== null ? `primary key column ${COLUMN_NAME} is a prefix key (${SUB_PART} chars)` : keyColumnProblem(columns[i]);
    if (problem) throw new TributaryError('TRIB_SOURCE', `table ${id}: ${problem}`);
    return i;
  });
  return { id, db, table, columns, pk: pkIndex.map((i) => columns[i]), pkIndex };
}
