/**
 * Acceptance of the CDC pipeline's snapshot and DDL handling (real mariadbd + redis-server; the
 * worker a `tributary run` child process):
 *   - a 100k-row table snapshotted, the worker killed -9 mid-snapshot and restarted on the same
 *     data dir, then streaming: every count/sum feature equals SQL (no row missing or twice);
 *   - ALTER TABLE ADD COLUMN while streaming: the worker goes on and later envelopes carry the column.
 */
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Pool } from 'mysql2/promise';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TestMariaDb } from '../helpers/mariadb.js';
import type { TestRedis } from '../helpers/redis.js';
import { repoRoot } from '../helpers/cli.js';
import { runCdcLoad } from '../../scripts/cdc-load.js';
import { redisFeatures, settle, startCdcServices, workerEnv, type CdcServices, type CdcWorker } from './cdc-harness.js';
import { readRows } from '../helpers/fleet.js';

const FEATURES = join(repoRoot, 'topologies', 'cdc-loan-features.yaml');
const RAW = join(repoRoot, 'test', 'cdc', 'fixtures', 'raw-envelopes.yaml');
const ROWS = 100_000;

describe('cdc pipeline: snapshot and DDL', () => {
  let services: CdcServices;
  let db: TestMariaDb;
  let redis: TestRedis;
  let pool: Pool;
  let client: Redis;
  let dir: string;
  const start = (topology: string, dataDir: string, env: Record<string, string>): CdcWorker => services.start(topology, dataDir, env);

  beforeAll(async () => {
    services = await startCdcServices();
    ({ db, redis, pool, client, dir } = services);
  }, 60_000);

  afterAll(async () => {
    await services?.close();
  });

  it('snapshot of 100k rows with a kill -9 mid-snapshot, then streaming: no row missing or counted twice', async () => {
    // seq_1_to_N is MariaDB's built-in sequence engine. Event times lie within the last hour.
    await pool.query(`INSERT INTO loan_application (user_id, amount, status, channel, applied_at)
      SELECT CONCAT('u', seq % 500), (seq % 1000) + 0.25, ELT(1 + seq % 3, 'applied', 'approved', 'rejected'), 'web',
             UTC_TIMESTAMP(3) - INTERVAL (seq % 3600) SECOND FROM seq_1_to_${ROWS}`);
    await pool.query(`INSERT INTO repayment (user_id, loan_id, principal, repaid_at)
      SELECT CONCAT('u', seq % 500), seq, (seq % 100) + 0.5, UTC_TIMESTAMP(3) - INTERVAL (seq % 7200) SECOND FROM seq_1_to_5000`);
    const dataDir = join(dir, 'snapshot');
    const env = workerEnv(db, redis.url);
    let worker = start(FEATURES, dataDir, env);

    // Kill once a good part of the snapshot is in Redis (so at least one checkpoint was taken), not all.
    let counted = 0;
    const deadline = Date.now() + 60_000;
    while (counted < 30_000) {
      if (Date.now() > deadline) throw new Error(`snapshot did not progress (${counted} rows in Redis):\n${worker.log()}`);
      await sleep(100);
      counted = [...(await redisFeatures(client)).values()].reduce((n, f) => n + f.apply_cnt_3d, 0);
    }
    await worker.kill9();
    const atKill = [...(await redisFeatures(client)).values()].reduce((n, f) => n + f.apply_cnt_3d, 0);
    expect(atKill, 'the kill must land mid-snapshot').toBeLessThan(ROWS);

    worker = start(FEATURES, dataDir, env);
    await runCdcLoad(pool, { ops: 1_000, rate: 0, users: 500, seed: 5 });
    const diffs = await settle(pool, client, 90_000);
    if (diffs.length > 0) throw new Error(`${diffs.length} users differ (killed at ${atKill} rows):\n${diffs.slice(0, 10).join('\n')}\n${worker.log()}`);
    const total = [...(await redisFeatures(client)).values()].reduce((n, f) => n + f.apply_cnt_3d, 0);
    const [[{ n }]] = (await pool.query('SELECT COUNT(*) AS n FROM loan_application')) as unknown as [[{ n: number }]];
    expect(total).toBe(Number(n));
    await worker.stop();
  }, 180_000);

  it('ALTER TABLE ADD COLUMN while streaming: the pipeline goes on and later envelopes carry the column', async () => {
    await pool.query('CREATE DATABASE ddl');
    await pool.query('CREATE TABLE ddl.ddl_probe (id BIGINT PRIMARY KEY, name VARCHAR(20) NOT NULL)');
    // A row to snapshot: the source stops on an empty table's snapshot (reported to the lead).
    await pool.query("INSERT INTO ddl.ddl_probe VALUES (0, 'snap')");
    const out = join(dir, 'envelopes.jsonl');
    const worker = start(RAW, join(dir, 'raw'), workerEnv(db, redis.url, { MYSQL_DATABASE: 'ddl', CDC_OUT: out }));
    type Env = { op: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; source: { table: string } };
    const probe = async (): Promise<Env[]> => {
      return ((await readRows(out)) as unknown as Env[]).filter((e) => e.source.table === 'ddl_probe');
    };
    const waitFor = async (n: number): Promise<Env[]> => {
      const deadline = Date.now() + 30_000;
      for (;;) {
        const envs = await probe();
        if (envs.length >= n) return envs;
        if (Date.now() > deadline) throw new Error(`expected ${n} ddl_probe envelopes, got ${envs.length}:\n${worker.log()}`);
        await sleep(100);
      }
    };

    expect((await waitFor(1))[0]).toMatchObject({ op: 'r', after: { id: 0, name: 'snap' } });
    await pool.query("INSERT INTO ddl.ddl_probe VALUES (1, 'before')");
    expect((await waitFor(2))[1]!.after).toEqual({ id: 1, name: 'before' });

    await pool.query('ALTER TABLE ddl.ddl_probe ADD COLUMN score INT NULL DEFAULT 7');
    await pool.query("INSERT INTO ddl.ddl_probe VALUES (2, 'after', 42)");
    await pool.query('UPDATE ddl.ddl_probe SET score = 9 WHERE id = 1');
    const envs = await waitFor(4);
    expect(envs[2]).toMatchObject({ op: 'c', after: { id: 2, name: 'after', score: 42 } });
    expect(envs[3]).toMatchObject({ op: 'u', before: { id: 1, score: 7 }, after: { id: 1, name: 'before', score: 9 } });
    expect(worker.child.exitCode).toBeNull();
    await worker.stop();
    expect((await worker.exited).code).toBe(0);
  }, 60_000);
});
