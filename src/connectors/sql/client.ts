/**
 * One small interface over the two drivers (pg, mysql2): a pool of sessions that run a statement
 * with parameters, and a classifier that says what a driver error means for the sink.
 * Clients are created by openSqlPool(), called from the sink's connect(), never at import.
 */
import mysql from 'mysql2/promise';
import pg from 'pg';
import { TributaryError, errorMessage } from '../../core/errors.js';
import type { SqlDialectName, SqlSinkConfig } from './spec.js';
import type { SqlParam } from './values.js';

export interface SqlSession {
  /** Runs one statement; resolves with the rows it returned and the rows it changed. */
  query(sql: string, params?: readonly SqlParam[]): Promise<{ rows: Array<Record<string, unknown>>; affected: number }>;
  /** Back to the pool; `broken` closes the connection instead (after a connection-level error). */
  release(broken?: boolean): void;
}

export interface SqlPool {
  readonly dialect: SqlDialectName;
  /** host:port/database, for logs and messages: never the password. */
  readonly target: string;
  acquire(): Promise<SqlSession>;
  close(): Promise<void>;
}

/** What a driver error means: server gone (wait), transient (retry), the row's fault, or configuration. */
export type SqlOutcome = 'unavailable' | 'transient' | 'record' | 'fatal';

interface Endpoint {
  dialect: SqlDialectName;
  host: string;
  port: number;
  user?: string | undefined;
  password?: string | undefined;
  database?: string | undefined;
}

/** The server to connect to, from the url or the separate fields; the dialect from either. */
export function sqlEndpoint(config: SqlSinkConfig, where: string): Endpoint {
  if (config.url !== undefined) {
    let url: URL;
    try {
      url = new URL(config.url);
    } catch {
      throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: url is not a valid URL`);
    }
    const scheme = url.protocol.replace(/:$/, '');
    const dialect: SqlDialectName = scheme === 'postgres' || scheme === 'postgresql' ? 'postgres' : 'mysql';
    if (config.dialect !== undefined && config.dialect !== dialect) {
      throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: dialect ${config.dialect} does not match the url's scheme ${scheme}://`);
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, ''));
    return {
      dialect,
      host: url.hostname.replace(/^\[|\]$/g, '') || '127.0.0.1',
      port: url.port ? Number(url.port) : dialect === 'postgres' ? 5432 : 3306,
      user: url.username ? decodeURIComponent(url.username) : undefined,
      password: url.password ? decodeURIComponent(url.password) : config.password,
      database: database || config.database,
    };
  }
  if (config.dialect === undefined) throw new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: set 'url' or 'dialect' (postgres or mysql)`);
  return {
    dialect: config.dialect,
    host: config.host ?? '127.0.0.1',
    port: config.port ?? (config.dialect === 'postgres' ? 5432 : 3306),
    user: config.user,
    password: config.password,
    database: config.database,
  };
}

const CONNECT_TIMEOUT_MS = 5_000;

export function openSqlPool(endpoint: Endpoint, size: number): SqlPool {
  const target = `${endpoint.host}:${endpoint.port}/${endpoint.database ?? ''}`;
  return endpoint.dialect === 'postgres' ? postgresPool(endpoint, size, target) : mysqlPool(endpoint, size, target);
}

function postgresPool(e: Endpoint, size: number, target: string): SqlPool {
  const pool = new pg.Pool({
    host: e.host, port: e.port, user: e.user, password: e.password, database: e.database,
    max: size, connectionTimeoutMillis: CONNECT_TIMEOUT_MS, idleTimeoutMillis: 30_000, keepAlive: true,
    application_name: 'tributary',
  });
  // An idle connection the server drops emits 'error' on the pool; without a listener Node exits.
  pool.on('error', () => undefined);
  return {
    dialect: 'postgres',
    target,
    async acquire() {
      const client = await pool.connect();
      // A checked-out connection that dies between statements emits 'error' on the client.
      const ignore = (): void => undefined;
      client.on('error', ignore);
      return {
        async query(sql, params) {
          const result = await client.query(sql, params as unknown[] | undefined);
          return { rows: result.rows as Array<Record<string, unknown>>, affected: result.rowCount ?? 0 };
        },
        release(broken) {
          client.off('error', ignore);
          client.release(broken === true);
        },
      };
    },
    async close() {
      await pool.end();
    },
  };
}

function mysqlPool(e: Endpoint, size: number, target: string): SqlPool {
  const pool = mysql.createPool({
    host: e.host, port: e.port, user: e.user, password: e.password, database: e.database,
    connectionLimit: size, maxIdle: size, connectTimeout: CONNECT_TIMEOUT_MS, enableKeepAlive: true,
    supportBigNumbers: true, bigNumberStrings: true, dateStrings: true,
  });
  const prepared = new WeakSet<object>();
  return {
    dialect: 'mysql',
    target,
    async acquire() {
      const conn = await pool.getConnection();
      if (!prepared.has(conn.connection)) {
        // Strict: a value too long or of the wrong type is an error, never silently truncated.
        // UTC: TIMESTAMP columns read the UTC text the sink sends as UTC (values.ts).
        await conn.query("SET SESSION sql_mode = IF(@@SESSION.sql_mode = '', 'STRICT_ALL_TABLES', CONCAT(@@SESSION.sql_mode, ',STRICT_ALL_TABLES')), time_zone = '+00:00'");
        prepared.add(conn.connection);
      }
      return {
        async query(sql, params) {
          const [result] = await conn.query(sql, params as unknown[] | undefined);
          if (Array.isArray(result)) return { rows: result as Array<Record<string, unknown>>, affected: 0 };
          return { rows: [], affected: (result as { affectedRows?: number }).affectedRows ?? 0 };
        },
        release(broken) {
          if (broken) conn.destroy();
          else conn.release();
        },
      };
    },
    async close() {
      await pool.end();
    },
  };
}

const NETWORK = /ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|Connection terminated|connection timeout|timeout exceeded when trying to connect|not queryable|Pool is closed|PROTOCOL_CONNECTION_LOST|Can't add new command when connection is in closed state|closed state/i;

function field(err: unknown, name: string): string | undefined {
  const v = typeof err === 'object' && err !== null ? (err as Record<string, unknown>)[name] : undefined;
  return typeof v === 'string' ? v : undefined;
}

/** PostgreSQL: by SQLSTATE (https://www.postgresql.org/docs/current/errcodes-appendix.html). */
function classifyPostgres(err: unknown): SqlOutcome {
  const code = field(err, 'code') ?? '';
  if (!/^[0-9A-Z]{5}$/.test(code)) return NETWORK.test(`${code} ${errorMessage(err)}`) ? 'unavailable' : 'fatal';
  // 08 connection exception; 57P01-03 admin/crash shutdown, cannot connect now; 53300 too many connections.
  if (code.startsWith('08') || /^57P0[1-3]$/.test(code) || code === '53300') return 'unavailable';
  // 40001 serialization, 40P01 deadlock, 55P03 lock not available, 53 insufficient resources, 57014 canceled.
  if (code.startsWith('40') || code === '55P03' || code.startsWith('53') || code === '57014') return 'transient';
  // 22 data exception (too long, bad value), 23 integrity constraint, 42804 datatype mismatch, 54000 row too big.
  if (code.startsWith('22') || code.startsWith('23') || code === '42804' || code === '54000') return 'record';
  return 'fatal';
}

const MYSQL_UNAVAILABLE = new Set(['ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR', 'ER_TOO_MANY_USER_CONNECTIONS', 'ER_CONNECTION_KILLED', 'ER_NORMAL_SHUTDOWN']);
const MYSQL_TRANSIENT = new Set(['ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT', 'ER_QUERY_INTERRUPTED', 'ER_CANT_LOCK']);
const MYSQL_RECORD = new Set([
  'ER_TRUNCATED_WRONG_VALUE', 'ER_TRUNCATED_WRONG_VALUE_FOR_FIELD', 'ER_WARN_DATA_OUT_OF_RANGE', 'ER_DATA_TOO_LONG',
  'ER_BAD_NULL_ERROR', 'ER_INVALID_JSON_TEXT', 'ER_CONSTRAINT_FAILED', 'ER_CHECK_CONSTRAINT_VIOLATED', 'ER_NO_DEFAULT_FOR_FIELD',
  'ER_INVALID_CHARACTER_STRING', 'ER_DUP_ENTRY', 'ER_NO_REFERENCED_ROW_2', 'ER_ROW_IS_REFERENCED_2', 'ER_WRONG_VALUE',
  'ER_DIVISION_BY_ZERO', 'WARN_DATA_TRUNCATED', 'ER_INVALID_JSON_TEXT_IN_PARAM',
]);

/** MySQL/MariaDB: by mysql2's error code, its `fatal` flag (the connection is gone) and SQLSTATE. */
function classifyMysql(err: unknown): SqlOutcome {
  const code = field(err, 'code') ?? '';
  const sqlState = field(err, 'sqlState') ?? '';
  const fatal = typeof err === 'object' && err !== null && (err as { fatal?: unknown }).fatal === true;
  if (MYSQL_UNAVAILABLE.has(code) || sqlState.startsWith('08') || NETWORK.test(`${code} ${errorMessage(err)}`)) return 'unavailable';
  if (fatal && !code.startsWith('ER_')) return 'unavailable';
  if (MYSQL_TRANSIENT.has(code) || sqlState === '40001') return 'transient';
  if (MYSQL_RECORD.has(code) || sqlState.startsWith('22') || sqlState.startsWith('23')) return 'record';
  return 'fatal';
}

export function classifySqlError(dialect: SqlDialectName, err: unknown): SqlOutcome {
  return dialect === 'postgres' ? classifyPostgres(err) : classifyMysql(err);
}
