/**
 * `connector: mysql-binlog` — change data capture from a MySQL/MariaDB binlog (ROW format).
 *
 * One partition (the binlog is one ordered stream). Lifecycle of a start:
 *   no token:  snapshot initial|when_needed -> TableSnapshot (op 'r'), then the binlog from the
 *              snapshot's position; snapshot never -> the binlog from its current end.
 *   token:     continue where it says (position.ts): inside the snapshot, or in the binlog at the
 *              start of a transaction, skipping the `seq` changes of it already handed over.
 * After a snapshot, streamed changes the snapshot already holds (TableSnapshot.includesChange)
 * are dropped until the stream passes the last position a table was read at.
 * Resume uses the GTID position where the server has one and `gtid: auto` (MariaDB always;
 * on MariaDB a file+pos without a GTID is translated with BINLOG_GTID_POS), else file+pos.
 * A saved file that the server no longer has: `snapshot: when_needed` snapshots again (warn
 * log), otherwise TRIB_SOURCE_POSITION_LOST.
 * The password is only handed to the client libraries; it is never logged nor put in errors.
 */
import mysql from 'mysql2/promise';
import type { Connection } from 'mysql2/promise';
import { TributaryError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { RawRecord, Source, SourceBatch, SourceContext } from '../types.js';
import { datetimeRule, type DatetimeRule } from './datetime-zone.js';
import { envelope } from './envelope.js';
import { comparePositions, decodeToken, encodeStreamToken, encodeToken, type BinlogPosition, type BinlogToken, type SnapshotState } from './position.js';
import { TableSnapshot } from './snapshot.js';
import { describeTable, type TableShape } from './snapshot-schema.js';
import type { MysqlBinlogConfig } from './spec.js';
import { BinlogStream, type ConnectionConfig, type RowChange } from './stream.js';
import { SYSTEM_SCHEMAS, tableFilter, type TableFilter } from './tables.js';

const PARTITIONS: readonly number[] = [0];

export interface MysqlBinlogSourceOptions {
  /** How long a poll waits for binlog events before returning an empty batch. Default 200 ms. */
  idleWaitMs?: number;
}

interface ServerInfo { isMariaDb: boolean; serverId: number; mysqlGtidOn: boolean }

export class MysqlBinlogSource implements Source {
  readonly name: string;
  readonly partitionCount = 1;
  private readonly config: MysqlBinlogConfig;
  private readonly filter: TableFilter;
  private readonly datetime: DatetimeRule;
  private readonly idleWaitMs: number;
  private log: Logger | undefined;
  private ctrl: Connection | undefined;
  private server: ServerInfo | undefined;
  private resume: BinlogToken | undefined;
  private started = false;
  /** Records emitted so far (offset of the next one). */
  private n = 0;
  private snapshot: TableSnapshot | undefined;
  private snapshotting = false;
  /** While set, streamed changes before it may already be in the snapshot. */
  private dedupeUntil: BinlogPosition | undefined;
  private stream: BinlogStream | undefined;
  private readonly shapes = new Map<string, Promise<TableShape>>();

  constructor(name: string, config: MysqlBinlogConfig, options: MysqlBinlogSourceOptions = {}) {
    this.name = name;
    this.config = config;
    this.filter = tableFilter(config);
    this.datetime = datetimeRule(config.timezone);
    this.idleWaitMs = options.idleWaitMs ?? 200;
  }

  private get where(): string {
    return `${this.config.host}:${this.config.port}`;
  }

  private get connection(): ConnectionConfig {
    return { host: this.config.host, port: this.config.port, user: this.config.user, password: this.config.password ?? '' };
  }

  async open(ctx: SourceContext): Promise<void> {
    this.log = ctx.logger;
    try {
      this.ctrl = await mysql.createConnection({ ...this.connection, charset: 'utf8mb4', connectTimeout: 10_000 });
    } catch (err) {
      throw new TributaryError('TRIB_SOURCE', `mysql-binlog source '${this.name}': cannot connect to ${this.where}: ${errorMessage(err)}`, { cause: err, retriable: true });
    }
    const vars = await this.row<Record<string, string | number | null>>(
      'SELECT VERSION() AS version, @@server_id AS serverId, @@log_bin AS logBin, @@binlog_format AS format, @@binlog_row_image AS image');
    const isMariaDb = /mariadb/i.test(String(vars.version));
    if (Number(vars.logBin) !== 1 || String(vars.format).toUpperCase() !== 'ROW') {
      throw new TributaryError('TRIB_SOURCE', `mysql-binlog source '${this.name}': ${this.where} must run with log_bin and binlog_format=ROW ` +
        `(log_bin=${vars.logBin}, binlog_format=${vars.format})`);
    }
    if (String(vars.image).toUpperCase() !== 'FULL') {
      this.log.warn('binlog_row_image is not FULL: before/after images hold only some columns', { server: this.where, binlog_row_image: vars.image });
    }
    const metadata = await this.optionalVariable('@@binlog_row_metadata');
    if (metadata !== undefined && metadata.toUpperCase() !== 'FULL') {
      this.log.warn('binlog_row_metadata is not FULL: column names come from information_schema when a table is first seen, ' +
        'so events written before a later ALTER TABLE may get the newer column names', { server: this.where, binlog_row_metadata: metadata });
    }
    const gtidMode = isMariaDb ? undefined : await this.optionalVariable('@@gtid_mode');
    this.server = { isMariaDb, serverId: Number(vars.serverId), mysqlGtidOn: gtidMode?.toUpperCase() === 'ON' };
  }

  assignedPartitions(): readonly number[] {
    return PARTITIONS;
  }

  /** Only "from the beginning" has a number; binlog positions come back through restore(). */
  seek(partition: number, position: number): void {
    this.checkPartition(partition);
    if (position !== 0) {
      throw new TributaryError('TRIB_STATE_INCOMPATIBLE', `mysql-binlog source '${this.name}': a numeric position (${position}) cannot be resumed; the checkpoint has no binlog token`);
    }
  }

  restore(partition: number, token: string): void {
    this.checkPartition(partition);
    this.resume = decodeToken(token, this.name);
    this.n = this.resume.n;
  }

  async poll(max: number): Promise<SourceBatch> {
    if (!this.started) {
      this.started = true;
      await this.begin();
    }
    if (this.snapshotting) {
      const records = await this.snapshotBatch(max);
      // Only a finished snapshot falls through (snapshotBatch started the stream): read it at once.
      if (records.length > 0 || this.snapshotting) return { partition: 0, records };
    }
    return { partition: 0, records: await this.streamBatch(max) };
  }

  remaining(): number | undefined {
    return undefined;
  }

  async close(): Promise<void> {
    await this.stream?.stop();
    this.stream = undefined;
    await this.snapshot?.close();
    this.snapshot = undefined;
    const ctrl = this.ctrl;
    this.ctrl = undefined;
    await ctrl?.end().catch(() => ctrl.destroy());
  }

  private checkPartition(partition: number): void {
    if (partition !== 0) throw new TributaryError('TRIB_SOURCE', `mysql-binlog source '${this.name}' has only partition 0, not ${partition}`);
  }

  private async begin(): Promise<void> {
    const token = this.resume;
    if (token?.phase === 'snapshot') return this.startSnapshot(token.snapshot);
    if (!token) {
      if (this.config.snapshot === 'never') return this.startStream(await this.currentEnd(), 0);
      return this.startSnapshot(undefined);
    }
    const position = token.position!;
    const lost = await this.unavailable(position);
    if (lost) {
      if (this.config.snapshot !== 'when_needed') {
        throw new TributaryError('TRIB_SOURCE_POSITION_LOST', `mysql-binlog source '${this.name}': cannot resume at ${position.file}:${position.pos}: ${lost}. ` +
          "Set snapshot: when_needed to snapshot the tables again, or reset the source's checkpoint");
      }
      this.log?.warn('saved binlog position is gone; snapshotting the tables again', { server: this.where, file: position.file, pos: position.pos, reason: lost });
      return this.startSnapshot(undefined);
    }
    if (token.snapshot) {
      this.snapshot = await TableSnapshot.start(this.connection, await this.capturedTables(), token.snapshot, this.logger());
      this.dedupeUntil = latestAsOf(token.snapshot);
    }
    await this.startStream(position, token.seq ?? 0);
  }

  private async startSnapshot(resume: SnapshotState | undefined): Promise<void> {
    this.snapshot = await TableSnapshot.start(this.connection, await this.capturedTables(), resume, this.logger());
    this.snapshotting = true;
  }

  /**
   * The next non-empty snapshot chunk as records; when the snapshot is finished, starts the stream
   * and returns []. An empty table (or a resumed one with nothing after its last key) gives a chunk
   * of no rows: skipped here, so [] always means "streaming now".
   */
  private async snapshotBatch(max: number): Promise<RawRecord[]> {
    const snapshot = this.snapshot!;
    let chunk = await snapshot.next(Math.min(max, this.config.snapshotChunkSize));
    while (chunk && chunk.rows.length === 0) chunk = await snapshot.next(Math.min(max, this.config.snapshotChunkSize));
    if (!chunk) {
      this.snapshotting = false;
      const state = snapshot.state;
      this.dedupeUntil = latestAsOf(state);
      await this.startStream(state.position, 0);
      return [];
    }
    const now = Date.now();
    return chunk.rows.map((row, i) => {
      // Each row's token resumes right after that row, not after the whole chunk.
      const last = i === chunk.rows.length - 1;
      const state = last ? chunk.state : withAfterPk(chunk.state, chunk.table, row.key);
      return this.record(now, row.key, row.value, { v: 1, n: this.n + 1, phase: 'snapshot', snapshot: state });
    });
  }

  private async startStream(position: BinlogPosition, skip: number): Promise<void> {
    const lost = await this.unavailable(position);
    if (lost) {
      throw new TributaryError('TRIB_SOURCE_POSITION_LOST', `mysql-binlog source '${this.name}': cannot stream from ${position.file}:${position.pos}: ${lost}`);
    }
    const start = { ...position };
    let useGtid = false;
    if (this.config.gtid === 'auto') {
      if (this.server!.isMariaDb) {
        // '' (no GTID before this point) would mean "the oldest binlog": only file+pos is exact then.
        start.gtid = position.gtid ?? (await this.mariaDbGtidAt(position));
        useGtid = start.gtid !== undefined && start.gtid !== '';
      } else {
        useGtid = this.server!.mysqlGtidOn && position.gtid !== undefined && position.gtid !== '';
      }
    }
    this.stream = new BinlogStream({
      connection: this.connection, serverId: this.config.serverId, filter: this.filter, start, useGtid, skip,
      databases: this.config.databases, bufferSize: this.config.bufferSize, log: this.logger(),
      describe: (db, table) => this.describe(db, table),
      onSchemaChange: () => this.shapes.clear(),
    });
    await this.stream.start();
    this.logger().info('binlog streaming started', { server: this.where, file: start.file, pos: start.pos, gtid: useGtid ? start.gtid : undefined, skip });
  }

  private async streamBatch(max: number): Promise<RawRecord[]> {
    const stream = this.stream!;
    if (stream.failure) throw stream.failure;
    let changes = stream.take(max);
    if (changes.length === 0) {
      await stream.wait(this.idleWaitMs);
      if (stream.failure) throw stream.failure;
      changes = stream.take(max);
    }
    const records: RawRecord[] = [];
    for (const change of changes) {
      const shape = await change.shape;
      const { key, value } = envelope(change, shape, this.datetime, this.server!.serverId);
      if (this.alreadyInSnapshot(change, key)) continue;
      const token: BinlogToken | string = this.snapshot
        ? { v: 1, n: this.n + 1, phase: 'stream', position: change.txn, seq: change.seq, snapshot: this.snapshot.state }
        : encodeStreamToken(this.n + 1, change.txn, change.seq);
      records.push(this.record(change.tsMs, key, value, token));
    }
    return records;
  }

  private alreadyInSnapshot(change: RowChange, key: unknown): boolean {
    if (!this.snapshot || !this.dedupeUntil) return false;
    if (comparePositions(change.txn, this.dedupeUntil) >= 0) {
      // Past every table's read point: nothing later can be in the snapshot.
      const done = this.snapshot;
      this.snapshot = undefined;
      this.dedupeUntil = undefined;
      void done.close();
      return false;
    }
    return this.snapshot.includesChange(`${change.db}.${change.table}`, key, change.txn);
  }

  private record(timestamp: number, key: unknown, value: RawRecord['value'], token: BinlogToken | string): RawRecord {
    const offset = this.n++;
    return { offset, timestamp, key: key as RawRecord['key'], value, token: typeof token === 'string' ? token : encodeToken(token) };
  }

  private logger(): Logger {
    if (!this.log) throw new TributaryError('TRIB_INTERNAL', `mysql-binlog source '${this.name}': used before open()`);
    return this.log;
  }

  private describe(db: string, table: string): Promise<TableShape> {
    const id = `${db}.${table}`;
    let shape = this.shapes.get(id);
    if (!shape) {
      shape = describeTable(this.ctrl!, db, table, this.server!.isMariaDb);
      shape.catch(() => this.shapes.delete(id)); // surfaces when the change is converted; retried for later ones
      this.shapes.set(id, shape);
    }
    return shape;
  }

  /** Base tables the source captures now, as db.table (after open()). */
  async capturedTables(): Promise<string[]> {
    const rows = await this.rows<{ db: string; name: string }>(
      "SELECT TABLE_SCHEMA AS db, TABLE_NAME AS name FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY TABLE_SCHEMA, TABLE_NAME");
    return rows.filter((r) => !SYSTEM_SCHEMAS.has(r.db) && this.filter(r.db, r.name)).map((r) => `${r.db}.${r.name}`);
  }

  private async currentEnd(): Promise<BinlogPosition> {
    let status: Record<string, unknown> | undefined;
    try {
      status = (await this.rows<Record<string, unknown>>('SHOW MASTER STATUS'))[0];
    } catch {
      status = (await this.rows<Record<string, unknown>>('SHOW BINARY LOG STATUS'))[0]; // MySQL 8.4
    }
    if (!status) throw new TributaryError('TRIB_SOURCE', `mysql-binlog source '${this.name}': ${this.where} reports no binlog (is log_bin on?)`);
    const gtid = typeof status.Executed_Gtid_Set === 'string' && status.Executed_Gtid_Set !== '' ? status.Executed_Gtid_Set.replace(/\s/g, '') : undefined;
    return { file: String(status.File), pos: Number(status.Position), ...(gtid ? { gtid } : {}) };
  }

  /** Why the server cannot stream from `position`, or undefined when it can. */
  private async unavailable(position: BinlogPosition): Promise<string | undefined> {
    const logs = await this.rows<{ Log_name: string; File_size: number | string }>('SHOW BINARY LOGS');
    const file = logs.find((l) => l.Log_name === position.file);
    if (!file) {
      const range = logs.length > 0 ? `${logs[0].Log_name} .. ${logs[logs.length - 1].Log_name}` : 'none';
      return `binlog file ${position.file} is not on the server (purged?; available: ${range})`;
    }
    if (position.pos > Number(file.File_size)) return `position ${position.pos} is past the end of ${position.file} (${file.File_size} bytes)`;
    return undefined;
  }

  private async mariaDbGtidAt(position: BinlogPosition): Promise<string | undefined> {
    const row = await this.row<{ gtid: string | null }>('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [position.file, position.pos]);
    return row.gtid ?? undefined;
  }

  private async optionalVariable(name: string): Promise<string | undefined> {
    try {
      const row = await this.row<{ v: unknown }>(`SELECT ${name} AS v`);
      return row.v === null || row.v === undefined ? undefined : String(row.v);
    } catch {
      return undefined; // not a variable on this server version
    }
  }

  private async rows<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const ctrl = this.ctrl;
    if (!ctrl) throw new TributaryError('TRIB_INTERNAL', `mysql-binlog source '${this.name}': used before open()`);
    try {
      const [rows] = await ctrl.query(sql, params);
      return rows as T[];
    } catch (err) {
      throw new TributaryError('TRIB_SOURCE', `mysql-binlog source '${this.name}' on ${this.where}: ${errorMessage(err)}`, { cause: err, retriable: true });
    }
  }

  private async row<T>(sql: string, params: unknown[] = []): Promise<T> {
    const rows = await this.rows<T>(sql, params);
    if (rows.length === 0) throw new TributaryError('TRIB_SOURCE', `mysql-binlog source '${this.name}': no result for ${sql}`);
    return rows[0];
  }
}

/** The last position any table was read at: streamed changes from there on are all new. */
function latestAsOf(state: SnapshotState): BinlogPosition {
  let latest = state.position;
  for (const progress of Object.values(state.tables)) {
    for (const p of [progress.asOf, ...(progress.ranges ?? []).map((r) => r.asOf)]) {
      if (p && comparePositions(p, latest) > 0) latest = p;
    }
  }
  return latest;
}

/** The chunk's state, but with `table` resumed right after `key` (a row inside the chunk). */
function withAfterPk(state: SnapshotState, table: string, key: unknown): SnapshotState {
  const progress = state.tables[table];
  return { ...state, tables: { ...state.tables, [table]: { ...progress, done: false, afterPk: Array.isArray(key) ? key : [key] } } };
}
