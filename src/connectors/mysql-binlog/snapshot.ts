/**
 * The consistent, chunked, resumable initial snapshot of MySQL/MariaDB tables.
 *
 * One run = one REPEATABLE READ transaction opened at binlog position P (snapshot-open.ts: on
 * MariaDB without any lock via binlog_snapshot_file/position, elsewhere under a brief FLUSH TABLES
 * WITH READ LOCK). Tables are read one after the other in chunks by primary key:
 *   SELECT cols FROM t FORCE INDEX (PRIMARY) WHERE <pk > afterPk> ORDER BY pk LIMIT n+1
 * (the extra row only tells whether the table is finished; a composite key compares as
 * `a >= ? AND (a > ? OR (a = ? AND b > ?))`, which the range optimizer turns into a seek).
 *
 * Resume. The state after every chunk records, per table, the last key emitted (`afterPk`).
 * `state.position` is the position of the FIRST run, P1, and stays: the streamer always starts
 * there. A resumed run cannot see the data as of P1 any more; it opens a new transaction at P2 and
 * reads the remaining keys as of P2. Each resume appends a range to the table's state:
 *   ranges: [{ afterPk: k, asOf: P2 }]   keys > k (up to the next range) were read as of P2
 * and sets `asOf` (the contract's field) to the position of the range still being read. Keys
 * before the first range were read as of P1. For a key k, let S(k) be the position its row was
 * read at; a binlog change to k at position p is already in the snapshot iff p < S(k):
 *   includesChange(table, k, p) = S(k) > p
 * The streamer, started at P1, skips changes for which includesChange is true and applies the
 * rest. Example: 100 rows, ids 1..100. Run 1 at P1=1000 emits ids 1..40 and crashes. Then
 *   @1100 update id 10, @1200 update id 70, @1300 delete id 80, @1400 insert id 150.
 * Run 2 opens at P2=1500 and emits 41..100 minus 80, plus 150 (as of 1500).
 *   id 10 @1100: S=1000, not included: apply (row 10 was emitted before the update)
 *   id 70 @1200: S=1500, included: skip (row 70 was emitted after the update)
 *   id 80 @1300, id 150 @1400: S=1500, included: skip
 * Every key ends up emitted once, and each change counted exactly once.
 * `pos` is the position of any event inside the change's transaction (GTID/BEGIN event, row
 * event start or end) — all lie before the COMMIT event's end, which is where the next
 * transaction's snapshot position would be. Positions compare by file then offset (one server).
 * Keys compare in MySQL's order (snapshot-order.ts, with its collation caveat), in the form
 * this class emits them (snapshot-values.ts): a value for a one-column key, an array otherwise.
 *
 * Tables without a primary key are refused (TRIB_SOURCE): without a key there is no chunking,
 * no resume point and no record key for the changelog.
 */
import mysql from 'mysql2/promise';
import type { Connection } from 'mysql2/promise';
import type { Row } from '../../core/record.js';
import type { Logger } from '../../core/logger.js';
import { TributaryError } from '../../core/errors.js';
import { comparePositions, compareKeys, keyParam, type BinlogPosition } from './snapshot-order.js';
import { describeTable, quoteIdent, resolveTables, type TableShape } from './snapshot-schema.js';
import { normalizeValue, rawTypeCast } from './snapshot-values.js';
import { openConsistentSnapshot, type SnapshotStrategy } from './snapshot-open.js';

export type { BinlogPosition } from './snapshot-order.js';
export type { SnapshotStrategy } from './snapshot-open.js';

export interface SnapshotRange { afterPk: unknown[] | null; asOf: BinlogPosition }

export interface TableProgress {
  done: boolean;
  /** Last key emitted (array in primary key column order); absent before the first row. */
  afterPk?: unknown[];
  /** Position the remaining keys are read at, when that is not state.position (after a resume). */
  asOf?: BinlogPosition;
  /** Resumed ranges in key order (see the header); absent when the table was read as of state.position. */
  ranges?: SnapshotRange[];
}

export interface SnapshotState { position: BinlogPosition; tables: Record<string, TableProgress> }

export interface SnapshotConnection { host: string; port: number; user: string; password: string }

export interface SnapshotOptions {
  /** How to get a position consistent with the transaction; 'auto' = snapshot-status on MariaDB, read-lock elsewhere. */
  strategy?: SnapshotStrategy;
}

export interface SnapshotChunk { table: string; rows: Array<{ key: unknown; value: Row }>; state: SnapshotState }

const clone = <T>(v: T): T => structuredClone(v);

/** Errors after which a new run (resume from the last state) can succeed. */
const RETRIABLE = new Set(['PROTOCOL_CONNECTION_LOST', 'ECONNRESET', 'ECONNREFUSED', 'ETIMEDOUT', 'EPIPE',
  'ER_TABLE_DEF_CHANGED', 'ER_LOCK_WAIT_TIMEOUT', 'ER_LOCK_DEADLOCK', 'ER_SERVER_SHUTDOWN', 'ER_CON_COUNT_ERROR']);

function sourceError(what: string, err: unknown): TributaryError {
  if (err instanceof TributaryError) return err;
  const code = (err as { code?: string }).code;
  const msg = err instanceof Error ? err.message : String(err);
  return new TributaryError('TRIB_SOURCE', `${what}: ${msg}`, { cause: err, retriable: code !== undefined && RETRIABLE.has(code) });
}

export class TableSnapshot {
  private conn: Connection | undefined;
  private current: SnapshotState;
  private busy = false;
  private closed = false;

  private constructor(
    private readonly shapes: Map<string, TableShape>,
    private readonly order: string[],
    state: SnapshotState,
    /** Position of this run's transaction (rows emitted now are as of it). */
    private readonly runPosition: BinlogPosition,
    private readonly serverId: number,
    private readonly log: Logger,
    conn: Connection | undefined,
  ) {
    this.current = state;
    this.conn = conn;
  }

  static async start(conn: SnapshotConnection, tables: string[], resume: SnapshotState | undefined, log: Logger,
    options: SnapshotOptions = {}): Promise<TableSnapshot> {
    const where = `${conn.host}:${conn.port}`;
    let c: Connection;
    try {
      c = await mysql.createConnection({ host: conn.host, port: conn.port, user: conn.user, password: conn.password,
        charset: 'utf8mb4', supportBigNumbers: true, bigNumberStrings: true, dateStrings: true, connectTimeout: 10_000 });
    } catch (err) {
      throw sourceError(`snapshot: cannot connect to ${where}`, err);
    }
    try {
      const [infoRows] = await c.query('SELECT VERSION() AS version, @@server_id AS serverId, @@log_bin AS logBin');
      const info = (infoRows as Array<{ version: string; serverId: number | string; logBin: number | string }>)[0];
      if (Number(info.logBin) !== 1) {
        throw new TributaryError('TRIB_SOURCE', `binary logging is off on ${where}: start the server with log_bin (and binlog_format=ROW)`);
      }
      const isMariaDb = /mariadb/i.test(info.version);
      const shapes = new Map<string, TableShape>();
      for (const [db, table] of await resolveTables(c, tables)) {
        const shape = await describeTable(c, db, table, isMariaDb);
        shapes.set(shape.id, shape);
      }
      const order = [...shapes.keys()];
      const pending = order.filter((id) => !resume?.tables[id]?.done);
      if (resume && pending.length === 0) {
        // Finished earlier: nothing to read, but includesChange() still answers for the streamer.
        await c.end();
        return new TableSnapshot(shapes, order, clone(resume), resume.position, Number(info.serverId), log, undefined);
      }
      const { position, method } = await openConsistentSnapshot(c, isMariaDb, options.strategy ?? 'auto');
      const state = resume ? resumedState(resume, pending, shapes, position) : freshState(order, position);
      log.info('snapshot started', { server: where, method, position, resumedFrom: resume?.position, tables: pending });
      return new TableSnapshot(shapes, order, state, position, Number(info.serverId), log, c);
    } catch (err) {
      c.destroy();
      throw sourceError(`snapshot: cannot start on ${where}`, err);
    }
  }

  /** The state to persist: where to continue after the last chunk returned. A copy. */
  get state(): SnapshotState {
    return clone(this.current);
  }

  /** The next chunk of at most maxRows rows of one table, or null when every table is done. */
  async next(maxRows: number): Promise<SnapshotChunk | null> {
    if (!Number.isInteger(maxRows) || maxRows < 1) throw new TributaryError('TRIB_INTERNAL', `next(maxRows): expected a positive integer, got ${maxRows}`);
    if (this.closed) throw new TributaryError('TRIB_INTERNAL', 'next() after close()');
    if (this.busy) throw new TributaryError('TRIB_INTERNAL', 'next() called again before the previous call finished');
    const id = this.order.find((t) => this.current.tables[t] && !this.current.tables[t].done);
    if (id === undefined) {
      await this.release();
      return null;
    }
    this.busy = true;
    try {
      return await this.readChunk(this.shapes.get(id)!, maxRows);
    } finally {
      this.busy = false;
    }
  }

  private async readChunk(shape: TableShape, maxRows: number): Promise<SnapshotChunk> {
    const conn = this.conn;
    if (!conn) throw new TributaryError('TRIB_INTERNAL', 'snapshot connection already released');
    const progress = this.current.tables[shape.id];
    const { sql, values } = chunkQuery(shape, progress.afterPk, maxRows + 1);
    let raw: unknown[][];
    try {
      const [result] = await conn.query({ sql, values, rowsAsArray: true, typeCast: rawTypeCast });
      raw = result as unknown[][];
    } catch (err) {
      throw sourceError(`snapshot of ${shape.id} failed`, err);
    }
    const done = raw.length <= maxRows;
    const tsMs = Date.now();
    const source: Row = {
      server_id: this.serverId, gtid: this.runPosition.gtid ?? null, file: this.runPosition.file, pos: this.runPosition.pos,
      ts_ms: tsMs, db: shape.db, table: shape.table, snapshot: true,
    };
    const rows = raw.slice(0, maxRows).map((r) => {
      const after: Row = {};
      shape.columns.forEach((col, i) => { after[col.name] = normalizeValue(col, r[i]); });
      const keyValues = shape.pkIndex.map((i) => after[shape.columns[i].name]);
      const value: Row = { op: 'r', before: null, after, source };
      return { key: keyValues.length === 1 ? keyValues[0] : keyValues, value, keyValues };
    });
    const next: TableProgress = { ...progress, done };
    if (rows.length > 0) next.afterPk = rows[rows.length - 1].keyValues;
    this.current = { ...this.current, tables: { ...this.current.tables, [shape.id]: next } };
    if (done) this.log.info('snapshot table done', { table: shape.id });
    if (this.order.every((t) => !this.current.tables[t] || this.current.tables[t].done)) await this.release();
    return { table: shape.id, rows: rows.map(({ key, value }) => ({ key, value })), state: this.state };
  }

  /**
   * True when the snapshot already holds the effect of a binlog change to `key` at `pos`, so the
   * streamer (started at state.position) must skip it; false for changes to apply, and for
   * tables this snapshot does not cover. See the header for the rule and an example.
   */
  includesChange(table: string, key: unknown, pos: BinlogPosition): boolean {
    const shape = this.shapes.get(table);
    const progress = this.current.tables[table];
    if (!shape || !progress) return false;
    const k = shape.pk.length === 1 && !Array.isArray(key) ? [key] : (key as unknown[]);
    let asOf = this.current.position;
    for (const range of progress.ranges ?? []) {
      if (range.afterPk === null || compareKeys(shape.pk, k, range.afterPk) > 0) asOf = range.asOf;
    }
    return comparePositions(asOf, pos) > 0;
  }

  /** Ends the transaction and the connection; the state stays readable. Idempotent. */
  async close(): Promise<void> {
    this.closed = true;
    await this.release();
  }

  private async release(): Promise<void> {
    const conn = this.conn;
    this.conn = undefined;
    if (!conn) return;
    try {
      await conn.query('ROLLBACK');
      await conn.end();
    } catch {
      conn.destroy(); // a dead connection: nothing left to release on the server
    }
  }
}

function freshState(order: string[], position: BinlogPosition): SnapshotState {
  return { position, tables: Object.fromEntries(order.map((id) => [id, { done: false }])) };
}

/** Continues `resume` with a new run at `position`: pending tables get a range read as of it. */
function resumedState(resume: SnapshotState, pending: string[], shapes: Map<string, TableShape>, position: BinlogPosition): SnapshotState {
  if (comparePositions(position, resume.position) < 0) {
    throw new TributaryError('TRIB_SOURCE', `binlog position went backwards (${position.file}:${position.pos} < ` +
      `${resume.position.file}:${resume.position.pos}, binlog reset?): the snapshot must start over from an empty state`);
  }
  const tables = clone(resume.tables);
  for (const id of pending) {
    const progress: TableProgress = tables[id] ?? { done: false };
    const afterPk = progress.afterPk ?? null;
    if (afterPk !== null && afterPk.length !== shapes.get(id)!.pk.length) {
      throw new TributaryError('TRIB_SOURCE', `snapshot state of ${id} has a ${afterPk.length}-column resume key but the primary key has ` +
        `${shapes.get(id)!.pk.length} columns: the primary key changed; the table must be snapshotted again`);
    }
    const ranges = (progress.ranges ?? []).filter((r) => !sameKey(r.afterPk, afterPk));
    const readAt = ranges.length > 0 ? ranges[ranges.length - 1].asOf : resume.position;
    if (comparePositions(readAt, position) !== 0) ranges.push({ afterPk, asOf: position });
    tables[id] = { ...progress, ...(ranges.length > 0 ? { ranges, asOf: ranges[ranges.length - 1].asOf } : {}) };
  }
  return { position: resume.position, tables };
}

function sameKey(a: unknown[] | null, b: unknown[] | null): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The chunk SELECT: rows after `afterPk` in primary key order. */
export function chunkQuery(shape: TableShape, afterPk: unknown[] | undefined, limit: number): { sql: string; values: unknown[] } {
  const cols = shape.columns.map((c) => quoteIdent(c.name)).join(', ');
  const pkCols = shape.pk.map((c) => quoteIdent(c.name));
  const values: unknown[] = [];
  let where = '';
  if (afterPk) {
    const params = shape.pk.map((col, i) => keyParam(col, afterPk[i]));
    const p = (i: number): string => { values.push(params[i].value); return params[i].placeholder; };
    // a >= ? first: a sargable bound on the leading column, whatever the optimizer makes of the OR.
    const lead = shape.pk.length > 1 ? `${pkCols[0]} >= ${p(0)} AND ` : '';
    const alternatives = shape.pk.map((_, i) =>
      [...pkCols.slice(0, i).map((c, j) => `${c} = ${p(j)}`), `${pkCols[i]} > ${p(i)}`].join(' AND '));
    where = `WHERE ${lead}(${alternatives.map((a) => `(${a})`).join(' OR ')})`;
  }
  const sql = `SELECT ${cols} FROM ${quoteIdent(shape.db)}.${quoteIdent(shape.table)} FORCE INDEX (PRIMARY) ${where} ` +
    `ORDER BY ${pkCols.join(', ')} LIMIT ${limit}`;
  return { sql, values };
}

