/**
 * SQL detail-row sink (PostgreSQL via pg, MySQL/MariaDB via mysql2): version-guarded upserts by
 * key columns into an existing table, the guard inside the statement (dialect.ts), one transaction
 * per batch. Changelog input turns deletes into guarded tombstones (connectors/upsert.ts).
 *
 * A batch is first folded per key with the guard rule (the winner of each key is what applying the
 * batch in order would leave) and written as one multi-row INSERT per kind: the fast path, one
 * round trip in the common case. When the store refuses a row for good (too long, wrong type, a
 * constraint), the transaction is rolled back and the batch is written again record by record,
 * in order, each under a savepoint: refused records go to the dead letters with the store's
 * message, the rest commit together.
 *
 * Failures, by what the driver says (client.ts): server unreachable or shutting down ->
 * SinkBackpressureError (the base class waits and re-sends the batch; the guard makes the re-send
 * idempotent, also when a COMMIT was applied but its reply lost); deadlocks and lock timeouts ->
 * retriable; anything else (permissions, a column dropped while running) fails the batch.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { SinkBackpressureError, TributaryError, errorMessage } from '../../core/errors.js';
import type { Row } from '../../core/record.js';
import { BatchingSink, type BatchingSinkOptions } from '../sink-base.js';
import type { SinkRecord } from '../types.js';
import { applies, guardedWrites, type GuardedWrite, type StoredVersion } from '../upsert.js';
import { classifySqlError, openSqlPool, sqlEndpoint, type SqlPool, type SqlSession } from './client.js';
import { dialectFor, writtenColumns, type SqlDialect, type TableShape } from './dialect.js';
import { SQL_DEFAULT_LINGER_MS, type SqlSinkConfig } from './spec.js';
import { checkTable } from './table-check.js';
import { toParam, type SqlParam } from './values.js';

export interface SqlSinkOptions extends BatchingSinkOptions {
  /** Wait before re-sending a batch while the server is unreachable. Default 500 ms. */
  unavailableRetryMs?: number;
  /** How long open() waits for an unreachable server before failing the start. Default 60 s. */
  openTimeoutMs?: number;
}

interface Write {
  kind: GuardedWrite['kind'];
  key: string;
  version: number;
  params: SqlParam[];
}

interface Entry {
  record: SinkRecord;
  writes: Write[];
}

/** The table the sink writes, from its config; throws TRIB_TOPOLOGY_INVALID for an inconsistent one. */
export function sqlTableShape(config: SqlSinkConfig, where: string): TableShape {
  const columns = Object.entries(config.columns).map(([name, c]) => ({ ...c, name }));
  const names = new Set(columns.map((c) => c.name));
  const versionColumn = config.versionColumn ?? '_version';
  const deletedColumn = config.changelog ? config.deletedColumn ?? '_deleted' : undefined;
  const bad = (message: string): TributaryError => new TributaryError('TRIB_TOPOLOGY_INVALID', `${where}: ${message}`);
  for (const k of config.key) if (!names.has(k)) throw bad(`key column '${k}' is not in columns`);
  for (const special of [versionColumn, deletedColumn]) {
    if (special !== undefined && names.has(special)) throw bad(`column '${special}' is the sink's own (version or deleted marker); map the row field to another column`);
  }
  if (deletedColumn !== undefined && deletedColumn === versionColumn) throw bad('versionColumn and deletedColumn must differ');
  return { table: config.table, key: config.key, columns, versionColumn, deletedColumn };
}

/** The CREATE TABLE the sink expects (`tributary plan`). */
export function sqlSinkDdl(id: string, config: SqlSinkConfig): string {
  const where = `sql sink '${id}'`;
  const dialect = dialectFor(sqlEndpoint(config, where).dialect);
  return `-- ${dialect.name === 'postgres' ? 'PostgreSQL' : 'MySQL/MariaDB'}\n${dialect.ddl(sqlTableShape(config, where))}`;
}

export class SqlSink extends BatchingSink {
  private readonly config: SqlSinkConfig;
  private readonly where: string;
  private readonly dialect: SqlDialect;
  private readonly shape: TableShape;
  private readonly endpoint: ReturnType<typeof sqlEndpoint>;
  private readonly keyIndex: number[];
  private readonly unavailableRetryMs: number;
  private readonly openTimeoutMs: number;
  private pool: SqlPool | undefined;
  private staleCount = 0;

  constructor(name: string, config: SqlSinkConfig, options: SqlSinkOptions = {}) {
    super(name, { batchSize: config.batchSize, lingerMs: config.linger ?? SQL_DEFAULT_LINGER_MS, ...options });
    this.where = `sql sink '${name}'`;
    this.config = config;
    // Configuration mistakes surface when the sink is created; clients are made in connect().
    this.endpoint = sqlEndpoint(config, this.where);
    this.dialect = dialectFor(this.endpoint.dialect);
    this.shape = sqlTableShape(config, this.where);
    this.keyIndex = this.shape.key.map((k) => this.shape.columns.findIndex((c) => c.name === k));
    this.unavailableRetryMs = options.unavailableRetryMs ?? 500;
    this.openTimeoutMs = options.openTimeoutMs ?? 60_000;
  }

  /** Writes the guard refused because the table held a newer version (PostgreSQL; MySQL does not report them apart). */
  get stale(): number {
    return this.staleCount;
  }

  protected override async connect(): Promise<void> {
    const pool = openSqlPool(this.endpoint, this.config.pool ?? 2);
    this.pool = pool;
    const deadline = Date.now() + this.openTimeoutMs;
    for (let attempt = 0; ; attempt++) {
      try {
        const session = await pool.acquire();
        try {
          await checkTable(session, this.dialect, this.shape, this.where, pool.target);
        } finally {
          session.release();
        }
        return;
      } catch (err) {
        const outcome = err instanceof TributaryError ? 'fatal' : classifySqlError(this.dialect.name, err);
        if ((outcome !== 'unavailable' && outcome !== 'transient') || Date.now() > deadline) {
          this.pool = undefined;
          await pool.close().catch(() => undefined);
          throw err instanceof TributaryError ? err : new TributaryError('TRIB_SINK', `${this.where}: cannot open ${pool.target}: ${storeMessage(err)}`, { cause: err });
        }
        if (attempt === 0) this.logger.warn('sql server unreachable at start; waiting', { sink: this.name, target: pool.target, error: errorMessage(err) });
        await sleep(Math.min(2_000, 100 * 2 ** attempt));
      }
    }
  }

  protected override async disconnect(): Promise<void> {
    const pool = this.pool;
    this.pool = undefined;
    await pool?.close().catch(() => undefined);
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    const pool = this.pool;
    if (!pool) throw new TributaryError('TRIB_SINK', `${this.where} is not open`);
    const entries = this.prepare(batch);
    if (entries.length === 0) return;
    let session: SqlSession;
    try {
      session = await pool.acquire();
    } catch (err) {
      throw this.batchError(pool, err, entries.length);
    }
    let broken = false;
    try {
      try {
        await this.writeFolded(session, entries);
      } catch (err) {
        if (classifySqlError(this.dialect.name, err) !== 'record') throw err;
        this.logger.debug('sql batch refused by the store; writing it record by record', { sink: this.name, error: errorMessage(err) });
        await this.inTransaction(session, () => this.writeEach(session, entries));
      }
    } catch (err) {
      broken = classifySqlError(this.dialect.name, err) === 'unavailable';
      throw this.batchError(pool, err, entries.length);
    } finally {
      session.release(broken);
    }
  }

  /** Each record's writes with their parameters; a record that cannot make them is dead-lettered here. */
  private prepare(batch: SinkRecord[]): Entry[] {
    const entries: Entry[] = [];
    for (const record of batch) {
      try {
        const writes = guardedWrites(record, {
          changelog: this.config.changelog ?? false,
          version: this.config.version,
          keyOf: (row) => this.rowKey(row),
        });
        entries.push({ record, writes: writes.map((w) => this.toWrite(w)) });
      } catch (err) {
        this.rejectRecord(record, `${this.where}: ${errorMessage(err)}`);
      }
    }
    return entries;
  }

  private toWrite(w: GuardedWrite): Write {
    // A delete's before-image may hold only the key: the other columns of its tombstone are NULL.
    const params = this.params(w.row, w.kind === 'delete');
    params.push(w.version);
    if (this.shape.deletedColumn !== undefined) params.push(w.kind === 'delete');
    return { kind: w.kind, key: this.keyOf(params), version: w.version, params };
  }

  /** The mapped columns' parameters of a row. */
  private params(row: Row, missingIsNull: boolean): SqlParam[] {
    return this.shape.columns.map((c, i) => {
      const field = c.field ?? c.name;
      if (!Object.hasOwn(row, field)) {
        if (missingIsNull && !this.keyIndex.includes(i)) return null;
        throw new TributaryError('TRIB_RECORD_INVALID', `field '${field}' (column '${c.name}') is missing from the record`);
      }
      const param = toParam(c.name, c.type, row[field]!, this.dialect.name);
      if (param === null && this.keyIndex.includes(i)) throw new TributaryError('TRIB_RECORD_INVALID', `key column '${c.name}' is null`);
      return param;
    });
  }

  /** The key of a row, converting only the key columns (an update's before-image, to see its key move). */
  private rowKey(row: Row): string {
    return JSON.stringify(this.keyIndex.map((i) => {
      const c = this.shape.columns[i]!;
      const v = row[c.field ?? c.name];
      if (v === undefined || v === null) throw new TributaryError('TRIB_RECORD_INVALID', `key column '${c.name}' is ${v === null ? 'null' : 'missing'}`);
      return String(toParam(c.name, c.type, v, this.dialect.name));
    }));
  }

  private keyOf(params: readonly SqlParam[]): string {
    return JSON.stringify(this.keyIndex.map((i) => String(params[i])));
  }

  private async inTransaction(session: SqlSession, work: () => Promise<void>): Promise<void> {
    await session.query('BEGIN');
    try {
      await work();
      await session.query('COMMIT');
    } catch (err) {
      await session.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }

  /**
   * The fast path: per key the write the guard would keep, one multi-row statement per kind and
   * chunk. A single statement is atomic on its own and runs without BEGIN/COMMIT (one round trip
   * instead of three: what batchSize 1 pays for); more run in one transaction.
   */
  private async writeFolded(session: SqlSession, entries: Entry[]): Promise<void> {
    const winners = new Map<string, Write>();
    for (const { writes } of entries) {
      for (const w of writes) {
        const current = winners.get(w.key);
        const stored: StoredVersion | undefined = current && { version: current.version, deleted: current.kind === 'delete' };
        if (applies(w, stored)) winners.set(w.key, w);
      }
    }
    const all = [...winners.values()];
    const chunk = Math.max(1, Math.floor(this.dialect.maxParams / writtenColumns(this.shape).length));
    const statements: Array<{ sql: string; params: SqlParam[]; rows: number }> = [];
    for (const kind of ['upsert', 'delete'] as const) {
      const writes = all.filter((w) => w.kind === kind);
      for (let i = 0; i < writes.length; i += chunk) {
        const part = writes.slice(i, i + chunk);
        const sql = kind === 'upsert' ? this.dialect.upsert(this.shape, part.length) : this.dialect.tombstone(this.shape, part.length);
        statements.push({ sql, params: part.flatMap((w) => w.params), rows: part.length });
      }
    }
    let stale = 0;
    const run = async (): Promise<void> => {
      for (const s of statements) stale += s.rows - (await session.query(s.sql, s.params)).affected;
    };
    if (statements.length === 1) await run();
    else await this.inTransaction(session, run);
    if (this.dialect.name === 'postgres') this.staleCount += stale;
  }

  /** The slow path after a refusal: records in order, each under a savepoint. */
  private async writeEach(session: SqlSession, entries: Entry[]): Promise<void> {
    for (const { record, writes } of entries) {
      await session.query('SAVEPOINT tributary_record');
      try {
        for (const w of writes) {
          const sql = w.kind === 'upsert' ? this.dialect.upsert(this.shape, 1) : this.dialect.tombstone(this.shape, 1);
          const result = await session.query(sql, w.params);
          if (this.dialect.name === 'postgres') this.staleCount += 1 - result.affected;
        }
        await session.query('RELEASE SAVEPOINT tributary_record');
      } catch (err) {
        if (classifySqlError(this.dialect.name, err) !== 'record') throw err;
        await session.query('ROLLBACK TO SAVEPOINT tributary_record');
        this.rejectRecord(record, `${this.where}: ${storeMessage(err)}`);
      }
    }
  }

  /** The error the base class sees: backpressure while the server is away, retriable, or final. */
  private batchError(pool: SqlPool, err: unknown, records: number): Error {
    const outcome = classifySqlError(this.dialect.name, err);
    const message = `${this.where}: writing ${records} record(s) to ${pool.target} failed: ${storeMessage(err)}`;
    if (outcome === 'unavailable') return new SinkBackpressureError(`${message}; waiting for the server`, this.unavailableRetryMs);
    return new TributaryError('TRIB_SINK', message, { retriable: outcome === 'transient', cause: err });
  }
}

/** The store's message, with PostgreSQL's detail line (which row, which key) when it has one. */
function storeMessage(err: unknown): string {
  const detail = typeof err === 'object' && err !== null ? (err as { detail?: unknown }).detail : undefined;
  const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
  const base = errorMessage(err) || (typeof code === 'string' ? code : 'unknown error');
  return typeof detail === 'string' && detail !== '' ? `${base} (${detail})` : base;
}
