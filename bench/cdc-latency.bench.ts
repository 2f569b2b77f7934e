/**
 * The CDC pipeline end to end: a MariaDB commit -> binlog -> topologies/cdc-loan-features.yaml
 * (a `tributary run` child process) -> the feature hash feat:user:<id> in Redis.
 *   npm run bench -- cdc-latency        (about 2 minutes; needs mariadbd and redis-server)
 *
 * Services: a private mariadbd (ROW binlog, test/helpers/mariadb.ts) and a private redis-server
 * without AOF, with keyspace notifications for hashes (`notify-keyspace-events Kh`), both on free
 * ports. The example schema is created and seeded with 2,000 random changes, so the worker starts
 * with a real snapshot.
 *
 * Latency (steady RATE rows/s for LATENCY_S s): the writer commits single-row transactions
 * (autocommit INSERT into loan_application) for users that only this phase writes, each user on
 * one connection, and takes the commit time when the INSERT returns. A user's k-th insert is
 * visible once the hash's version `_v` (the user's change count, the sink's `version: ver`)
 * reaches k: every keyspace notification of a user's hash triggers a pipelined HGET of `_v`, and
 * the reply time counts as "visible" (conservative by one Redis round trip). An in-process binlog
 * reader (a second MysqlBinlogSource) times commit -> row read from the binlog, to split the
 * figure into "source" and "rest of the pipeline". Redis writes arrive in bursts (one per sink
 * pipeline flush): their sizes and spacing show the flush policy at work.
 * The sink writes a pipeline when it holds `batchSize` (500) records, when its oldest record has
 * waited `linger` (the redis sink's default, 5 ms) or at a checkpoint. The phase runs with the
 * shipped checkpoint interval (1 s, CDC_CHECKPOINT_INTERVAL's default) and, as evidence that the
 * checkpoint no longer paces the writes, with 100 ms and 25 ms (a new worker each, same data dir).
 * The bench process's event-loop delay and the machine's load average are printed with each
 * run: on a shared 2-core machine they are part of what the tail measures.
 *
 * Isolated commits (SPARSE_COMMITS, the pipeline otherwise idle) show the other side of the flush
 * policy: "approved, and a moment later the drawdown" when nothing else fills a batch (before the
 * linger they waited for the next checkpoint: ~820 ms with a 1 s interval).
 *
 * Maximum (MAX_S s): 4 connections commit 200-row INSERTs as fast as they can, for 5,000 users;
 * every second a pipelined HGET of every user's `_v` gives the rows applied. Reported: the commit
 * rate, the end-to-end rate while loading and while catching up after the load stops (the
 * pipeline alone), and the lag when the load stops. Everything shares the machine's cores: the
 * writer, mariadbd, redis-server and the worker.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { availableParallelism, loadavg, tmpdir } from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';
import { Redis } from 'ioredis';
import { MysqlBinlogSource } from '../src/connectors/mysql-binlog/source.js';
import { createLogger } from '../src/core/logger.js';
import { createCdcSchema, runCdcLoad, sqlTime } from '../scripts/cdc-load.js';
import { repoRoot } from '../test/helpers/cli.js';
import { startMariaDb, type TestMariaDb } from '../test/helpers/mariadb.js';
import { startRedis, type TestRedis } from '../test/helpers/redis.js';
import { DB, startCdcWorker, workerEnv, type CdcWorker } from '../test/cdc/cdc-harness.js';
import type { BenchResult } from './types.js';
import { Meter, ms, stats, type Stats } from './latency-meter.js';

const TOPOLOGY = join(repoRoot, 'topologies', 'cdc-loan-features.yaml');
const RATE = Number(process.env.CDC_BENCH_RATE ?? 1_000);
const LATENCY_S = Number(process.env.CDC_BENCH_LATENCY_S ?? 20);
const EVIDENCE_S = 5;
/** Warm-up of a fresh worker (JIT, caches): 1 s before an evidence run, twice that before the main one. */
const WARMUP_S = 1;
/** Unmeasured load after a latency window, so its last rows see the same flush policy as the rest. */
const TAIL_S = 1.2;
/** Single commits with the pipeline otherwise idle, spaced SPARSE_GAP_MS apart (plus up to as much again). */
const SPARSE_COMMITS = 8;
const SPARSE_GAP_MS = 200;
const MAX_S = Number(process.env.CDC_BENCH_MAX_S ?? 12);
/** After the maximum load stops, how long to watch Redis catch up at most. */
const CATCHUP_MAX_S = 20;
const CHECKPOINT = '1s';
const EVIDENCE_CHECKPOINTS = ['100ms', '25ms'];
const LATENCY_USERS = 2_000;
const MAX_USERS = 5_000;
const MAX_ROWS_PER_TXN = 200;
const CONNECTIONS = 4;
/**
 * Redis replies closer than this belong to one burst (one sink pipeline). Small: with the 5 ms
 * linger, pipelines are a few ms apart at 1k rows/s.
 */
const BURST_GAP_MS = 3;
const PROGRESS_MS = 5_000;

const progress = (msg: string): void => { process.stderr.write(`[bench:cdc-latency] ${msg}\n`); };


interface Services { db: TestMariaDb; redis: TestRedis; pool: Pool; client: Redis; dataDir: string }

/** Rows of one loan application for `user`, now; amounts vary so the features really change. */
function application(user: string, n: number): unknown[] {
  return [user, (100 + (n % 9_000)).toFixed(2), 'applied', 'bench', sqlTime(Date.now())];
}
const INSERT = 'INSERT INTO loan_application (user_id, amount, status, channel, applied_at) VALUES ';

async function startWorker(s: Services, interval: string): Promise<CdcWorker> {
  const worker = startCdcWorker(TOPOLOGY, s.dataDir, workerEnv(s.db, s.redis.url, { CDC_CHECKPOINT_INTERVAL: interval }));
  // Ready = a row committed now is in Redis (startup, snapshot or resume, then streaming).
  const probe = `probe-${Date.now()}`;
  await s.pool.query(`${INSERT}(?, ?, ?, ?, ?)`, application(probe, 1));
  const deadline = Date.now() + 90_000;
  while ((await s.client.hget(`feat:user:${probe}`, '_v')) !== '1') {
    if (worker.child.exitCode !== null || Date.now() > deadline) {
      await worker.kill9();
      throw new Error(`the cdc worker did not get ready (exit ${worker.child.exitCode}):\n${worker.log()}`);
    }
    await sleep(50);
  }
  return worker;
}

async function stopWorker(worker: CdcWorker): Promise<void> {
  const timer = setTimeout(() => { void worker.kill9(); }, 10_000);
  await worker.stop();
  clearTimeout(timer);
}

/** Reads loan_application rows from the binlog in this process: commit -> source latency. */
class BinlogTap {
  private readonly source: MysqlBinlogSource;
  private running: Promise<void> | undefined;
  private stopped = false;
  meter: Meter | undefined;

  constructor(db: TestMariaDb) {
    const c = db.connectionConfig();
    this.source = new MysqlBinlogSource('bench-tap', {
      host: c.host, port: c.port, user: c.user, password: c.password, serverId: 59_999, snapshot: 'never', gtid: 'auto',
      include: [`${DB}.loan_application`], bufferSize: 10_000, snapshotChunkSize: 1_000,
    }, { idleWaitMs: 100 });
  }

  async start(): Promise<void> {
    await this.source.open({ logger: createLogger({ level: 'warn' }), signal: new AbortController().signal });
    await this.source.poll(1); // starts streaming at the binlog's current end
    this.running = (async () => {
      while (!this.stopped) {
        const batch = await this.source.poll(1_000);
        const now = Date.now();
        for (const r of batch.records) this.meter?.seen(String(r.key), now);
      }
    })().catch((err: unknown) => progress(`binlog tap failed (its figures stop here): ${String(err)}`));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.running;
    await this.source.close();
  }
}

interface LatencyFigures {
  label: string;
  rows: number;
  rate: number;
  redis: Stats;
  binlog: Stats;
  missing: number;
  /** Redis-side bursts: mean rows per burst and mean ms between burst starts. */
  burstRows: number;
  burstEveryMs: number;
  /** The bench process's event-loop delay p99 (ms) and the 1-minute load average, as context. */
  loopDelayP99: number;
  load: number;
  /** Isolated commits with the pipeline idle (sparseRun). */
  sparse?: Stats;
}

/**
 * `seconds` at `rate` single-row commits for users `<prefix>0..`, each user on one connection
 * (so its k-th commit is its k-th change); waits until every row is visible or 15 s passed.
 */
async function latencyRun(s: Services, tap: BinlogTap, label: string, prefix: string, seconds: number): Promise<LatencyFigures> {
  const redisMeter = new Meter();
  const binlogMeter = new Meter();
  tap.meter = binlogMeter;
  const counts = new Map<string, number>();
  const seenVersion = new Map<string, number>();
  const replies: Array<{ at: number; rows: number }> = [];

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
    let rows = 0;
    users.forEach((u, i) => {
      const v = Number(results[i]?.[1] ?? 0);
      const before = seenVersion.get(u) ?? 0;
      for (let k = before + 1; k <= v; k++) redisMeter.seen(`${u}#${k}`, now);
      if (v > before) {
        rows += v - before;
        seenVersion.set(u, v);
      }
    });
    if (rows > 0) replies.push({ at: now, rows });
    reading = false;
    if (dirty.size > 0) setImmediate(() => { void readDirty(); });
  };
  sub.on('pmessage', (_pattern: string, channel: string) => {
    dirty.add(channel.slice(channelPrefix.length));
    if (!reading) setImmediate(() => { void readDirty(); });
  });

  const conns: PoolConnection[] = await Promise.all(Array.from({ length: CONNECTIONS }, () => s.pool.getConnection()));
  const loopDelay = monitorEventLoopDelay({ resolution: 10 });
  loopDelay.enable();
  const started = Date.now();
  const end = started + seconds * 1_000;
  let next = 0;
  let committed = 0;
  let lastCommitAt = started;
  let lastReport = started;
  const writer = async (w: number): Promise<void> => {
    const conn = conns[w]!;
    for (;;) {
      const i = next++;
      const due = started + (i * 1_000) / RATE;
      if (due >= end + TAIL_S * 1_000) return;
      const wait = due - Date.now();
      if (wait > 1) await sleep(wait);
      const n = w + CONNECTIONS * Math.floor(Math.random() * (LATENCY_USERS / CONNECTIONS));
      if (due >= end) {
        // The tail keeps the load steady while the last measured rows go through; its users are not watched.
        await conn.query(`${INSERT}(?, ?, ?, ?, ?)`, application(`tail-${prefix}${n}`, i));
        continue;
      }
      const user = `${prefix}${n}`;
      const k = (counts.get(user) ?? 0) + 1;
      counts.set(user, k);
      const [res] = await conn.query(`${INSERT}(?, ?, ?, ?, ?)`, application(user, i));
      const at = Date.now();
      redisMeter.commit(`${user}#${k}`, at);
      binlogMeter.commit(String((res as ResultSetHeader).insertId), at);
      committed++;
      lastCommitAt = Math.max(lastCommitAt, at);
      if (at - lastReport >= PROGRESS_MS) {
        lastReport = at;
        const so = stats(redisMeter.samples);
        progress(`${label}: ${committed} rows committed (${Math.round((committed * 1_000) / (at - started))}/s), ` +
          `${so.n} visible: p50 ${so.p50} ms, p99 ${so.p99} ms`);
      }
    }
  };
  try {
    await Promise.all(conns.map((_, w) => writer(w)));
  } finally {
    for (const c of conns) c.release();
  }
  const elapsed = (lastCommitAt - started) / 1_000;
  const deadline = Date.now() + 15_000;
  while ((redisMeter.pending > 0 || binlogMeter.pending > 0) && Date.now() < deadline) await sleep(50);
  loopDelay.disable();
  tap.meter = undefined;
  await sub.punsubscribe();
  sub.disconnect();
  reader.disconnect();

  const bursts: Array<{ at: number; lastAt: number; rows: number }> = [];
  for (const r of replies) {
    const last = bursts[bursts.length - 1];
    if (last && r.at - last.lastAt <= BURST_GAP_MS) {
      last.rows += r.rows;
      last.lastAt = r.at;
    } else bursts.push({ at: r.at, lastAt: r.at, rows: r.rows });
  }
  const steady = bursts.slice(1, -1); // the first and last are cut by the phase's edges
  if (process.env.CDC_BENCH_VERBOSE) {
    progress(`${label}: bursts (ms since start: rows): ${bursts.map((b) => `${b.at - started}:${b.rows}`).join(' ')}`);
  }
  const figures: LatencyFigures = {
    label, rows: committed, rate: committed / elapsed, redis: stats(redisMeter.samples), binlog: stats(binlogMeter.samples),
    missing: redisMeter.pending,
    loopDelayP99: loopDelay.percentile(99) / 1e6,
    load: loadavg()[0]!,
    burstRows: steady.length > 0 ? steady.reduce((a, b) => a + b.rows, 0) / steady.length : NaN,
    burstEveryMs: steady.length > 1 ? (steady[steady.length - 1]!.at - steady[0]!.at) / (steady.length - 1) : NaN,
  };
  progress(`${label}: ${committed} rows in ${elapsed.toFixed(1)} s (${Math.round(figures.rate)}/s); commit -> redis ${ms(figures.redis)}; ` +
    `commit -> binlog read ${ms(figures.binlog)}; ${figures.missing} not visible after 15 s; ` +
    `redis writes: ${burstNote(figures)}; ` +
    `bench event-loop delay p99 ${figures.loopDelayP99.toFixed(0)} ms, load average ${figures.load.toFixed(1)} on ${availableParallelism()} cores`);
  return figures;
}

function burstNote(f: LatencyFigures): string {
  return Number.isFinite(f.burstEveryMs)
    ? `bursts of ${f.burstRows.toFixed(1)} rows every ${f.burstEveryMs.toFixed(1)} ms`
    : `no gap over ${BURST_GAP_MS} ms (continuous)`;
}

/**
 * Isolated commits (nothing else in flight): how long one change takes to reach Redis when the
 * pipeline is idle, i.e. "approved, and a moment later the drawdown". Polls HGET every 2 ms.
 */
async function sparseRun(s: Services, label: string, prefix: string): Promise<Stats> {
  await sleep(1_500); // let the previous load drain: the pipeline is idle from here on
  const samples: number[] = [];
  for (let i = 0; i < SPARSE_COMMITS; i++) {
    const user = `${prefix}${i}`;
    await s.pool.query(`${INSERT}(?, ?, ?, ?, ?)`, application(user, i));
    const committed = Date.now();
    while ((await s.client.hget(`feat:user:${user}`, '_v')) !== '1') {
      if (Date.now() - committed > 10_000) throw new Error(`${label}: a single commit for ${user} was not in redis after 10 s`);
      await sleep(2);
    }
    samples.push(Date.now() - committed);
    await sleep(SPARSE_GAP_MS + Math.random() * SPARSE_GAP_MS);
  }
  const st = stats(samples);
  progress(`${label}: ${SPARSE_COMMITS} isolated commits -> redis ${ms(st)}`);
  return st;
}

interface MaxFigures {
  committed: number;
  loadSeconds: number;
  appliedAtLoadEnd: number;
  /** Rows applied per second while the load ran / after it stopped (pipeline alone). */
  rateDuringLoad: number;
  rateCatchingUp: number;
  /** Seconds from the end of the load until Redis had every row; undefined when it did not within CATCHUP_MAX_S. */
  catchUpSeconds: number | undefined;
  lagAtEnd: number;
}

async function maxRun(s: Services): Promise<MaxFigures> {
  const prefix = 'max-';
  const keys = Array.from({ length: MAX_USERS }, (_, i) => `feat:user:${prefix}${i}`);
  const applied = async (): Promise<number> => {
    const pipe = s.client.pipeline();
    for (const k of keys) pipe.hget(k, '_v');
    return ((await pipe.exec()) ?? []).reduce((sum, [, v]) => sum + Number(v ?? 0), 0);
  };
  const conns: PoolConnection[] = await Promise.all(Array.from({ length: CONNECTIONS }, () => s.pool.getConnection()));
  const started = Date.now();
  const end = started + MAX_S * 1_000;
  let committed = 0;
  let n = 0;
  const writer = async (conn: PoolConnection): Promise<void> => {
    while (Date.now() < end) {
      const rows = Array.from({ length: MAX_ROWS_PER_TXN }, () => application(`${prefix}${Math.floor(Math.random() * MAX_USERS)}`, n++));
      await conn.query(`${INSERT}?`, [rows]);
      committed += rows.length;
    }
  };
  const samples: Array<{ at: number; applied: number }> = [];
  const sample = async (): Promise<number> => {
    const a = await applied();
    samples.push({ at: Date.now(), applied: a });
    return a;
  };
  const load = Promise.all(conns.map(writer)).finally(() => { for (const c of conns) c.release(); });
  let loading = true;
  void load.then(() => { loading = false; }, () => { loading = false; });
  let lastReport = started;
  while (loading) {
    await sleep(1_000);
    const a = await sample();
    if (Date.now() - lastReport >= PROGRESS_MS - 500) {
      lastReport = Date.now();
      const t = (Date.now() - started) / 1_000;
      progress(`max: ${committed} rows committed (${Math.round(committed / t)}/s), ${a} applied in redis (${Math.round(a / t)}/s), lag ${committed - a}`);
    }
  }
  await load;
  const loadEnd = Date.now();
  const loadSeconds = (loadEnd - started) / 1_000;
  const atEnd = await sample();
  progress(`max: load stopped after ${loadSeconds.toFixed(1)} s: ${committed} rows committed, ${atEnd} applied, lag ${committed - atEnd} rows; watching the catch-up`);
  let catchUpSeconds: number | undefined;
  lastReport = Date.now();
  while (Date.now() - loadEnd < CATCHUP_MAX_S * 1_000) {
    const a = await sample();
    if (a >= committed) {
      catchUpSeconds = (Date.now() - loadEnd) / 1_000;
      break;
    }
    if (Date.now() - lastReport >= PROGRESS_MS) {
      lastReport = Date.now();
      progress(`max: catching up: ${a} / ${committed} applied`);
    }
    await sleep(250);
  }
  const last = samples[samples.length - 1]!;
  // While catching up the pipeline is saturated and has the cores to itself; the last sample may be past the end.
  const catching = samples.filter((x) => x.at >= loadEnd && x.applied < committed);
  const lastBusy = catching[catching.length - 1];
  // Fewer than two such samples: the pipeline kept up with the load, so the load's rate is the bound.
  const rateCatchingUp = lastBusy && catching.length > 1
    ? (lastBusy.applied - catching[0]!.applied) / ((lastBusy.at - catching[0]!.at) / 1_000)
    : atEnd / loadSeconds;
  progress(`max: ${last.applied} / ${committed} applied ${catchUpSeconds !== undefined ? `${catchUpSeconds.toFixed(1)} s after the load stopped` : `after ${CATCHUP_MAX_S} s of catch-up (gave up)`}`);
  return {
    committed, loadSeconds, appliedAtLoadEnd: atEnd, rateDuringLoad: atEnd / loadSeconds, rateCatchingUp, catchUpSeconds, lagAtEnd: committed - atEnd,
  };
}

export async function bench(): Promise<BenchResult[]> {
  progress('starting mariadbd (ROW binlog) and redis-server (keyspace notifications)');
  const [db, redis] = await Promise.all([
    startMariaDb({ database: DB }),
    startRedis({ extraArgs: ['--notify-keyspace-events', 'Kh'] }),
  ]);
  const pool = mysql.createPool({ ...db.connectionConfig(), database: DB, connectionLimit: CONNECTIONS + 2, timezone: 'Z' });
  const client = new Redis(redis.url);
  const dataDir = await mkdtemp(join(tmpdir(), 'tributary-bench-cdc-'));
  const s: Services = { db, redis, pool, client, dataDir };
  const tap = new BinlogTap(db);
  let worker: CdcWorker | undefined;
  try {
    await createCdcSchema(pool);
    await runCdcLoad(pool, { ops: 2_000, rate: 0, users: 200, seed: 1 });
    await tap.start();

    const evidence: LatencyFigures[] = [];
    for (const [i, interval] of EVIDENCE_CHECKPOINTS.entries()) {
      progress(`worker with checkpoint interval ${interval} (evidence run); waiting for ${i === 0 ? 'the snapshot and ' : ''}the stream`);
      worker = await startWorker(s, interval);
      await latencyRun(s, tap, 'warm-up', `warm${i}-`, WARMUP_S);
      const figures = await latencyRun(s, tap, `latency, checkpoint ${interval}`, `ev${i}-`, EVIDENCE_S);
      evidence.push({ ...figures, sparse: await sparseRun(s, `isolated, checkpoint ${interval}`, `one${i}-`) });
      await stopWorker(worker);
    }

    progress(`worker with checkpoint interval ${CHECKPOINT} (the shipped default)`);
    worker = await startWorker(s, CHECKPOINT);
    await latencyRun(s, tap, 'warm-up', 'warm-main-', 2 * WARMUP_S);
    const steady = await latencyRun(s, tap, `latency, checkpoint ${CHECKPOINT}`, 'lat-', LATENCY_S);
    const main = { ...steady, sparse: await sparseRun(s, `isolated, checkpoint ${CHECKPOINT}`, 'one-main-') };
    await tap.stop();
    const max = await maxRun(s);
    if (worker.child.exitCode !== null) throw new Error(`the cdc worker exited (${worker.child.exitCode}):\n${worker.log()}`);
    await stopWorker(worker);
    worker = undefined;
    return report(main, evidence, max);
  } finally {
    if (worker) await worker.kill9();
    await tap.stop().catch(() => undefined);
    client.disconnect();
    await pool.end();
    await Promise.all([db.close(), redis.close()]);
    await rm(dataDir, { recursive: true, force: true });
  }
}

function report(main: LatencyFigures, evidence: LatencyFigures[], max: MaxFigures): BenchResult[] {
  const flushNote = (f: LatencyFigures): string =>
    `${Math.round(f.rate)} rows/s achieved; redis writes: ${burstNote(f)}; ` +
    `bench loop delay p99 ${f.loopDelayP99.toFixed(0)} ms, load ${f.load.toFixed(1)}` +
    (f.missing > 0 ? `; ${f.missing} rows NOT visible` : '');
  const out: BenchResult[] = [];
  for (const f of [main, ...evidence]) {
    const at = `@${RATE}/s, ${f.label.replace('latency, ', '')}`;
    out.push(
      { name: `commit->redis p50 ${at}`, value: f.redis.p50, unit: 'ms', note: flushNote(f) },
      { name: `commit->redis p99 ${at}`, value: f.redis.p99, unit: 'ms', note: 'target < 100 ms' },
      { name: `commit->redis max ${at}`, value: f.redis.max, unit: 'ms' },
      { name: `commit->binlog read p99 ${at}`, value: f.binlog.p99, unit: 'ms', note: `p50 ${f.binlog.p50} ms, max ${f.binlog.max} ms (in-process reader)` },
      { name: `achieved commit rate ${at}`, value: f.rate, unit: 'rows/s' },
    );
    if (f.sparse) {
      out.push({ name: `isolated commit->redis max, ${at.split(', ')[1]}`, value: f.sparse.max, unit: 'ms', note: `${ms(f.sparse)}, pipeline otherwise idle` });
    }
  }
  out.push(
    { name: 'max load: commit rate', value: max.committed / max.loadSeconds, unit: 'rows/s', note: `${max.committed} rows in ${max.loadSeconds.toFixed(1)} s, ${CONNECTIONS} connections x ${MAX_ROWS_PER_TXN}-row txns` },
    { name: 'max load: applied to redis while loading', value: max.rateDuringLoad, unit: 'rows/s', note: 'shares the cores with the writer and mariadbd' },
    { name: 'max load: applied to redis catching up', value: max.rateCatchingUp, unit: 'rows/s', note: 'after the load stopped: the pipeline alone, saturated' },
    { name: 'max load: lag when the load stopped', value: max.lagAtEnd, unit: 'rows',
      note: max.catchUpSeconds !== undefined ? `caught up ${max.catchUpSeconds.toFixed(1)} s later` : `not caught up within ${CATCHUP_MAX_S} s` },
  );
  return out;
}
