/**
 * Acceptance of topologies/cdc-loan-features.yaml against a real mariadbd (ROW binlog) and a real
 * redis-server (AOF), the worker a `tributary run` child process:
 *   - 10,000 random inserts/updates/deletes while the worker is killed -9 twice and Redis is down
 *     for 10 s: the Redis features equal the reference computed by SQL from the final tables.
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

const TOPOLOGY = join(repoRoot, 'topologies', 'cdc-loan-features.yaml');
const SEED = Number(process.env.CDC_TEST_SEED ?? Date.now() % 100_000);

describe('cdc-loan-features: binlog -> per-user features in Redis', () => {
  let services: CdcServices;
  let db: TestMariaDb;
  let redis: TestRedis;
  let pool: Pool;
  let client: Redis;
  let dataDir: string;

  beforeAll(async () => {
    services = await startCdcServices();
    ({ db, redis, pool, client, dir: dataDir } = services);
    // An existing database: the snapshot has rows before streaming starts.
    await runCdcLoad(pool, { ops: 200, rate: 0, users: 150, seed: SEED + 1 });
  }, 60_000);

  afterAll(async () => {
    await services?.close();
  });

  it('10,000 random changes, two kill -9 of the worker and 10 s of Redis down: features equal the SQL reference', async () => {
    const env = workerEnv(db, redis.url);
    const start = (): CdcWorker => {
      const w = services.start(TOPOLOGY, dataDir, env);
      return w;
    };
    let worker = start();
    const TOTAL = 10_000;
    let done = 0;
    const load = runCdcLoad(pool, { ops: TOTAL, rate: 300, users: 150, seed: SEED, onProgress: (n) => (done = n) });
    const reached = async (n: number): Promise<void> => {
      while (done < n) await sleep(100);
    };
    const log: string[] = [];

    await reached(1_500);
    expect(worker.child.exitCode, worker.log()).toBeNull();
    await worker.kill9();
    log.push(`kill -9 #1 at ${done} ops`);
    await sleep(500);
    worker = start();

    await reached(3_500);
    await redis.stop();
    log.push(`redis stopped at ${done} ops`);
    await sleep(10_000);
    await redis.start();
    log.push(`redis started at ${done} ops`);

    await reached(7_000);
    expect(worker.child.exitCode, worker.log()).toBeNull();
    await worker.kill9();
    log.push(`kill -9 #2 at ${done} ops`);
    await sleep(500);
    worker = start();

    const result = await load;
    expect(result.ops).toBeGreaterThanOrEqual(TOTAL);
    const diffs = await settle(pool, client, 40_000);
    if (diffs.length > 0) {
      throw new Error(`seed ${SEED}: ${diffs.length} users differ (${log.join('; ')}):\n${diffs.slice(0, 10).join('\n')}\nworker log:\n${worker.log()}`);
    }
    // Not vacuous: most users have features, and the worker is still running.
    expect((await redisFeatures(client)).size).toBeGreaterThan(100);
    expect(worker.child.exitCode).toBeNull();
    await worker.stop();
    expect((await worker.exited).code).toBe(0);
  }, 120_000);
});
