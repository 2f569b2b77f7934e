/**
 * The two servers the sql sink's tests run against, behind one small interface, so every test
 * file is parameterised by dialect: PostgreSQL (test/helpers/postgres.ts) and MariaDB
 * (test/helpers/mariadb.ts), each started by the harness on a free port.
 */
import { SqlSink, sqlSinkDdl, type SqlSinkOptions } from '../../../src/connectors/sql/sink.js';
import type { SqlSinkConfig } from '../../../src/connectors/sql/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import { silentLogger } from '../../../src/core/logger.js';
import { startMariaDb, type TestMariaDb } from '../../helpers/mariadb.js';
import { startPostgres, type TestPostgres } from '../../helpers/postgres.js';
import { useService } from '../../helpers/service.js';

export interface TestStore {
  readonly dialect: 'postgres' | 'mysql';
  /** A URL the sink connects with (it holds the password). */
  readonly url: string;
  query(sql: string): Promise<Array<Record<string, unknown>>>;
  /** Takes the server away (stop or kill) and returns a function that brings it back. */
  down(how: 'stop' | 'kill'): Promise<() => Promise<void>>;
  close(): Promise<void>;
}

function postgresStore(server: TestPostgres): TestStore {
  return {
    dialect: 'postgres',
    get url() { return server.url; },
    query: (sql) => server.query(sql),
    async down(how) {
      await (how === 'stop' ? server.stop() : server.kill());
      return () => server.start();
    },
    close: () => server.close(),
  };
}

function mariadbStore(server: TestMariaDb): TestStore {
  return {
    dialect: 'mysql',
    get url() { return `mysql://${server.user}:${server.password}@${server.host}:${server.port}/shop`; },
    query: (sql) => server.query<Array<Record<string, unknown>>>(sql),
    async down(how) {
      // The harness has no graceful stop alone: both ways are SIGKILL here (InnoDB recovers at restart).
      void how;
      await server.kill();
      return () => server.restart();
    },
    close: () => server.close(),
  };
}

export const dialects = [
  { name: 'postgres', start: async () => postgresStore(await startPostgres()) },
  { name: 'mariadb', start: async () => mariadbStore(await startMariaDb()) },
] as const;

export function useStore(d: (typeof dialects)[number]): () => TestStore {
  return useService(`useStore(): ${d.name}`, d.start);
}

/** The column set most tests use: a detail row per application. */
export const rowColumns: SqlSinkConfig['columns'] = {
  id: { type: 'bigint', nullable: true },
  user_id: { type: 'text', nullable: true },
  amount: { type: 'decimal', precision: 18, scale: 2, nullable: true },
  status: { type: 'varchar', length: 8, nullable: true },
};

export function sinkConfig(store: TestStore, overrides: Partial<SqlSinkConfig>): SqlSinkConfig {
  return {
    url: store.url, table: 'rows_t', key: ['id'], columns: rowColumns, versionColumn: '_version', deletedColumn: '_deleted',
    changelog: false, batchSize: 500, linger: 0, pool: 2, ...overrides,
  };
}

export interface OpenedSink {
  sink: SqlSink;
  dead: Array<{ record: SinkRecord; reason: string }>;
  write(records: SinkRecord[]): Promise<void>;
}

export async function openSink(config: SqlSinkConfig, options: SqlSinkOptions = {}, name = 'rows'): Promise<OpenedSink> {
  const sink = new SqlSink(name, config, options);
  const dead: OpenedSink['dead'] = [];
  await sink.open({ logger: silentLogger, deadLetter: (record, reason) => dead.push({ record, reason }) });
  return {
    sink,
    dead,
    async write(records) {
      for (const r of records) await sink.add(r);
      await sink.flush();
    },
  };
}

/** Rows of a table as plain text values, ordered by the first column, for comparisons across dialects. */
export async function tableRows(store: TestStore, table: string, columns: string[]): Promise<Array<Record<string, string | null>>> {
  const q = (c: string): string => (store.dialect === 'postgres' ? `"${c}"` : `\`${c}\``);
  const cast = (c: string): string => (store.dialect === 'postgres' ? `${q(c)}::text AS ${q(c)}` : `CAST(${q(c)} AS CHAR) AS ${q(c)}`);
  const rows = await store.query(`SELECT ${columns.map(cast).join(', ')} FROM ${q(table)} ORDER BY ${q(columns[0]!)}`);
  return rows.map((r) => Object.fromEntries(columns.map((c) => [c, r[c] === null || r[c] === undefined ? null : String(r[c])])));
}

/** (Re)creates the sink's table from the DDL `tributary plan` prints, plus `extra` table constraints. */
export async function createTable(store: TestStore, config: SqlSinkConfig, extra = ''): Promise<void> {
  const q = store.dialect === 'postgres' ? `"${config.table}"` : `\`${config.table}\``;
  await store.query(`DROP TABLE IF EXISTS ${q}`);
  const ddl = sqlSinkDdl('rows', config).split('\n').filter((l) => !l.startsWith('--')).join('\n');
  await store.query(extra ? ddl.replace(/\n\);$/, `,\n  ${extra}\n);`) : ddl);
}
