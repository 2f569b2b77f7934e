/**
 * `npm run bench -- sinks`: rows/s per upsert sink at batch sizes 1, 100 and 1000, against servers
 * this bench starts here (the test harnesses: redis-server, PostgreSQL, mariadbd, Neo4j; TableStore's
 * wire-level stand-in, since TableStore cannot run here), side by side
 * with the Redis sink in the same run; each figure's note gives its ratio to Redis at that batch
 * size (the machine is shared: ratios travel better than absolute figures).
 *
 * Each row is a new key (an insert through the version guard), a detail row of five fields, the
 * version the event time. Timed from the first add() to the end of flush(): what a checkpoint
 * waits for. No linger, so a batch leaves when it is full.
 *
 * To add a sink: one entry in `targets` (start its server, make a sink for a batch size).
 * SINKS_BENCH_ROWS scales the row count (default 20000; batch size 1 writes a tenth);
 * SINKS_BENCH_ONLY=redis,sql-postgres picks targets.
 */
import { GraphSink } from '../src/connectors/graph/sink.js';
import type { GraphSinkConfig } from '../src/connectors/graph/spec.js';
import { RedisSink } from '../src/connectors/redis/sink.js';
import type { RedisSinkConfig } from '../src/connectors/redis/spec.js';
import { SqlSink, sqlSinkDdl } from '../src/connectors/sql/sink.js';
import type { SqlSinkConfig } from '../src/connectors/sql/spec.js';
import type { Sink } from '../src/connectors/types.js';
import { silentLogger } from '../src/core/logger.js';
import { startMariaDb } from '../test/helpers/mariadb.js';
import { startNeo4j } from '../test/helpers/neo4j.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { startRedis } from '../test/helpers/redis.js';
import { tablestoreStandinTarget } from './tablestore-sink.js';
import type { BenchResult } from './types.js';

const BATCH_SIZES = [1, 100, 1000] as const;
const ROWS = Number(process.env.SINKS_BENCH_ROWS ?? 20_000);
const T0 = 1_700_000_000_000;

interface Server {
  /** A fresh, empty sink target for one measurement. */
  makeSink(batchSize: number): Promise<Sink>;
  close(): Promise<void>;
}

interface Target {
  name: string;
  start(): Promise<Server>;
}

const sqlColumns: SqlSinkConfig['columns'] = {
  id: { type: 'bigint', nullable: true },
  user_id: { type: 'varchar', length: 32, nullable: true },
  amount: { type: 'decimal', precision: 18, scale: 2, nullable: true },
  status: { type: 'varchar', length: 8, nullable: true },
  applied_at: { type: 'timestamp', nullable: true },
};

/** A server for the sql sink: `run` executes DDL on it, `url` is what the sink connects with. */
function sqlServer(url: string, run: (sql: string) => Promise<unknown>, close: () => Promise<void>): Server {
  let n = 0;
  return {
    async makeSink(batchSize) {
      const config: SqlSinkConfig = {
        url, table: `bench_${++n}`, key: ['id'], columns: sqlColumns, versionColumn: '_version', deletedColumn: '_deleted',
        changelog: false, batchSize, linger: 0, pool: 2,
      };
      await run(sqlSinkDdl('bench', config).split('\n').filter((l) => !l.startsWith('--')).join('\n'));
      return new SqlSink('bench', config, { lingerMs: undefined });
    },
    close,
  };
}

const targets: Target[] = [
  {
    name: 'redis',
    async start() {
      const redis = await startRedis();
      let n = 0;
      return {
        async makeSink(batchSize) {
          const config = { url: redis.url, mode: 'standalone', tls: false, layout: 'hash', key: `b${++n}:{id}`, batchSize } as RedisSinkConfig;
          return new RedisSink('bench', config, { lingerMs: undefined });
        },
        close: () => redis.close(),
      };
    },
  },
  {
    name: 'sql-postgres',
    async start() {
      const pg = await startPostgres();
      return sqlServer(pg.url, (sql) => pg.query(sql), () => pg.close());
    },
  },
  {
    name: 'sql-mariadb',
    async start() {
      const db = await startMariaDb();
      return sqlServer(`mysql://${db.user}:${db.password}@${db.host}:${db.port}/shop`, (sql) => db.query(sql), () => db.close());
    },
  },
  // TableStore cannot run here: its entry writes to the wire-level stand-in (named so in the figures).
  tablestoreStandinTarget,
  {
    // Each row: a new Application vertex, its User (5000 users, so most rows find theirs) and an
    // APPLIED edge, three guarded MERGEs per row; labels of its own per measurement, so it starts empty.
    name: 'graph-neo4j',
    async start() {
      const neo = await startNeo4j();
      let n = 0;
      return {
        async makeSink(batchSize) {
          const run = ++n;
          const config: GraphSinkConfig = {
            dialect: 'cypher', url: neo.url, user: neo.user, password: neo.password, changelog: false, batchSize, linger: 0,
            vertices: {
              application: { label: `Application${run}`, id: '{id}', props: ['amount', 'status', 'applied_at'], onDelete: 'delete' },
              user: { label: `User${run}`, id: '{user_id}', onDelete: 'keep' },
            },
            edges: { applied: { type: 'APPLIED', from: 'user', to: 'application' } },
          };
          return new GraphSink('bench', config, { lingerMs: undefined });
        },
        close: () => neo.close(),
      };
    },
  },
];

async function measure(sink: Sink, rows: number): Promise<number> {
  await sink.open({ logger: silentLogger, deadLetter: (_r, reason) => { throw new Error(`bench row refused: ${reason}`); } });
  try {
    const started = performance.now();
    for (let i = 0; i < rows; i++) {
      const pending = sink.add({
        key: i,
        value: { id: i, user_id: `u${i % 5000}`, amount: `${i % 100_000}.${String(i % 100).padStart(2, '0')}`, status: 'ok', applied_at: T0 + i },
        timestamp: T0 + i,
      });
      if (pending) await pending;
    }
    await sink.flush();
    const seconds = (performance.now() - started) / 1000;
    if (sink.written !== rows) throw new Error(`bench: ${sink.name} wrote ${sink.written} of ${rows} rows`);
    return rows / seconds;
  } finally {
    await sink.close();
  }
}

export async function bench(): Promise<BenchResult[]> {
  const only = process.env.SINKS_BENCH_ONLY?.split(',').map((s) => s.trim()).filter(Boolean);
  const chosen = only ? targets.filter((t) => only.includes(t.name)) : targets;
  const figures = new Map<string, number>();
  const results: BenchResult[] = [];
  for (const target of chosen) {
    process.stderr.write(`   starting ${target.name}...\n`);
    const server = await target.start();
    try {
      for (const batchSize of BATCH_SIZES) {
        const rows = batchSize === 1 ? Math.max(100, Math.round(ROWS / 10)) : ROWS;
        const perSecond = await measure(await server.makeSink(batchSize), rows);
        figures.set(`${target.name}/${batchSize}`, perSecond);
        const redis = figures.get(`redis/${batchSize}`);
        const note = target.name !== 'redis' && redis ? `${(perSecond / redis).toFixed(2)}x redis; ${rows} rows` : `${rows} rows`;
        process.stderr.write(`   ${target.name} batch ${batchSize}: ${Math.round(perSecond)} rows/s\n`);
        results.push({ name: `${target.name} batch ${batchSize}`, value: perSecond, unit: 'rows/s', note });
      }
    } finally {
      await server.close();
    }
  }
  return results;
}
