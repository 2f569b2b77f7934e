/**
 * The seed's CDC path end to end, on the Kafka path, every piece its own process on this machine:
 *   MariaDB commit -> `tributary cdc` -> topic cdc.loans.loan_application on the dev broker
 *   (`tributary broker`) -> a fleet worker (`tributary run`, Kafka mode: keyBy user_id THROUGH the
 *   repartition topic, rolling 1h count) -> Redis hash feat:user:<id>.
 *   npm run bench -- cdc-chain          (about 2 minutes; needs mariadbd and redis-server)
 *   CDC_CHAIN_BASELINE=<git ref> npm run bench -- cdc-chain
 *       runs two chains in one run: the broker, cdc reader and worker of <ref> (extracted with
 *       `git archive` into a temp dir, sharing this checkout's node_modules) and this tree's, each
 *       reading its own database (same schema). Phases alternate between them (ABBA order), so a
 *       shared machine's drifting load hits both alike; reported: after/before ratios.
 *
 *   CDC_CHAIN_MAX_ROUNDS=N  max phases per tree (default 2 beside a baseline, in ABBA order; else 1).
 *   CDC_CHAIN_HOPS=0  no taps: only commit -> Redis is measured. The taps are not free (the binlog tap
 *       parses every row of the binlog in this process, the topic taps fetch each topic once more
 *       from the broker): on a machine of 2 cores they compete with the chain they measure.
 *   CDC_CHAIN_NODE_FLAGS="--flag ..." node flags for this tree's broker, cdc reader and worker only
 *       (beside a baseline of the same tree: what a V8 flag does to the chain, in one run).
 *       Profiles: CDC_CHAIN_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" writes one .cpuprofile
 *       per process when the chain stops (CPU.<date>.<pid>...; the "chain ready" line names the pids).
 *
 * Services: a private mariadbd (ROW binlog, test/helpers/mariadb.ts) and a private redis-server
 * with keyspace notifications for hashes, both on free ports; per tree a fresh dev broker.
 *
 * Latency at RATE rows/s of load (CDC_CHAIN_RATES, default 1000,5000,10000): 4 connections commit
 * 1000 transactions/s in all, each of RATE/1000 rows (single-row autocommit INSERTs at 1k/s), each
 * connection writing its own users. Every row is measured: a user's k-th row is visible once the
 * hash's version `_v` (the sink's `version: apply_cnt_1h`, the user's count) reaches k; every
 * keyspace notification triggers a pipelined HGET of `_v` (conservative by one Redis round trip).
 * Taps split the figure per hop, each timed from the same commit:
 *   binlog      an in-process binlog reader (a MysqlBinlogSource of its own);
 *   cdc topic   a consumer in this process reading cdc.loans.loan_application (long-poll fetch);
 *   repartition the same for the worker's repartition topic cdc-chain.per_user.repartition;
 *   redis       as above.
 * The CPU time of the broker, the cdc reader and the worker (from /proc/<pid>/stat) per row, in
 * each phase, shows what lower waits cost when a process polls more often.
 *
 * Isolated commits (SPARSE_COMMITS, 100-200 ms apart, the chain otherwise idle): the wait floor of
 * every hop, what a change costs when nothing else is in flight to share a batch with.
 *
 * Throughput (MAX_S s): 4 connections commit 200-row INSERTs as fast as they can; reported: rows
 * applied to Redis per second while loading, and while catching up after the load stopped (the
 * pipeline alone, saturated).
 */
import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';
import { Redis } from 'ioredis';
import { MysqlBinlogSource } from '../src/connectors/mysql-binlog/source.js';
import { createLogger } from '../src/core/logger.js';
import { createKafkaClient } from '../src/kafka/create-client.js';
import type { AssignedConsumer, KafkaClient } from '../src/kafka/client.js';
import { createCdcSchema, sqlTime } from '../scripts/cdc-load.js';
import { repoRoot } from '../test/helpers/cli.js';
import { startMariaDb, type TestMariaDb } from '../test/helpers/mariadb.js';
import { startRedis, type TestRedis } from '../test/helpers/redis.js';
import { DB } from '../test/cdc/cdc-harness.js';
import type { BenchResult } from './types.js';
import { Meter, ms, p99BySecond, stats, type Stats } from './latency-meter.js';

const RATES = (process.env.CDC_CHAIN_RATES ?? '1000,5000,10000').split(',').map(Number);
const SECONDS = Number(process.env.CDC_CHAIN_SECONDS ?? 8);
const MAX_S = Number(process.env.CDC_CHAIN_MAX_S ?? 8);
const BASELINE = process.env.CDC_CHAIN_BASELINE;
const PARTITIONS = Number(process.env.CDC_CHAIN_PARTITIONS ?? 1);
const CHECKPOINT = process.env.CDC_CHAIN_CHECKPOINT ?? '1s';
const NODE_FLAGS = (process.env.CDC_CHAIN_NODE_FLAGS ?? '').split(' ').filter((f) => f.length > 0);
const HOPS = process.env.CDC_CHAIN_HOPS !== '0';
/** Max phases per tree: 2 beside a baseline (ABBA), else 1. */
const MAX_ROUNDS = Number(process.env.CDC_CHAIN_MAX_ROUNDS ?? (BASELINE ? 2 : 1));
const WARMUP_S = 1.5;
const TAIL_S = 1;
const CONNECTIONS = 4;
const TXN_PER_S = 1_000;
const USERS_PER_CONN = 500;
const MAX_USERS = 5_000;
const MAX_ROWS_PER_TXN = 200;
const CATCHUP_MAX_S = 30;
const SPARSE_COMMITS = 25;
const SPARSE_GAP_MS = 100;
const PROGRESS_MS = 5_000;
const APP = 'cdc-chain';
const REPARTITION = `${APP}.per_user.repartition`;

const progress = (msg: string): void => { process.stderr.write(`[bench:cdc-chain] ${msg}\n`); };

const topology = (topic: string): string => `apiVersion: tributary/v1
kind: Topology
metadata:
  name: ${APP}
  description: cdc topic -> keyBy user_id (repartition topic) -> rolling 1h count -> Redis
spec:
  checkpoint: { interval: "${CHECKPOINT}" }
  sources:
    applications:
      kafka:
        brokers: \${KAFKA_BROKERS}
        topic: ${topic}
      eventTime: { maxOutOfOrderness: 10s }
  pipeline:
    - id: rows
      from: applications
      map:
        set: { user_id: after.user_id, id: after.id }
        drop: [before, after, source]
    - id: per_user
      from: rows
      keyBy: user_id
    - id: user_apply_1h
      from: per_user
      window: { rolling: 1h, resolution: 1m }
      aggregate:
        apply_cnt_1h: count()
  sinks:
    features:
      from: user_apply_1h
      redis:
        url: \${REDIS_URL}
        layout: hash
        key: "feat:user:{key}"
        version: apply_cnt_1h
        fields: [apply_cnt_1h]
    dead_letters: { from: dlq, stdout: {} }
`;


const INSERT = 'INSERT INTO loan_application (user_id, amount, status, channel, applied_at) VALUES ?';
const row = (user: string, n: number): unknown[] => [user, (100 + (n % 9_000)).toFixed(2), 'applied', 'bench', sqlTime(Date.now())];

/** CPU seconds (user + system) of a process so far, from /proc. */
async function cpuSeconds(pid: number | undefined): Promise<number> {
  if (pid === undefined) return NaN;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (100/s)
  } catch {
    return NaN;
  }
}

/** A `tributary <args>` child run from the tree at `root` (this checkout or the baseline's). */
class Cli {
  readonly child: ChildProcess;
  private text = '';
  readonly exited: Promise<void>;

  constructor(readonly name: string, root: string, args: string[], env: Record<string, string>) {
    const tsx = join(repoRoot, 'node_modules', 'tsx', 'dist', 'loader.mjs');
    const flags = root === repoRoot ? NODE_FLAGS : [];
    this.child = spawn(process.execPath, [...flags, '--import', `file://${tsx}`, join(root, 'src', 'cli', 'entry.ts'), ...args], {
      cwd: root, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env },
    });
    const capture = (d: Buffer): void => {
      this.text += d.toString();
      if (this.text.length > 200_000) this.text = this.text.slice(-100_000);
    };
    this.child.stdout?.on('data', capture);
    this.child.stderr?.on('data', capture);
    this.exited = new Promise((resolve) => this.child.once('exit', () => resolve()));
  }

  log(): string {
    return this.text.slice(-3_000);
  }

  async waitFor(re: RegExp, timeoutMs: number): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.text);
      if (m) return m;
      if (this.child.exitCode !== null) throw new Error(`${this.name} exited (${this.child.exitCode}) before ${re}:\n${this.log()}`);
      if (Date.now() > deadline) throw new Error(`${this.name}: no ${re} within ${timeoutMs} ms:\n${this.log()}`);
      await sleep(50);
    }
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(killer);
  }
}

interface Shared { db: TestMariaDb; redis: TestRedis; pool: Pool; client: Redis }

/** One tree's processes: broker, cdc reader, worker. */
interface Chain { tag: string; broker: Cli; cdc: Cli; worker: Cli; kafka: KafkaClient; dir: string; pool: Pool; topic: string }

/** Each tree reads its own database (same schema), so an idle chain does not process the other's load. */
async function startChain(s: Shared, tag: string, root: string, db: string): Promise<Chain> {
  const dir = await mkdtemp(join(tmpdir(), `tributary-bench-chain-${tag}-`));
  progress(`${tag}: starting the dev broker, tributary cdc and the worker (${root === repoRoot ? 'this tree' : root})`);
  const broker = new Cli(`${tag} broker`, root, ['broker', '--port', '0', '--data-dir', join(dir, 'broker')], {});
  const m = await broker.waitFor(/broker listening on (\S+):(\d+)/, 60_000);
  const address = `${m[1]}:${m[2]}`;
  const c = s.db.connectionConfig();
  await s.pool.query(`CREATE DATABASE IF NOT EXISTS ${db}`);
  const pool = mysql.createPool({ ...c, database: db, connectionLimit: CONNECTIONS + 2, timezone: 'Z' });
  await createCdcSchema(pool);
  const topic = `cdc.${db}.loan_application`;
  await writeFile(join(dir, 'cdc.yaml'), `mysql:
  host: ${c.host}
  port: ${c.port}
  user: ${c.user}
  password: \${MYSQL_PASSWORD}
  include: ["${db}.loan_application"]
  timezone: UTC
  snapshot: never
  serverId: ${61_000 + Math.floor(Math.random() * 1_000)}
kafka:
  brokers: ${address}
  topicPrefix: cdc
  partitions: ${PARTITIONS}
redis:
  url: ${s.redis.url}
lease:
  name: cdc-chain-${tag}-${Date.now()}
`);
  await writeFile(join(dir, 'topology.yaml'), topology(topic));
  const cdc = new Cli(`${tag} cdc`, root, ['cdc', join(dir, 'cdc.yaml'), '--log-level', 'info'], { MYSQL_PASSWORD: c.password });
  await cdc.waitFor(/leading: reading the binlog/, 60_000);
  const worker = new Cli(`${tag} worker`, root, ['run', join(dir, 'topology.yaml'), '--data-dir', join(dir, 'worker'), '--quiet'],
    { KAFKA_BROKERS: address, REDIS_URL: s.redis.url });
  const kafka = await createKafkaClient({ brokers: [address], clientId: 'bench-cdc-chain-tap', retryTimeoutMs: 0 });
  await kafka.connect();
  const chain = { tag, broker, cdc, worker, kafka, dir, pool, topic };
  // Ready = a row committed now is in Redis.
  const probe = `probe-${tag}`;
  await pool.query(INSERT, [[row(probe, 1)]]);
  const deadline = Date.now() + 120_000;
  while ((await s.client.hget(`feat:user:${probe}`, '_v')) !== '1') {
    if (worker.child.exitCode !== null || Date.now() > deadline) {
      await stopChain(chain);
      throw new Error(`${tag}: the worker did not get ready (exit ${worker.child.exitCode}):\n${worker.log()}\ncdc:\n${cdc.log()}`);
    }
    await sleep(50);
  }
  progress(`${tag}: chain ready (a probe row reached Redis); pids broker ${broker.child.pid}, cdc ${cdc.child.pid}, worker ${worker.child.pid}`);
  return chain;
}

async function stopChain(c: Chain): Promise<void> {
  await c.kafka.disconnect().catch(() => undefined);
  await c.worker.stop();
  await c.cdc.stop();
  await c.broker.stop();
  await c.pool.end().catch(() => undefined);
  await rm(c.dir, { recursive: true, force: true });
}

/** Reads loan_application rows from the binlog in this process: commit -> binlog read. */
class BinlogTap {
  private readonly source: MysqlBinlogSource;
  private running: Promise<void> | undefined;
  private stopped = false;
  meter: Meter | undefined;

  constructor(db: TestMariaDb, databases: string[]) {
    const c = db.connectionConfig();
    this.source = new MysqlBinlogSource('bench-tap', {
      host: c.host, port: c.port, user: c.user, password: c.password, serverId: 59_998, snapshot: 'never', gtid: 'auto',
      include: databases.map((d) => `${d}.loan_application`), bufferSize: 10_000, snapshotChunkSize: 1_000,
    }, { idleWaitMs: 100 });
  }

  async start(): Promise<void> {
    await this.source.open({ logger: createLogger({ level: 'warn' }), signal: new AbortController().signal });
    await this.source.poll(1);
    this.running = (async () => {
      while (!this.stopped) {
        const batch = await this.source.poll(1_000);
        const now = Date.now();
        for (const r of batch.records) this.meter?.seen(String((r.key as { id?: unknown } | null)?.id ?? r.key), now);
      }
    })().catch((err: unknown) => progress(`binlog tap failed (its figures stop here): ${String(err)}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.running === undefined) return;
    await this.running;
    await this.source.close();
  }
}

/** Reads a topic in this process from its end: commit -> record readable from the topic. */
class TopicTap {
  private consumer: AssignedConsumer | undefined;
  private running: Promise<void> | undefined;
  private stopped = false;
  meter: Meter | undefined;

  constructor(private readonly kafka: KafkaClient, private readonly topic: string, private readonly idOf: (value: Buffer) => string | undefined) {}

  async start(): Promise<void> {
    if (!HOPS) return;
    const ends = await this.kafka.admin.listOffsets(this.topic);
    this.consumer = await this.kafka.assignedConsumer();
    await this.consumer.assign(ends.map((o) => ({ topic: this.topic, partition: o.partition, offset: o.latest })));
    const consumer = this.consumer;
    this.running = (async () => {
      while (!this.stopped) {
        const messages = await consumer.fetch({ maxWaitMs: 100 });
        const now = Date.now();
        for (const m of messages) {
          if (m.value === null) continue;
          const id = this.idOf(m.value);
          if (id !== undefined) this.meter?.seen(id, now);
        }
      }
    })().catch((err: unknown) => progress(`${this.topic} tap failed (its figures stop here): ${String(err)}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.consumer?.close();
  }
}

function cdcId(value: Buffer): string | undefined {
  const env = JSON.parse(value.toString('utf8')) as { after?: { id?: unknown } };
  return env.after?.id === undefined ? undefined : String(env.after.id);
}
function repartitionId(value: Buffer): string | undefined {
  const rec = JSON.parse(value.toString('utf8')) as { v?: { id?: unknown } };
  return rec.v?.id === undefined ? undefined : String(rec.v.id);
}

interface Phase {
  tag: string;
  rate: number;
  achieved: number;
  rows: number;
  binlog: Stats;
  cdcTopic: Stats;
  repartition: Stats;
  redis: Stats;
  missing: number;
  /** CPU ms per row: broker, cdc reader, worker. */
  cpu: { broker: number; cdc: number; worker: number };
  load: number;
  /** commit -> redis p99 of the rows committed in each second of the phase (latency-meter.ts). */
  p99BySecond: number[];
}

/** `SECONDS` at `rate` rows/s (1000 txn/s of rate/1000 rows each), every row measured at every tap. */
async function latencyPhase(s: Shared, chain: Chain, tap: BinlogTap, rate: number, prefix: string, seconds: number): Promise<Phase> {
  const label = `${chain.tag} @${rate}/s${seconds < SECONDS ? ' (warm-up)' : ''}`;
  const meters = { binlog: new Meter(), cdcTopic: new Meter(), repartition: new Meter(), redis: new Meter() };
  const cdcTap = new TopicTap(chain.kafka, chain.topic, cdcId);
  const rpTap = new TopicTap(chain.kafka, REPARTITION, repartitionId);
  await Promise.all([cdcTap.start(), rpTap.start()]);
  tap.meter = meters.binlog;
  cdcTap.meter = meters.cdcTopic;
  rpTap.meter = meters.repartition;

  const counts = new Map<string, number>();
  const seenVersion = new Map<string, number>();
  const sub = new Redis(s.redis.url, { lazyConnect: true });
  const reader = new Redis(s.redis.url);
  const channelPrefix = '__keyspace@0__:feat:user:';
  await sub.connect();
  await sub.psubscribe(`${channelPrefix}${prefix}*`);
  const dirty = new Set<string>();
  let reading = false;
  const readDirty = async (): Promise<void> => {
    if (reading || dirty.size === 0) return;
    reading = true;
    const users = [...dirty];
    dirty.clear();
    const pipe = reader.pipeline();
    for (const u of users) pipe.hget(`feat:user:${u}`, '_v');
    const results = (await pipe.exec()) ?? [];
    const now = Date.now();
    users.forEach((u, i) => {
      const v = Number(results[i]?.[1] ?? 0);
      const before = seenVersion.get(u) ?? 0;
      for (let k = before + 1; k <= v; k++) meters.redis.seen(`${u}#${k}`, now);
      if (v > before) seenVersion.set(u, v);
    });
    reading = false;
    if (dirty.size > 0) setImmediate(() => { void readDirty(); });
  };
  sub.on('pmessage', (_pattern: string, channel: string) => {
    dirty.add(channel.slice(channelPrefix.length));
    if (!reading) setImmediate(() => { void readDirty(); });
  });

  const pids = [chain.broker.child.pid, chain.cdc.child.pid, chain.worker.child.pid];
  const cpu0 = await Promise.all(pids.map(cpuSeconds));
  const perTxn = Math.max(1, Math.round(rate / TXN_PER_S));
  const txnRate = rate / perTxn;
  const conns: PoolConnection[] = await Promise.all(Array.from({ length: CONNECTIONS }, () => chain.pool.getConnection()));
  const started = Date.now();
  const end = started + seconds * 1_000;
  let next = 0;
  let committed = 0;
  let lastCommitAt = started;
  let lastReport = started;
  let measuredEnd = started;
  const writer = async (w: number): Promise<void> => {
    const conn = conns[w]!;
    for (;;) {
      const i = next++;
      const due = started + (i * 1_000) / txnRate;
      if (due >= end + TAIL_S * 1_000) return;
      const wait = due - Date.now();
      if (wait > 1) await sleep(wait);
      const tail = due >= end;
      const users = Array.from({ length: perTxn }, () => `${tail ? 'tail-' : ''}${prefix}${w + CONNECTIONS * Math.floor(Math.random() * USERS_PER_CONN)}`);
      const [res] = await conn.query(INSERT, [users.map((u) => row(u, i))]);
      const at = Date.now();
      if (tail) continue; // the tail keeps the load steady while the last measured rows go through
      const first = (res as ResultSetHeader).insertId;
      users.forEach((user, j) => {
        const k = (counts.get(user) ?? 0) + 1;
        counts.set(user, k);
        meters.redis.commit(`${user}#${k}`, at);
        if (!HOPS) return;
        // Multi-row INSERTs get consecutive ids (innodb_autoinc_lock_mode, one statement).
        const id = String(first + j);
        meters.binlog.commit(id, at);
        meters.cdcTopic.commit(id, at);
        meters.repartition.commit(id, at);
      });
      committed += perTxn;
      lastCommitAt = Math.max(lastCommitAt, at);
      measuredEnd = lastCommitAt;
      if (at - lastReport >= PROGRESS_MS) {
        lastReport = at;
        const so = stats(meters.redis.samples);
        progress(`${label}: ${committed} rows committed (${Math.round((committed * 1_000) / (at - started))}/s), ${so.n} visible: p50 ${so.p50} ms, p99 ${so.p99} ms`);
      }
    }
  };
  try {
    await Promise.all(conns.map((_, w) => writer(w)));
  } finally {
    for (const c of conns) c.release();
  }
  const deadline = Date.now() + 15_000;
  while (Object.values(meters).some((m) => m.pending > 0) && Date.now() < deadline) await sleep(50);
  const cpu1 = await Promise.all(pids.map(cpuSeconds));
  // CPU over the whole load (measured rows and the tail), per row committed in that time.
  const allRows = committed + Math.round(TAIL_S * rate);
  const perRow = (i: number): number => ((cpu1[i]! - cpu0[i]!) * 1_000_000) / allRows;
  tap.meter = undefined;
  await Promise.all([cdcTap.stop(), rpTap.stop()]);
  await sub.punsubscribe();
  sub.disconnect();
  reader.disconnect();
  const phase: Phase = {
    tag: chain.tag, rate, rows: committed, achieved: committed / Math.max(0.001, (measuredEnd - started) / 1_000),
    binlog: stats(meters.binlog.samples), cdcTopic: stats(meters.cdcTopic.samples), repartition: stats(meters.repartition.samples),
    redis: stats(meters.redis.samples), missing: meters.redis.pending,
    cpu: { broker: perRow(0), cdc: perRow(1), worker: perRow(2) }, load: loadavg()[0]!,
    p99BySecond: p99BySecond(meters.redis, started, rate / 2),
  };
  progress(`${label}: ${committed} rows (${Math.round(phase.achieved)}/s, ${perTxn} per txn); commit -> binlog ${ms(phase.binlog)}; ` +
    `-> cdc topic ${ms(phase.cdcTopic)}; -> repartition topic ${ms(phase.repartition)}; -> redis ${ms(phase.redis)}; ` +
    `${phase.missing} not in redis after 15 s; CPU µs/row broker ${phase.cpu.broker.toFixed(0)}, cdc ${phase.cpu.cdc.toFixed(0)}, ` +
    `worker ${phase.cpu.worker.toFixed(0)}; load average ${phase.load.toFixed(1)} on ${availableParallelism()} cores; ` +
    `p99 of each second's rows ${phase.p99BySecond.join(' ')} ms`);
  return phase;
}

interface Sparse { tag: string; binlog: Stats; cdcTopic: Stats; repartition: Stats; redis: Stats }

/**
 * Isolated commits, the pipeline otherwise idle: the wait floor of every hop (what a change
 * costs when nothing else is in flight to share a batch with). Redis is polled every 1 ms.
 */
async function sparsePhase(s: Shared, chain: Chain, tap: BinlogTap): Promise<Sparse> {
  await sleep(1_500); // the previous load drains: idle from here on
  const meters = { binlog: new Meter(), cdcTopic: new Meter(), repartition: new Meter() };
  const cdcTap = new TopicTap(chain.kafka, chain.topic, cdcId);
  const rpTap = new TopicTap(chain.kafka, REPARTITION, repartitionId);
  await Promise.all([cdcTap.start(), rpTap.start()]);
  tap.meter = meters.binlog;
  cdcTap.meter = meters.cdcTopic;
  rpTap.meter = meters.repartition;
  const redis: number[] = [];
  for (let i = 0; i < SPARSE_COMMITS; i++) {
    const user = `one-${chain.tag}-${i}`;
    const [res] = await chain.pool.query(INSERT, [[row(user, i)]]);
    const committed = Date.now();
    const id = String((res as ResultSetHeader).insertId);
    if (HOPS) for (const m of Object.values(meters)) m.commit(id, committed);
    while ((await s.client.hget(`feat:user:${user}`, '_v')) !== '1') {
      if (Date.now() - committed > 10_000) throw new Error(`${chain.tag}: an isolated commit for ${user} was not in redis after 10 s`);
      await sleep(1);
    }
    redis.push(Date.now() - committed);
    await sleep(SPARSE_GAP_MS + Math.random() * SPARSE_GAP_MS);
  }
  await sleep(200);
  tap.meter = undefined;
  await Promise.all([cdcTap.stop(), rpTap.stop()]);
  const f = { tag: chain.tag, binlog: stats(meters.binlog.samples), cdcTopic: stats(meters.cdcTopic.samples), repartition: stats(meters.repartition.samples), redis: stats(redis) };
  progress(`${chain.tag} isolated commits: -> binlog ${ms(f.binlog)}; -> cdc topic ${ms(f.cdcTopic)}; -> repartition topic ${ms(f.repartition)}; ` +
    `-> redis ${ms(f.redis)}; load average ${loadavg()[0]!.toFixed(1)}`);
  return f;
}

interface MaxFigures { tag: string; committed: number; loadSeconds: number; rateDuringLoad: number; rateCatchingUp: number; catchUpSeconds: number | undefined }

async function maxPhase(s: Shared, chain: Chain, round: number): Promise<MaxFigures> {
  const prefix = `max-${chain.tag}-${round}-`;
  const keys = Array.from({ length: MAX_USERS }, (_, i) => `feat:user:${prefix}${i}`);
  const applied = async (): Promise<number> => {
    const pipe = s.client.pipeline();
    for (const k of keys) pipe.hget(k, '_v');
    return ((await pipe.exec()) ?? []).reduce((sum, [, v]) => sum + Number(v ?? 0), 0);
  };
  const conns: PoolConnection[] = await Promise.all(Array.from({ length: CONNECTIONS }, () => chain.pool.getConnection()));
  const started = Date.now();
  const end = started + MAX_S * 1_000;
  let committed = 0;
  let n = 0;
  const writer = async (conn: PoolConnection): Promise<void> => {
    while (Date.now() < end) {
      const rows = Array.from({ length: MAX_ROWS_PER_TXN }, () => row(`${prefix}${Math.floor(Math.random() * MAX_USERS)}`, n++));
      await conn.query(INSERT, [rows]);
      committed += rows.length;
    }
  };
  const load = Promise.all(conns.map(writer)).finally(() => { for (const c of conns) c.release(); });
  let lastReport = started;
  let loading = true;
  void load.then(() => { loading = false; }, () => { loading = false; });
  while (loading) {
    await sleep(1_000);
    if (Date.now() - lastReport >= PROGRESS_MS - 500) {
      lastReport = Date.now();
      const a = await applied();
      progress(`${chain.tag} max: ${committed} rows committed, ${a} applied in redis, lag ${committed - a}`);
    }
  }
  await load;
  const loadEnd = Date.now();
  const loadSeconds = (loadEnd - started) / 1_000;
  const atEnd = await applied();
  const samples: Array<{ at: number; applied: number }> = [{ at: Date.now(), applied: atEnd }];
  let catchUpSeconds: number | undefined;
  while (Date.now() - loadEnd < CATCHUP_MAX_S * 1_000) {
    const a = await applied();
    samples.push({ at: Date.now(), applied: a });
    if (a >= committed) {
      catchUpSeconds = (Date.now() - loadEnd) / 1_000;
      break;
    }
    await sleep(250);
  }
  const busy = samples.filter((x) => x.applied < committed);
  const rateCatchingUp = busy.length > 1
    ? (busy[busy.length - 1]!.applied - busy[0]!.applied) / ((busy[busy.length - 1]!.at - busy[0]!.at) / 1_000)
    : atEnd / loadSeconds;
  const f = { tag: chain.tag, committed, loadSeconds, rateDuringLoad: atEnd / loadSeconds, rateCatchingUp, catchUpSeconds };
  progress(`${chain.tag} max: ${committed} rows in ${loadSeconds.toFixed(1)} s (${Math.round(committed / loadSeconds)}/s committed); ` +
    `applied ${Math.round(f.rateDuringLoad)}/s while loading, ${Math.round(rateCatchingUp)}/s catching up; ` +
    (catchUpSeconds !== undefined ? `caught up ${catchUpSeconds.toFixed(1)} s after the load` : `not caught up within ${CATCHUP_MAX_S} s`));
  return f;
}

/** The baseline tree: `git archive <ref>` into a temp dir, with this checkout's node_modules. */
async function extractBaseline(ref: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'tributary-bench-baseline-'));
  const tar = execFileSync('git', ['-C', repoRoot, 'archive', '--format=tar', ref], { maxBuffer: 512 * 1024 * 1024 });
  await mkdir(dir, { recursive: true });
  execFileSync('tar', ['-x', '-C', dir], { input: tar });
  await symlink(join(repoRoot, 'node_modules'), join(dir, 'node_modules'));
  return dir;
}

export async function bench(): Promise<BenchResult[]> {
  const trees: Array<{ tag: string; root: string }> = [];
  let baselineDir: string | undefined;
  if (BASELINE) {
    baselineDir = await extractBaseline(BASELINE);
    trees.push({ tag: 'before', root: baselineDir });
  }
  trees.push({ tag: BASELINE ? 'after' : 'this', root: repoRoot });
  progress('starting mariadbd (ROW binlog) and redis-server (keyspace notifications)');
  const [db, redis] = await Promise.all([startMariaDb({ database: DB }), startRedis({ extraArgs: ['--notify-keyspace-events', 'Kh'] })]);
  const pool = mysql.createPool({ ...db.connectionConfig(), database: DB, connectionLimit: 2, timezone: 'Z' });
  const client = new Redis(redis.url);
  const s: Shared = { db, redis, pool, client };
  const tap = new BinlogTap(db, trees.map((t) => `chain_${t.tag}`));
  const phases: Phase[] = [];
  const sparse: Sparse[] = [];
  const maxes: MaxFigures[] = [];
  const chains: Chain[] = [];
  try {
    // Every tree's chain runs the whole time (an idle one costs only its idle wakeups); phases
    // alternate between them (ABBA), so a machine whose load drifts affects both alike.
    for (const t of trees) chains.push(await startChain(s, t.tag, t.root, `chain_${t.tag}`));
    if (HOPS) await tap.start();
    const order = (i: number): Chain[] => (i % 2 === 0 ? chains : [...chains].reverse());
    for (const c of chains) await latencyPhase(s, c, tap, RATES[0]!, `warm-${c.tag}-`, WARMUP_S);
    for (const c of order(0)) sparse.push(await sparsePhase(s, c, tap));
    for (const [i, rate] of RATES.entries()) {
      for (const c of order(i + 1)) phases.push(await latencyPhase(s, c, tap, rate, `lat-${c.tag}-${i}-`, SECONDS));
    }
    // Beside a baseline, the max phase runs ABBA too: one phase each in a fixed order let the
    // machine's drifting load decide the ratio (0.5-0.7x against whichever tree ran second).
    for (let round = 0; round < MAX_ROUNDS; round++) {
      for (const c of order(RATES.length + 1 + round)) {
        maxes.push(await maxPhase(s, c, round));
        if (c.worker.child.exitCode !== null) throw new Error(`${c.tag}: the worker exited (${c.worker.child.exitCode}):\n${c.worker.log()}`);
      }
    }
    return report(phases, sparse, maxes);
  } finally {
    for (const c of chains) await stopChain(c).catch(() => undefined);
    await tap.stop().catch(() => undefined);
    client.disconnect();
    await pool.end();
    await Promise.all([db.close(), redis.close()]);
    if (baselineDir) await rm(baselineDir, { recursive: true, force: true });
  }
}

function report(phases: Phase[], sparse: Sparse[], maxes: MaxFigures[]): BenchResult[] {
  const out: BenchResult[] = [];
  for (const f of sparse) {
    out.push({ name: `isolated commit->redis p50 (${f.tag})`, value: f.redis.p50, unit: 'ms',
      note: `max ${f.redis.max} ms, n=${f.redis.n}; hops p50 binlog ${f.binlog.p50} / cdc topic ${f.cdcTopic.p50} / repartition topic ${f.repartition.p50} / redis ${f.redis.p50} ms` });
  }
  const sb = sparse.find((f) => f.tag === 'before');
  const sa = sparse.find((f) => f.tag === 'after');
  if (sb && sa) out.push({ name: 'after/before isolated commit p50', value: sa.redis.p50 / sb.redis.p50, unit: 'x', note: `${sb.redis.p50} -> ${sa.redis.p50} ms` });
  for (const p of phases) {
    const at = `${p.tag} @${p.rate / 1_000}k/s`;
    out.push(
      { name: `commit->redis p50 ${at}`, value: p.redis.p50, unit: 'ms', note: `${Math.round(p.achieved)} rows/s achieved, n=${p.redis.n}${p.missing > 0 ? `, ${p.missing} NOT visible` : ''}` },
      { name: `commit->redis p99 ${at}`, value: p.redis.p99, unit: 'ms', note: `max ${p.redis.max} ms; target p50 < 10, p99 < 50 at 5k/s; each second's p99 ${p.p99BySecond.join(' ')}` },
      { name: `hops p50 ${at}`, value: p.redis.p50, unit: 'ms',
        note: `binlog ${p.binlog.p50} / cdc topic ${p.cdcTopic.p50} / repartition topic ${p.repartition.p50} / redis ${p.redis.p50} ms (p99 ${p.binlog.p99} / ${p.cdcTopic.p99} / ${p.repartition.p99} / ${p.redis.p99})` },
      { name: `CPU per row ${at}`, value: p.cpu.broker + p.cpu.cdc + p.cpu.worker, unit: 'µs',
        note: `broker ${p.cpu.broker.toFixed(0)}, cdc ${p.cpu.cdc.toFixed(0)}, worker ${p.cpu.worker.toFixed(0)}; load ${p.load.toFixed(1)}` },
    );
  }
  for (const m of maxes) {
    out.push(
      { name: `max: applied to redis while loading (${m.tag})`, value: m.rateDuringLoad, unit: 'rows/s', note: `${m.committed} rows committed in ${m.loadSeconds.toFixed(1)} s` },
      { name: `max: applied to redis catching up (${m.tag})`, value: m.rateCatchingUp, unit: 'rows/s',
        note: m.catchUpSeconds !== undefined ? `caught up ${m.catchUpSeconds.toFixed(1)} s after the load` : `not caught up within ${CATCHUP_MAX_S} s` },
    );
  }
  // A rate listed more than once (CDC_CHAIN_RATES=5000,5000,5000) runs that many ABBA rounds:
  // the ratios compare medians over the rounds (one round swings 0.3-3x on a shared machine).
  const median = (xs: number[]): number => {
    const sorted = [...xs].sort((x, y) => x - y);
    const mid = sorted.length >> 1;
    return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  };
  const cpu = (p: Phase): number => p.cpu.broker + p.cpu.cdc + p.cpu.worker;
  for (const rate of [...new Set(RATES)]) {
    const b = phases.filter((p) => p.tag === 'before' && p.rate === rate);
    const a = phases.filter((p) => p.tag === 'after' && p.rate === rate);
    if (b.length === 0 || a.length === 0) continue;
    const of = (ps: Phase[], f: (p: Phase) => number): number => median(ps.map(f));
    const list = (ps: Phase[], f: (p: Phase) => number): string => ps.map((p) => Math.round(f(p))).join('/');
    const rounds = b.length > 1 ? `medians of ${b.length} rounds; ` : '';
    out.push(
      { name: `after/before p50 @${rate / 1_000}k/s`, value: of(a, (p) => p.redis.p50) / of(b, (p) => p.redis.p50), unit: 'x',
        note: `${rounds}${list(b, (p) => p.redis.p50)} -> ${list(a, (p) => p.redis.p50)} ms` },
      { name: `after/before p99 @${rate / 1_000}k/s`, value: of(a, (p) => p.redis.p99) / of(b, (p) => p.redis.p99), unit: 'x',
        note: `${rounds}${list(b, (p) => p.redis.p99)} -> ${list(a, (p) => p.redis.p99)} ms` },
      { name: `after/before CPU per row @${rate / 1_000}k/s`, value: of(a, cpu) / of(b, cpu), unit: 'x', note: `${list(b, cpu)} -> ${list(a, cpu)} µs` },
    );
  }
  const mean = (tag: string, f: (m: MaxFigures) => number): number => {
    const xs = maxes.filter((m) => m.tag === tag).map(f);
    return xs.reduce((a, b) => a + b, 0) / xs.length;
  };
  if (maxes.some((m) => m.tag === 'before') && maxes.some((m) => m.tag === 'after')) {
    const rounds = (f: (m: MaxFigures) => number): string => maxes.map((m) => `${m.tag} ${Math.round(f(m))}`).join(', ');
    out.push(
      { name: 'after/before max applied while loading', value: mean('after', (m) => m.rateDuringLoad) / mean('before', (m) => m.rateDuringLoad), unit: 'x',
        note: `means of ${MAX_ROUNDS} rounds (in run order: ${rounds((m) => m.rateDuringLoad)})` },
      { name: 'after/before max applied catching up', value: mean('after', (m) => m.rateCatchingUp) / mean('before', (m) => m.rateCatchingUp), unit: 'x',
        note: `in run order: ${rounds((m) => m.rateCatchingUp)}` },
    );
  }
  return out;
}
