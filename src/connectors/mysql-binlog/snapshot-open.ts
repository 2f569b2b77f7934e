/**
 * Opening a consistent snapshot transaction and the binlog position it corresponds to.
 *
 * 'snapshot-status' (MariaDB, the default there): START TRANSACTION WITH CONSISTENT SNAPSHOT,
 *   then SHOW STATUS LIKE 'binlog_snapshot_%'. MariaDB reports the binlog file/offset that
 *   matches the transaction's read view, so no global lock is taken and writers never wait.
 *   The GTID position comes from BINLOG_GTID_POS(file, pos).
 * 'read-lock' (MySQL, or forced): FLUSH TABLES WITH READ LOCK; START TRANSACTION WITH CONSISTENT
 *   SNAPSHOT; SHOW MASTER STATUS (SHOW BINARY LOG STATUS on MySQL 8.4+); UNLOCK TABLES, like
 *   mysqldump --single-transaction --master-data. Writers wait for the few milliseconds the lock
 *   is held (needs the RELOAD privilege). GTID: Executed_Gtid_Set on MySQL, @@gtid_binlog_pos on MariaDB.
 */
import type { Connection } from 'mysql2/promise';
import { TributaryError } from '../../core/errors.js';
import type { BinlogPosition } from './snapshot-order.js';

export type SnapshotStrategy = 'auto' | 'snapshot-status' | 'read-lock';

type StatusRow = Record<string, string | number | null>;

async function statusRows(conn: Connection, sql: string): Promise<StatusRow[]> {
  const [rows] = await conn.query(sql);
  return rows as StatusRow[];
}

async function masterStatus(conn: Connection): Promise<StatusRow | undefined> {
  try {
    return (await statusRows(conn, 'SHOW MASTER STATUS'))[0];
  } catch (err) {
    // MySQL 8.4 removed SHOW MASTER STATUS.
    if ((err as { code?: string }).code !== 'ER_PARSE_ERROR') throw err;
    return (await statusRows(conn, 'SHOW BINARY LOG STATUS'))[0];
  }
}

const nonEmpty = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' ? v.trim().replace(/\s+/g, '') : undefined);

async function viaSnapshotStatus(conn: Connection): Promise<BinlogPosition> {
  await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
  const status = await statusRows(conn, "SHOW STATUS LIKE 'binlog_snapshot_%'");
  const get = (name: string): string | number | null | undefined =>
    status.find((r) => String(r.Variable_name).toLowerCase() === name)?.Value;
  const file = get('binlog_snapshot_file');
  const pos = Number(get('binlog_snapshot_position'));
  if (typeof file !== 'string' || file === '' || !Number.isFinite(pos)) {
    throw new TributaryError('TRIB_SOURCE', 'the server reports no binlog_snapshot_file/position (MariaDB only; use strategy read-lock)');
  }
  const [gtidRows] = await conn.query('SELECT BINLOG_GTID_POS(?, ?) AS gtid', [file, pos]);
  const gtid = nonEmpty((gtidRows as Array<{ gtid: unknown }>)[0]?.gtid);
  return gtid === undefined ? { file, pos } : { file, pos, gtid };
}

async function viaReadLock(conn: Connection, isMariaDb: boolean): Promise<BinlogPosition> {
  await conn.query('FLUSH TABLES WITH READ LOCK');
  try {
    await conn.query('START TRANSACTION WITH CONSISTENT SNAPSHOT, READ ONLY');
    const status = await masterStatus(conn);
    if (!status || typeof status.File !== 'string') {
      throw new TributaryError('TRIB_SOURCE', 'SHOW MASTER STATUS returned nothing: binary logging is off');
    }
    let gtid = nonEmpty(status.Executed_Gtid_Set);
    if (isMariaDb) {
      const [r] = await conn.query('SELECT @@GLOBAL.gtid_binlog_pos AS gtid');
      gtid = nonEmpty((r as Array<{ gtid: unknown }>)[0]?.gtid);
    }
    const position: BinlogPosition = { file: status.File, pos: Number(status.Position) };
    return gtid === undefined ? position : { ...position, gtid };
  } finally {
    await conn.query('UNLOCK TABLES');
  }
}

/** Starts the read-only REPEATABLE READ transaction all chunks of this run are read in. */
export async function openConsistentSnapshot(conn: Connection, isMariaDb: boolean, strategy: SnapshotStrategy):
  Promise<{ position: BinlogPosition; method: 'snapshot-status' | 'read-lock' }> {
  const method = strategy === 'auto' ? (isMariaDb ? 'snapshot-status' : 'read-lock') : strategy;
  // TIMESTAMP values are read and compared as UTC text (snapshot-values.ts).
  await conn.query("SET SESSION time_zone = '+00:00'");
  await conn.query('SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ');
  const position = method === 'snapshot-status' ? await viaSnapshotStatus(conn) : await viaReadLock(conn, isMariaDb);
  return { position, method };
}
