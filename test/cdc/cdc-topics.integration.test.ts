/**
 * Issue 11 defect: `tributary cdc` creates the topic of every included table when it starts, not
 * at the table's first change, so workers deployed with it find their source topics (and a table
 * that stays empty for a while does not make them wait or crash-loop). Excluded tables get none.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ChildProcess } from 'node:child_process';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startMariaDb, type TestMariaDb } from '../helpers/mariadb.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startAll } from '../helpers/start-all.js';
import { waitFor } from '../helpers/broker.js';
import { describeOnBrokers, type KafkaUnderTest } from '../helpers/kafka.js';
import { spawnCli } from '../helpers/cli.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import { createCdcSchema } from '../../scripts/cdc-load.js';
import { DB, cdcConfigYaml, openLoadPool } from './cdc-harness.js';

// The only suite that writes cdc.* topics on the run's shared real Kafka.
describeOnBrokers('tributary cdc at start', (kafkaUnderTest) => {
  let db: TestMariaDb;
  let redis: TestRedis;
  let broker: KafkaUnderTest;
  let pool: Pool;
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    broker = kafkaUnderTest();
    [db, redis] = await startAll(startMariaDb({ database: DB }), startRedis({ aof: true }));
    pool = await openLoadPool(db);
    await createCdcSchema(pool);
    await pool.query('CREATE TABLE audit_note (id INT PRIMARY KEY, note TEXT)');
    dir = await mkdtemp(join(tmpdir(), 'tributary-cdc-topics-'));
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const gone = new Promise((r) => child!.once('exit', r));
      child.kill('SIGKILL');
      await gone;
    }
    await pool?.end();
    await Promise.all([db?.close(), redis?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('creates the topics of every included table, empty ones too, before any change', async () => {
    const c = db.connectionConfig();
    const config = join(dir, 'cdc.yaml');
    await writeFile(config, cdcConfigYaml(db, broker.brokers, redis.url, { mysql: [`exclude: ["${DB}.audit_*"]`], kafka: ['partitions: 3'] }));
    const proc = spawnCli(['cdc', config], { env: { ...process.env, MYSQL_PASSWORD: c.password } });
    child = proc;
    let log = '';
    proc.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    proc.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    await waitFor(() => (log.includes('leading: reading the binlog') ? true : undefined), 60_000, () => `no leader:\n${log.slice(-3000)}`);

    const kafka = await createKafkaClient({ brokers: broker.brokers, clientId: 'cdc-topics-test' });
    await kafka.connect();
    try {
      const want = [`cdc.${DB}.loan_application`, `cdc.${DB}.repayment`];
      const topics = await waitFor(async () => {
        const all = (await kafka.admin.listTopics()).filter((t) => t.startsWith('cdc.'));
        return want.every((t) => all.includes(t)) ? all : undefined;
      }, 15_000, () => `cdc topics so far; log:\n${log.slice(-3000)}`);
      expect(topics.sort()).toEqual(want);
      const meta = await kafka.admin.fetchTopicMetadata(want);
      expect(meta.map((m) => m.partitions.length)).toEqual([3, 3]);
      // Created empty: no table had a change yet.
      for (const t of want) expect((await kafka.admin.listOffsets(t)).every((o) => o.latest === 0n)).toBe(true);
    } finally {
      await kafka.disconnect();
    }
    expect(proc.exitCode).toBeNull();
  }, 120_000);
});
