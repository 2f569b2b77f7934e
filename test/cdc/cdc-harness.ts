/**
 * Shared pieces of the CDC acceptance tests: the worker as a `tributary run` child (so it can be
 * kill -9'd), the reference features computed by SQL from the final tables, and the features read
 * back from Redis, both in the same normalized form.
 */
import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import mysql from 'mysql2/promise';
import type { Pool } from 'mysql2/promise';
import { Redis } from 'ioredis';
import { spawnCli } from '../helpers/cli.js';
import { startMariaDb, type TestMariaDb } from '../helpers/mariadb.js';
import { startRedis, type TestRedis } from '../helpers/redis.js';
import { startAll } from '../helpers/start-all.js';
import { createCdcSchema } from '../../scripts/cdc-load.js';
import { fromCents, toCents } from '../../topologies/operators/loan-features.js';

export const DB = 'loans';

/**
 * A `tributary cdc` config for the test services, capturing every table of DB (the password from
 * $MYSQL_PASSWORD); `extra` adds lines to the mysql and kafka sections and at the end.
 */
export function cdcConfigYaml(db: TestMariaDb, brokers: string[], redisUrl: string, extra: { mysql?: string[]; kafka?: string[]; end?: string[] } = {}): string {
  const c = db.connectionConfig();
  const indent = (lines: string[] = []): string => lines.map((l) => `  ${l}\n`).join('');
  return `mysql:
  host: ${c.host}
  port: ${c.port}
  user: ${c.user}
  password: \${MYSQL_PASSWORD}
  include: ["${DB}.*"]
  timezone: UTC
${indent(extra.mysql)}kafka:
  brokers: ${brokers.join(',')}
  topicPrefix: cdc
${indent(extra.kafka)}redis:
  url: ${redisUrl}
${(extra.end ?? []).map((l) => `${l}\n`).join('')}`;
}

export interface CdcWorker {
  readonly child: ChildProcess;
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  log(): string;
  kill9(): Promise<void>;
  /** SIGTERM and wait (final checkpoint). */
  stop(): Promise<void>;
}

export function workerEnv(db: TestMariaDb, redisUrl: string, extra: Record<string, string> = {}): Record<string, string> {
  const c = db.connectionConfig();
  return {
    MYSQL_HOST: c.host, MYSQL_PORT: String(c.port), MYSQL_USER: c.user, MYSQL_PASSWORD: c.password, MYSQL_DATABASE: DB,
    MYSQL_SERVER_ID: String(60_000 + Math.floor(Math.random() * 10_000)), REDIS_URL: redisUrl, ...extra,
  };
}

export function startCdcWorker(topology: string, dataDir: string, env: Record<string, string>, extraArgs: string[] = []): CdcWorker {
  const child = spawnCli(['run', topology, '--data-dir', dataDir, '--quiet', ...extraArgs], { env: { ...process.env, ...env } });
  let text = '';
  child.stdout?.on('data', (d: Buffer) => (text += d.toString()));
  child.stderr?.on('data', (d: Buffer) => (text += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal })));
  const end = async (signal: NodeJS.Signals): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
  };
  return { child, exited, log: () => text.slice(-4000), kill9: () => end('SIGKILL'), stop: () => end('SIGTERM') };
}

export async function openLoadPool(db: TestMariaDb): Promise<Pool> {
  return mysql.createPool({ ...db.connectionConfig(), database: DB, connectionLimit: 3, timezone: 'Z', dateStrings: true });
}

export interface Features {
  apply_cnt_24h: number;
  apply_amt_24h: string;
  apply_cnt_3d: number;
  apply_amt_3d: string;
  outstanding_principal: string;
  last_repaid_at: number | null;
}

const EMPTY: Features = {
  apply_cnt_24h: 0, apply_amt_24h: '0.00', apply_cnt_3d: 0, apply_amt_3d: '0.00', outstanding_principal: '0.00', last_repaid_at: null,
};

const utcMs = (text: string): number => Date.parse(`${text.replace(' ', 'T')}Z`);

/**
 * Features from the final table contents. Every event time of the tests lies within the last
 * hours, so "over 24h" and "over 3d" are all live applications.
 */
export async function referenceFeatures(pool: Pool): Promise<Map<string, Features>> {
  const out = new Map<string, Features>();
  const get = (u: string): Features => {
    let f = out.get(u);
    if (!f) out.set(u, (f = { ...EMPTY }));
    return f;
  };
  const [apps] = await pool.query("SELECT user_id, COUNT(*) AS n, SUM(amount) AS amt, SUM(IF(status = 'approved', amount, 0)) AS approved FROM loan_application GROUP BY user_id");
  for (const r of apps as Array<{ user_id: string; n: number; amt: string; approved: string }>) {
    const f = get(r.user_id);
    f.apply_cnt_24h = f.apply_cnt_3d = Number(r.n);
    f.apply_amt_24h = f.apply_amt_3d = fromCents(toCents(r.amt));
    f.outstanding_principal = fromCents(toCents(r.approved));
  }
  const [reps] = await pool.query('SELECT user_id, SUM(principal) AS p, MAX(repaid_at) AS last FROM repayment GROUP BY user_id');
  for (const r of reps as Array<{ user_id: string; p: string; last: string }>) {
    const f = get(r.user_id);
    f.outstanding_principal = fromCents(toCents(f.outstanding_principal) - toCents(r.p));
    f.last_repaid_at = utcMs(r.last);
  }
  return out;
}

/** Every feat:user:* hash, normalized like referenceFeatures. */
export async function redisFeatures(redis: Redis): Promise<Map<string, Features>> {
  const out = new Map<string, Features>();
  const keys = await redis.keys('feat:user:*');
  for (const key of keys) {
    const h = await redis.hgetall(key);
    out.set(key.slice('feat:user:'.length), {
      apply_cnt_24h: Number(h.apply_cnt_24h ?? 0), apply_amt_24h: h.apply_amt_24h ?? '0.00',
      apply_cnt_3d: Number(h.apply_cnt_3d ?? 0), apply_amt_3d: h.apply_amt_3d ?? '0.00',
      outstanding_principal: h.outstanding_principal ?? '0.00', last_repaid_at: h.last_repaid_at === undefined ? null : Number(h.last_repaid_at),
    });
  }
  return out;
}

/** Users whose features differ (a user absent on one side counts as all-zero), with both values. */
export function diffFeatures(expected: Map<string, Features>, actual: Map<string, Features>): string[] {
  const diffs: string[] = [];
  for (const user of new Set([...expected.keys(), ...actual.keys()])) {
    const e = JSON.stringify(expected.get(user) ?? EMPTY);
    const a = JSON.stringify(actual.get(user) ?? EMPTY);
    if (e !== a) diffs.push(`${user}: expected ${e}, redis ${a}`);
  }
  return diffs.sort();
}

/** Polls until Redis equals the reference; returns the remaining differences on timeout. */
export async function settle(pool: Pool, redis: Redis, timeoutMs: number): Promise<string[]> {
  const expected = await referenceFeatures(pool);
  const deadline = Date.now() + timeoutMs;
  let diffs: string[] = [];
  while (Date.now() < deadline) {
    try {
      diffs = diffFeatures(expected, await redisFeatures(redis));
      if (diffs.length === 0) return diffs;
    } catch (err) {
      diffs = [`redis not readable: ${String(err)}`];
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  return diffs;
}

export function connectRedis(url: string): Redis {
  const client = new Redis(url, { lazyConnect: false, maxRetriesPerRequest: 1, retryStrategy: () => 200 });
  client.on('error', () => undefined); // Redis is stopped on purpose; reads retry in settle()
  return client;
}

/** What a CDC acceptance test runs against: its own mariadbd and redis-server (AOF), the example schema, a temp dir. */
export interface CdcServices {
  db: TestMariaDb;
  redis: TestRedis;
  pool: Pool;
  client: Redis;
  dir: string;
  /** A `tributary run` worker, killed at close() if still running. */
  start(topology: string, dataDir: string, env: Record<string, string>, extraArgs?: string[]): CdcWorker;
  close(): Promise<void>;
}

export async function startCdcServices(): Promise<CdcServices> {
  const [db, redis] = await startAll(startMariaDb({ database: DB }), startRedis({ aof: true }));
  const pool = await openLoadPool(db);
  await createCdcSchema(pool);
  const client = connectRedis(redis.url);
  const dir = await mkdtemp(join(tmpdir(), 'tributary-cdc-'));
  const workers: CdcWorker[] = [];
  return {
    db, redis, pool, client, dir,
    start(topology, dataDir, env, extraArgs = []) {
      const w = startCdcWorker(topology, dataDir, env, extraArgs);
      workers.push(w);
      return w;
    },
    async close() {
      for (const w of workers) await w.kill9();
      client.disconnect();
      await pool.end();
      await Promise.all([db.close(), redis.close()]);
      await rm(dir, { recursive: true, force: true });
    },
  };
}
