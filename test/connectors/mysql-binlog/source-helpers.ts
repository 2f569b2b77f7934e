/** Drives a mysql-binlog source against the test mariadbd the way the runtime does: open, restore, poll. */
import { createLogger, type Logger } from '../../../src/core/logger.js';
import type { RawRecord } from '../../../src/connectors/types.js';
import { MysqlBinlogSource } from '../../../src/connectors/mysql-binlog/source.js';
import { mysqlBinlogSpec, type MysqlBinlogConfig } from '../../../src/connectors/mysql-binlog/spec.js';
import type { TestMariaDb } from '../../helpers/mariadb.js';

export interface OpenedSource {
  source: MysqlBinlogSource;
  /** Every log line the source wrote (for "no secret in logs" checks). */
  logs: string[];
}

export function binlogConfig(db: TestMariaDb, overrides: Partial<MysqlBinlogConfig> = {}): MysqlBinlogConfig {
  const c = db.connectionConfig();
  return {
    host: c.host, port: c.port, user: c.user, password: c.password, serverId: 54001 + Math.floor(Math.random() * 10_000),
    snapshot: 'never', gtid: 'auto', bufferSize: 10_000, snapshotChunkSize: 1_000, ...overrides,
  };
}

export async function openSource(config: MysqlBinlogConfig, token?: string): Promise<OpenedSource> {
  const logs: string[] = [];
  const logger: Logger = createLogger({ level: 'debug', json: true, write: (line) => logs.push(line) });
  const source = new MysqlBinlogSource('cdc', config, { idleWaitMs: 50 });
  await source.open({ logger, signal: new AbortController().signal });
  if (token !== undefined) source.restore(0, token);
  return { source, logs };
}

/** Polls until `count` records arrived (fails after timeoutMs with what came). */
export async function collect(source: MysqlBinlogSource, count: number, timeoutMs = 10_000): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count) {
    if (Date.now() > deadline) throw new Error(`expected ${count} records within ${timeoutMs} ms, got ${out.length}: ${JSON.stringify(out.map((r) => r.value))}`);
    const batch = await source.poll(count - out.length);
    out.push(...batch.records);
  }
  return out;
}

/** Polls for a while and returns whatever arrived (to assert that nothing more comes). */
export async function drain(source: MysqlBinlogSource, ms = 400): Promise<RawRecord[]> {
  const out: RawRecord[] = [];
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) out.push(...(await source.poll(1000)).records);
  return out;
}

/** Starts streaming (snapshot: never reads from the end as of the first poll). */
export async function started(opened: OpenedSource): Promise<OpenedSource> {
  const first = await opened.source.poll(100);
  if (first.records.length > 0) throw new Error(`unexpected records before any change: ${JSON.stringify(first.records)}`);
  return opened;
}

export type Envelope = { op: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; source: Record<string, unknown> };
export const env = (r: RawRecord): Envelope => r.value as unknown as Envelope;

export { mysqlBinlogSpec };
