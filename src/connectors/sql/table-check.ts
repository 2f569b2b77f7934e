/**
 * At open(): the table, every mapped column (with the version and deleted-marker columns) and a
 * unique key on exactly the key columns must exist. A mistake there would fail every row; it
 * fails the worker at start instead, naming the table and the columns.
 */
import { TributaryError } from '../../core/errors.js';
import { writtenColumns, type SqlDialect, type TableShape } from './dialect.js';
import type { SqlSession } from './client.js';

interface Found {
  columns: string[];
  uniqueKeys: string[][];
}

async function describePostgres(session: SqlSession, dialect: SqlDialect, shape: TableShape): Promise<Found> {
  const [schema, table] = shape.table.includes('.') ? shape.table.split('.') : [null, shape.table];
  const columns = await session.query(
    'SELECT column_name FROM information_schema.columns WHERE table_schema = COALESCE($1::text, current_schema()::text) AND table_name = $2',
    [schema ?? null, table!],
  );
  const keys = columns.rows.length === 0 ? { rows: [] } : await session.query(
    `SELECT array_to_json(ARRAY(SELECT a.attname::text FROM unnest(i.indkey) AS k JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k)) AS cols
     FROM pg_index i WHERE i.indisunique AND i.indrelid = to_regclass($1)`,
    [shape.table.split('.').map((p) => dialect.quote(p)).join('.')],
  );
  return {
    columns: columns.rows.map((r) => String(r.column_name)),
    uniqueKeys: keys.rows.map((r) => (r.cols as string[]).map(String)),
  };
}

async function describeMysql(session: SqlSession, shape: TableShape): Promise<Found> {
  const [schema, table] = shape.table.includes('.') ? shape.table.split('.') : [null, shape.table];
  const where = 'TABLE_SCHEMA = COALESCE(?, DATABASE()) AND TABLE_NAME = ?';
  const columns = await session.query(`SELECT COLUMN_NAME AS name FROM information_schema.COLUMNS WHERE ${where}`, [schema ?? null, table!]);
  const stats = await session.query(
    `SELECT INDEX_NAME AS idx, COLUMN_NAME AS name FROM information_schema.STATISTICS WHERE ${where} AND NON_UNIQUE = 0`,
    [schema ?? null, table!],
  );
  const byIndex = new Map<string, string[]>();
  for (const r of stats.rows) {
    const list = byIndex.get(String(r.idx)) ?? [];
    list.push(String(r.name).toLowerCase());
    byIndex.set(String(r.idx), list);
  }
  // MySQL column names are case-insensitive.
  return { columns: columns.rows.map((r) => String(r.name).toLowerCase()), uniqueKeys: [...byIndex.values()] };
}

/** Throws a non-retriable TRIB_SINK naming what is missing. */
export async function checkTable(session: SqlSession, dialect: SqlDialect, shape: TableShape, where: string, target: string): Promise<void> {
  const found = dialect.name === 'postgres' ? await describePostgres(session, dialect, shape) : await describeMysql(session, shape);
  const norm = (c: string): string => (dialect.name === 'mysql' ? c.toLowerCase() : c);
  if (found.columns.length === 0) {
    throw new TributaryError('TRIB_SINK', `${where}: table '${shape.table}' does not exist in ${target} (create it: \`tributary plan\` prints the DDL the sink expects)`);
  }
  const have = new Set(found.columns);
  const missing = writtenColumns(shape).filter((c) => !have.has(norm(c)));
  if (missing.length > 0) {
    throw new TributaryError('TRIB_SINK', `${where}: table '${shape.table}' has no column ${missing.map((c) => `'${c}'`).join(', ')} (\`tributary plan\` prints the DDL the sink expects)`);
  }
  const key = new Set(shape.key.map(norm));
  const unique = found.uniqueKeys.some((cols) => cols.length === key.size && cols.every((c) => key.has(c)));
  if (!unique) {
    throw new TributaryError('TRIB_SINK', `${where}: table '${shape.table}' has no primary or unique key on exactly (${shape.key.join(', ')}); the upsert needs one`);
  }
}
