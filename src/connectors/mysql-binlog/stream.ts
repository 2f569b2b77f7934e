/**
 * The binlog connection (zongji) turned into an ordered, bounded queue of row changes, each
 * tagged with the start of its transaction and its index in it (see position.ts for why).
 *
 * Transactions: a GTID event (MariaDB, MySQL), an anonymous GTID or a BEGIN query opens one at
 * the event's own start (next position − event length); Xid, COMMIT/ROLLBACK or any other
 * query (DDL) closes it. Only row changes of captured tables count towards `seq`.
 *
 * DDL: any query other than BEGIN/COMMIT/ROLLBACK drops zongji's table-map cache, so the next
 * table map of every table fetches its columns again (names and types after ALTER TABLE), and
 * tells the owner (onSchemaChange) to drop its own column descriptors. zongji reads column names
 * from information_schema when it first sees a table map, i.e. as of "now": a stream far behind
 * a later ALTER can get the new names for old rows. binlog_row_metadata=FULL (MariaDB 10.5+,
 * MySQL 8.0+) puts the names into the binlog itself and closes that gap; the source warns
 * without it. Types never come from "now": each change carries its table map's type codes, and
 * a value whose information_schema type disagrees with them is converted by the binlog's
 * (binlog-columns.ts).
 *
 * Backpressure: when `bufferSize` changes are queued the binlog connection is paused; take()
 * resumes it below half. Never while zongji is fetching a table's columns: zongji pauses the
 * connection itself for that, and a row event parsed before the fetch ends would be dropped.
 */
import ZongJi from '@vlasky/zongji';
import type { AnyBinlogEvent, TableMapEntry } from '@vlasky/zongji';
import { TributaryError, errorMessage } from '../../core/errors.js';
import type { Logger } from '../../core/logger.js';
import type { BinlogPosition } from './position.js';
import type { TableShape } from './snapshot-schema.js';
import type { TableFilter } from './tables.js';
import type { BinlogColumns } from './binlog-columns.js';

export interface ConnectionConfig { host: string; port: number; user: string; password: string }

export interface RowChange {
  op: 'c' | 'u' | 'd';
  db: string;
  table: string;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** Binlog event time, epoch ms (the binlog has second precision). */
  tsMs: number;
  serverId: number | undefined;
  /** This transaction's GTID, when the server writes GTIDs. */
  gtid: string | undefined;
  /** Start of the transaction; its gtid = the executed GTID position before it (when known). */
  txn: BinlogPosition;
  /** 1-based index of this change among the captured changes of its transaction. */
  seq: number;
  /**
   * information_schema's column descriptors, asked for when the change was read. A stream behind
   * a later ALTER TABLE gets the newer table here; `binlog` says what the row was written with.
   */
  shape: Promise<TableShape>;
  /** The row's table map: column type codes and metadata as of the row (see binlog-columns.ts). */
  binlog: BinlogColumns | undefined;
}

export interface BinlogStreamOptions {
  connection: ConnectionConfig;
  serverId: number;
  filter: TableFilter;
  /** Where to start: a transaction boundary. */
  start: BinlogPosition;
  /** Start from start.gtid (server-side GTID lookup) instead of file+pos. */
  useGtid: boolean;
  /** Captured changes of the first transaction to drop (already handed over before a restart). */
  skip: number;
  /** Databases to read table maps for (undefined = all but system schemas). */
  databases?: readonly string[];
  bufferSize: number;
  log: Logger;
  /** Column descriptors of a table, cached by the owner until onSchemaChange(). */
  describe(db: string, table: string): Promise<TableShape>;
  onSchemaChange(): void;
}

const EVENTS = ['rotate', 'gtid', 'anonymousgtid', 'mariadbgtid', 'query', 'xid', 'tablemap', 'writerows', 'updaterows', 'deleterows'];
const SYSTEM = { mysql: true, information_schema: true, performance_schema: true, sys: true } as const;
/** ER_MASTER_FATAL_ERROR_READING_BINLOG: purged file, bad position, unknown GTID state. */
const ER_BINLOG_READ = 1236;
const HEADER = 19;
const CHECKSUM = 4;

type ZongJiInternals = ZongJi & { _fetchTableInfo(event: unknown, next: () => void): void };

export class BinlogStream {
  private readonly zongji: ZongJiInternals;
  private readonly queue: RowChange[] = [];
  private file: string;
  private inTxn = false;
  private txn: BinlogPosition;
  private txnGtid: string | undefined;
  private txnServerId: number | undefined;
  private rowIndex = 0;
  private skip: number;
  private paused = false;
  private fetching = 0;
  private waiter: (() => void) | undefined;
  private stopped = false;
  failure: TributaryError | undefined;

  constructor(private readonly options: BinlogStreamOptions) {
    this.file = options.start.file;
    this.txn = { ...options.start };
    this.skip = options.skip;
    const { host, port, user, password } = options.connection;
    // dateStrings + timezone Z: DATE/DATETIME as text and TIMESTAMP as UTC text, never a Date in
    // the process's zone; snapshot-values.ts turns the text into the envelope form.
    this.zongji = new ZongJi({ host, port, user, password, dateStrings: true, timezone: 'Z', charset: 'utf8mb4' }) as ZongJiInternals;
    const fetch = this.zongji._fetchTableInfo.bind(this.zongji);
    this.zongji._fetchTableInfo = (event, next) => {
      this.fetching++;
      fetch(event, () => {
        this.fetching--;
        next();
      });
    };
  }

  /** Resolves once the dump command is sent; rejects with the start error. */
  start(): Promise<void> {
    const { start, useGtid, serverId, databases } = this.options;
    return new Promise((resolve, reject) => {
      let settled = false;
      this.zongji.on('ready', () => {
        settled = true;
        resolve();
      });
      this.zongji.on('error', (err: unknown) => {
        const mapped = this.mapError(err);
        if (!settled) {
          settled = true;
          reject(mapped);
          return;
        }
        if (this.stopped) return;
        this.failure ??= mapped;
        this.wake();
      });
      this.zongji.on('binlog', (event: AnyBinlogEvent) => {
        try {
          this.onEvent(event);
        } catch (err) {
          this.failure ??= new TributaryError('TRIB_SOURCE', `binlog event at ${this.file}: ${errorMessage(err)}`, { cause: err });
        }
        this.wake();
      });
      this.zongji.start({
        serverId,
        ...(useGtid ? { gtidSet: start.gtid } : { filename: start.file, position: start.pos }),
        includeEvents: EVENTS,
        excludeSchema: SYSTEM,
        ...(databases ? { includeSchema: Object.fromEntries(databases.map((d) => [d, true as const])) } : {}),
      });
    });
  }

  /** Up to max queued changes, in binlog order. */
  take(max: number): RowChange[] {
    const out = this.queue.splice(0, max);
    if (this.paused && this.queue.length < this.options.bufferSize / 2 && this.fetching === 0) {
      this.paused = false;
      this.zongji.connection?.resume();
    }
    return out;
  }

  get buffered(): number {
    return this.queue.length;
  }

  /** Resolves when a change or an error arrives, or after ms. */
  async wait(ms: number): Promise<void> {
    if (this.queue.length > 0 || this.failure) return;
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.waiter = undefined;
        resolve();
      }, ms);
      this.waiter = () => {
        clearTimeout(timer);
        this.waiter = undefined;
        resolve();
      };
    });
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.wake();
    await new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, 2_000);
      this.zongji.once('stopped', () => {
        clearTimeout(timer);
        resolve();
      });
      this.zongji.stop();
    });
  }

  private wake(): void {
    this.waiter?.();
  }

  private eventStart(event: AnyBinlogEvent): number {
    return event.nextPosition - event.size - HEADER - (this.zongji.useChecksum ? CHECKSUM : 0);
  }

  private begin(event: AnyBinlogEvent, gtid: string | undefined, serverId: number | undefined): void {
    this.inTxn = true;
    this.txn = { file: this.file, pos: this.eventStart(event), ...(this.zongji.gtidSet !== undefined ? { gtid: this.zongji.gtidSet } : {}) };
    this.txnGtid = gtid;
    this.txnServerId = serverId;
    this.rowIndex = 0;
  }

  private end(): void {
    if (this.inTxn) this.skip = 0;
    this.inTxn = false;
  }

  private onEvent(event: AnyBinlogEvent): void {
    switch (event.getEventName()) {
      case 'rotate':
        if ('binlogName' in event) this.file = event.binlogName;
        return;
      case 'mariadbgtid':
        if ('domainId' in event) this.begin(event, event.gtid, event.serverId);
        return;
      case 'gtid':
        if ('sid' in event) this.begin(event, event.gtid, undefined);
        return;
      case 'anonymousgtid':
        this.begin(event, undefined, undefined);
        return;
      case 'xid':
        this.end();
        return;
      case 'query': {
        if (!('query' in event)) return;
        const q = event.query.trim().toUpperCase();
        if (q === 'BEGIN' || q.startsWith('XA START')) {
          if (!this.inTxn) this.begin(event, undefined, undefined);
          return;
        }
        if (q !== 'COMMIT' && q !== 'ROLLBACK' && !q.startsWith('XA ')) {
          // DDL (or another statement): columns may have changed, table ids too.
          this.zongji.tableMap = {};
          this.options.onSchemaChange();
        }
        this.end();
        return;
      }
      case 'writerows':
      case 'updaterows':
      case 'deleterows':
        this.onRows(event);
        return;
      default:
        return;
    }
  }

  private onRows(event: AnyBinlogEvent): void {
    if (!('tableId' in event) || !('rows' in event)) return;
    const map: TableMapEntry | undefined = event.tableMap[event.tableId];
    if (!map || !this.options.filter(map.parentSchema, map.tableName)) return;
    const name = event.getEventName();
    const op = name === 'writerows' ? 'c' : name === 'updaterows' ? 'u' : 'd';
    const rows = event.rows as unknown[];
    const shape = this.options.describe(map.parentSchema, map.tableName);
    const binlog: BinlogColumns | undefined = map.columns ? { columns: map.columns, schemas: map.columnSchemas } : undefined;
    for (const row of rows) {
      this.rowIndex++;
      if (this.rowIndex <= this.skip) continue;
      const r = row as Record<string, unknown>;
      const update = r as { before: Record<string, unknown>; after: Record<string, unknown> };
      this.queue.push({
        op, db: map.parentSchema, table: map.tableName,
        before: op === 'c' ? null : op === 'u' ? update.before : r,
        after: op === 'd' ? null : op === 'u' ? update.after : r,
        tsMs: event.timestamp, serverId: this.txnServerId, gtid: this.txnGtid ?? event.gtid, txn: this.txn, seq: this.rowIndex, shape, binlog,
      });
    }
    if (this.queue.length >= this.options.bufferSize) {
      this.paused = true;
      this.zongji.connection?.pause();
    }
  }

  private mapError(err: unknown): TributaryError {
    if (err instanceof TributaryError) return err;
    const e = err as { errno?: number; code?: string };
    const where = `${this.options.connection.host}:${this.options.connection.port}`;
    if (e.errno === ER_BINLOG_READ) {
      return new TributaryError('TRIB_SOURCE_POSITION_LOST',
        `binlog on ${where} cannot be read from ${this.describeStart()}: ${errorMessage(err)}`, { cause: err });
    }
    return new TributaryError('TRIB_SOURCE', `binlog connection to ${where}: ${errorMessage(err)}`, { cause: err, retriable: true });
  }

  private describeStart(): string {
    const s = this.options.start;
    return this.options.useGtid ? `GTID position '${s.gtid}'` : `${s.file}:${s.pos}`;
  }
}
