/**
 * `tributary cdc`: two processes against one mariadbd, the dev broker and redis-server. One leads
 * (Redis lease), the other stands by; the leader is killed -9 mid-stream; the standby takes over
 * from the fenced stored position within 10 s. Every committed change reaches Kafka: replaying the
 * topics (deduplicated by table, pk and binlog position) rebuilds exactly the final tables.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
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
import { spawnCli } from '../helpers/cli.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import { createCdcSchema, runCdcLoad } from '../../scripts/cdc-load.js';
import { DB, cdcConfigYaml, openLoadPool } from './cdc-harness.js';

interface Proc { child: ChildProcess; log: () => string; exited: Promise<unknown> }
type Env = { op: string; before: Record<string, unknown> | null; after: Record<string, unknown> | null; source: { table: string; file: string; pos: number } };

function startCdc(config: string, env: Record<string, string>): Proc {
  const child = spawnCli(['cdc', config], { env: { ...process.env, ...env } });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  return { child, log: () => text, exited: new Promise((r) => child.on('exit', r)) };
}

describe('tributary cdc: one leader-elected binlog reader per server', () => {
  let db: TestMariaDb;
  let redis: TestRedis;
  let broker: TestBroker;
  let pool: Pool;
  let dir: string;
  const procs: Proc[] = [];

  beforeAll(async () => {
    [db, redis, broker] = await startAll(startMariaDb({ database: DB }), startRedis({ aof: true }), startTestBroker());
    pool = await openLoadPool(db);
    await createCdcSchema(pool);
    await runCdcLoad(pool, { ops: 100, rate: 0, seed: 3 });
    dir = await mkdtemp(join(tmpdir(), 'tributary-cdc-leader-'));
  }, 60_000);

  afterAll(async () => {
    for (const p of procs) {
      if (p.child.exitCode === null && p.child.signalCode === null) p.child.kill('SIGKILL');
      await p.exited;
    }
    await pool?.end();
    await Promise.all([db?.close(), redis?.close(), broker?.close()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('kill -9 of the leader mid-stream: the standby continues within 10 s and no change is lost', async () => {
    const c = db.connectionConfig();
    const config = join(dir, 'cdc.yaml');
    await writeFile(config, cdcConfigYaml(db, broker.brokers, redis.url, { end: ['lease:', '  ttl: 3s', 'batchSize: 100'] }));
    const env = { MYSQL_PASSWORD: c.password };
    procs.push(startCdc(config, env), startCdc(config, env));
    const leading = (p: Proc): boolean => p.log().includes('leading: reading the binlog');
    const deadline = Date.now() + 30_000;
    while (!procs.some(leading)) {
      if (Date.now() > deadline) throw new Error(`no leader:\n${procs.map((p) => p.log()).join('\n---\n')}`);
      await sleep(100);
    }
    const [leader, standby] = leading(procs[0]!) ? [procs[0]!, procs[1]!] : [procs[1]!, procs[0]!];
    expect(leading(standby)).toBe(false);

    let done = 0;
    const load = runCdcLoad(pool, { ops: 2_000, rate: 200, seed: 4, onProgress: (n) => (done = n) });
    while (done < 600) await sleep(50);
    leader.child.kill('SIGKILL');
    await leader.exited;
    const killedAt = Date.now();
    while (!leading(standby)) {
      if (Date.now() - killedAt > 10_000) throw new Error(`standby did not take over within 10 s:\n${standby.log()}`);
      await sleep(50);
    }
    await load;

    // Replay the topics until they rebuild the final tables.
    const kafka = await createKafkaClient({ brokers: broker.brokers, clientId: 'cdc-leader-test' });
    await kafka.connect();
    const consumer = await kafka.assignedConsumer();
    const topics = [`cdc.${DB}.loan_application`, `cdc.${DB}.repayment`];
    await consumer.assign(topics.map((topic) => ({ topic, partition: 0, offset: 0n })));
    const seen = new Map<string, string>();
    const tables = new Map<string, Map<string, Record<string, unknown>>>(topics.map((t) => [t.split('.')[2]!, new Map()]));
    let total = 0;
    let duplicates = 0;
    const expected = async (): Promise<string> => {
      const [loans] = await pool.query('SELECT id, user_id, amount, status FROM loan_application ORDER BY id');
      const [reps] = await pool.query('SELECT id, user_id, principal FROM repayment ORDER BY id');
      return JSON.stringify([loans, reps]);
    };
    const actual = (): string => {
      const rows = (table: string, cols: string[]) => [...tables.get(table)!.values()]
        .map((r) => Object.fromEntries(cols.map((col) => [col, r[col]])))
        .sort((a, b) => Number(a.id) - Number(b.id));
      return JSON.stringify([rows('loan_application', ['id', 'user_id', 'amount', 'status']), rows('repayment', ['id', 'user_id', 'principal'])]);
    };
    const want = await expected();
    const until = Date.now() + 30_000;
    try {
      while (actual() !== want && Date.now() < until) {
        for (const m of await consumer.fetch({ maxWaitMs: 500 })) {
          total++;
          const env = JSON.parse(m.value!.toString()) as Env;
          const pk = m.key!.toString();
          const id = `${env.source.table}|${pk}|${env.source.file}:${env.source.pos}|${env.op}`;
          const body = JSON.stringify([env.before, env.after]);
          if (seen.has(id)) {
            duplicates++;
            expect(seen.get(id), `a re-sent change must be the same change: ${id}`).toBe(body);
            continue;
          }
          seen.set(id, body);
          const rows = tables.get(env.source.table)!;
          if (env.op === 'd') rows.delete(pk);
          else rows.set(pk, env.after!);
        }
      }
    } finally {
      await consumer.close();
      await kafka.disconnect();
    }
    expect(actual()).toBe(want);
    expect(seen.size).toBeGreaterThan(1_500);
    process.stdout.write(`cdc-leader: ${total} records, ${seen.size} distinct changes, ${duplicates} re-sent after the takeover\n`);
  }, 120_000);
});
