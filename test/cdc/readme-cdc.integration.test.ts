/**
 * README's `tributary cdc` snippet, run as written: the YAML block of the section is the config
 * file, the environment variables it names point at this test's own mariadbd, redis-server and
 * dev broker. The snapshot of the included tables reaches their Kafka topics.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import type { ChildProcess } from 'node:child_process';
import type { Pool } from 'mysql2/promise';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMariaDb, type TestMariaDb } from '../helpers/mariadb.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startAll } from '../helpers/start-all.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { repoRoot, spawnCli } from '../helpers/cli.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import { createCdcSchema, runCdcLoad } from '../../scripts/cdc-load.js';
import { DB, openLoadPool } from './cdc-harness.js';

/** The first ```yaml block after the `tributary cdc` heading of README.md. */
async function readmeCdcConfig(): Promise<string> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const at = readme.indexOf('### `tributary cdc`');
  if (at < 0) throw new Error('README.md has no "### `tributary cdc`" section');
  const m = /```yaml\n([\s\S]*?)```/.exec(readme.slice(at));
  if (!m) throw new Error('the `tributary cdc` section of README.md has no yaml block');
  return m[1]!;
}

describe('README: tributary cdc', () => {
  let db: TestMariaDb;
  let redis: TestRedis;
  let broker: TestBroker;
  let pool: Pool;
  let dir: string;
  let child: ChildProcess | undefined;

  beforeAll(async () => {
    [db, redis, broker] = await startAll(startMariaDb({ database: DB }), startRedis({ aof: true }), startTestBroker());
    pool = await openLoadPool(db);
    await createCdcSchema(pool);
    await runCdcLoad(pool, { ops: 50, rate: 0, seed: 5 });
    dir = await mkdtemp(join(tmpdir(), 'tributary-readme-cdc-'));
  }, 60_000);

  afterAll(async () => {
    if (child && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise((r) => child!.on('exit', r));
      child.kill('SIGKILL');
      await exited;
    }
    await pool?.end();
    await Promise.all([db?.close(), redis?.close(), broker?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('the config snippet runs: every loan_application row reaches cdc.loans.loan_application', async () => {
    const config = join(dir, 'cdc.yaml');
    await writeFile(config, await readmeCdcConfig());
    const c = db.connectionConfig();
    const env = {
      ...process.env,
      MYSQL_HOST: c.host, MYSQL_PORT: String(c.port), MYSQL_USER: c.user, MYSQL_PASSWORD: c.password,
      KAFKA_BROKERS: broker.brokers.join(','), REDIS_URL: redis.url,
    };
    child = spawnCli(['cdc', config], { env });
    let log = '';
    child.stdout?.on('data', (d: Buffer) => (log += d.toString()));
    child.stderr?.on('data', (d: Buffer) => (log += d.toString()));
    const exited = new Promise<number | null>((r) => child!.on('exit', (code) => r(code)));

    const [rows] = await pool.query('SELECT id FROM loan_application');
    const want = new Set((rows as Array<{ id: number }>).map((r) => String(r.id)));
    expect(want.size).toBeGreaterThan(0);

    const kafka = await createKafkaClient({ brokers: broker.brokers, clientId: 'readme-cdc-test' });
    await kafka.connect();
    const seen = new Set<string>();
    try {
      const topic = `cdc.${DB}.loan_application`;
      for (let i = 0; i < 600 && !(await kafka.admin.listTopics()).includes(topic); i++) {
        if (child.exitCode !== null) throw new Error(`tributary cdc exited ${child.exitCode}:\n${log}`);
        await sleep(100);
      }
      const consumer = await kafka.assignedConsumer();
      await consumer.assign([{ topic, partition: 0, offset: 0n }]);
      for (let i = 0; i < 120 && seen.size < want.size; i++) {
        for (const m of await consumer.fetch({ maxWaitMs: 500 })) {
          const env = JSON.parse(m.value!.toString()) as { op: string; after: { id: number } | null };
          if (env.after) seen.add(String(env.after.id));
        }
      }
      expect([...want].filter((id) => !seen.has(id)), log).toEqual([]);
      expect(log).not.toContain(c.password);
      await consumer.close();
    } finally {
      await kafka.disconnect();
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
  }, 120_000);
});
