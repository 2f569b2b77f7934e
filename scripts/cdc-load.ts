/**
 * Load generator for the CDC example (scripts/cdc-example-schema.sql): random inserts, updates
 * and deletes on loan_application and repayment at a given rate, seeded so a run can be repeated.
 *
 *   MYSQL_PASSWORD=... npx tsx scripts/cdc-load.ts --host 127.0.0.1 --port 3306 --user root \
 *     --database loans --ops 10000 --rate 500 --users 200 --seed 1 [--schema]
 *
 * Also a function for tests: runCdcLoad(pool, options). Every statement autocommits except the
 * occasional two-statement transaction (approve a loan + first repayment), so the binlog holds
 * both single-row and multi-row transactions. Updates may move a row to another user (user_id
 * changes), change amount/status/applied_at; all event times (applied_at, repaid_at) lie within
 * `spreadMs` before the wall clock, so "over 24h/3d" features cover every live row when spreadMs
 * is below 24h. The password is read from MYSQL_PASSWORD and never printed.
 */
import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { dirname, join } from 'node:path';
import mysql from 'mysql2/promise';
import type { Pool, PoolConnection, ResultSetHeader } from 'mysql2/promise';

export interface CdcLoadOptions {
  /** Statements to run (an approve+repay transaction counts as 2). */
  ops: number;
  /** Operations per second; 0 = as fast as possible. */
  rate: number;
  users?: number;
  seed?: number;
  /** Event times are drawn from [now - spreadMs, now]. Default 1h. */
  spreadMs?: number;
  /** Called about once a second and at the end. */
  onProgress?(done: number, total: number): void;
  /** Stops early when aborted. */
  signal?: AbortSignal;
}

export interface CdcLoadResult {
  ops: number;
  inserts: number;
  updates: number;
  deletes: number;
}

/** mulberry32: small, fast, seedable. */
function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** DATETIME(3) text in UTC. */
export function sqlTime(ms: number): string {
  return new Date(ms).toISOString().replace('T', ' ').replace('Z', '');
}

/** Creates the example tables in the pool's database. */
export async function createCdcSchema(pool: Pool): Promise<void> {
  const file = join(dirname(fileURLToPath(import.meta.url)), 'cdc-example-schema.sql');
  const sql = (await readFile(file, 'utf8')).replace(/^--.*$/gm, '');
  for (const statement of sql.split(';').map((s) => s.trim()).filter(Boolean)) await pool.query(statement);
}

class IdSet {
  private readonly ids: number[] = [];
  private readonly at = new Map<number, number>();
  get size(): number { return this.ids.length; }
  add(id: number): void {
    if (this.at.has(id)) return;
    this.at.set(id, this.ids.length);
    this.ids.push(id);
  }
  remove(id: number): void {
    const i = this.at.get(id);
    if (i === undefined) return;
    const last = this.ids.pop()!;
    if (last !== id) {
      this.ids[i] = last;
      this.at.set(last, i);
    }
    this.at.delete(id);
  }
  pick(r: () => number): number | undefined {
    return this.ids.length === 0 ? undefined : this.ids[Math.floor(r() * this.ids.length)];
  }
}

export async function runCdcLoad(pool: Pool, options: CdcLoadOptions): Promise<CdcLoadResult> {
  const r = rng(options.seed ?? 1);
  const users = options.users ?? 200;
  const spread = options.spreadMs ?? 3_600_000;
  const loans = new IdSet();
  const repayments = new IdSet();
  for (const row of (await pool.query('SELECT id FROM loan_application'))[0] as Array<{ id: number }>) loans.add(Number(row.id));
  for (const row of (await pool.query('SELECT id FROM repayment'))[0] as Array<{ id: number }>) repayments.add(Number(row.id));

  const user = (): string => `u${Math.floor(r() * users)}`;
  const amount = (): string => (100 + Math.floor(r() * 5_000_000) / 100).toFixed(2);
  const when = (): string => sqlTime(Date.now() - Math.floor(r() * spread));
  const status = (): string => (['applied', 'approved', 'rejected'] as const)[Math.floor(r() * 3)];
  const result: CdcLoadResult = { ops: 0, inserts: 0, updates: 0, deletes: 0 };
  const conn: PoolConnection = await pool.getConnection();
  const exec = async (sql: string, params: unknown[]): Promise<ResultSetHeader> => (await conn.query(sql, params))[0] as ResultSetHeader;

  const insertLoan = async (): Promise<void> => {
    const res = await exec('INSERT INTO loan_application (user_id, amount, status, channel, applied_at) VALUES (?, ?, ?, ?, ?)',
      [user(), amount(), status(), r() < 0.5 ? 'app' : 'web', when()]);
    loans.add(res.insertId);
    result.inserts++;
  };
  const insertRepayment = async (): Promise<void> => {
    const loan = loans.pick(r) ?? 0;
    const res = await exec('INSERT INTO repayment (user_id, loan_id, principal, repaid_at) VALUES (?, ?, ?, ?)', [user(), loan, amount(), when()]);
    repayments.add(res.insertId);
    result.inserts++;
  };

  const started = Date.now();
  let lastProgress = started;
  try {
    while (result.ops < options.ops && !options.signal?.aborted) {
      if (options.rate > 0) {
        const due = started + (result.ops * 1000) / options.rate;
        const wait = due - Date.now();
        if (wait > 0) await new Promise((res) => setTimeout(res, wait));
      }
      const dice = r();
      const loan = loans.pick(r);
      const rep = repayments.pick(r);
      if (dice < 0.30 || loan === undefined) {
        await insertLoan();
      } else if (dice < 0.50) {
        // Status changes mostly; sometimes amount, applied_at or even the owner.
        const change = r();
        if (change < 0.6) await exec('UPDATE loan_application SET status = ? WHERE id = ?', [status(), loan]);
        else if (change < 0.8) await exec('UPDATE loan_application SET amount = ? WHERE id = ?', [amount(), loan]);
        else if (change < 0.9) await exec('UPDATE loan_application SET applied_at = ? WHERE id = ?', [when(), loan]);
        else await exec('UPDATE loan_application SET user_id = ?, amount = ? WHERE id = ?', [user(), amount(), loan]);
        result.updates++;
      } else if (dice < 0.58) {
        await exec('DELETE FROM loan_application WHERE id = ?', [loan]);
        loans.remove(loan);
        result.deletes++;
      } else if (dice < 0.80 || rep === undefined) {
        await insertRepayment();
      } else if (dice < 0.90) {
        if (r() < 0.5) await exec('UPDATE repayment SET principal = ? WHERE id = ?', [amount(), rep]);
        else await exec('UPDATE repayment SET repaid_at = ?, user_id = ? WHERE id = ?', [when(), user(), rep]);
        result.updates++;
      } else if (dice < 0.96) {
        await exec('DELETE FROM repayment WHERE id = ?', [rep]);
        repayments.remove(rep);
        result.deletes++;
      } else {
        // One transaction, two tables: the approval and a repayment commit together.
        await conn.beginTransaction();
        await exec("UPDATE loan_application SET status = 'approved' WHERE id = ?", [loan]);
        const res = await exec('INSERT INTO repayment (user_id, loan_id, principal, repaid_at) VALUES (?, ?, ?, ?)', [user(), loan, amount(), when()]);
        await conn.commit();
        repayments.add(res.insertId);
        result.updates++;
        result.inserts++;
        result.ops++;
      }
      result.ops++;
      if (options.onProgress && Date.now() - lastProgress >= 1000) {
        lastProgress = Date.now();
        options.onProgress(result.ops, options.ops);
      }
    }
  } finally {
    conn.release();
  }
  options.onProgress?.(result.ops, options.ops);
  return result;
}

function flag(argv: string[], name: string, fallback?: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : fallback;
}

async function main(argv: string[]): Promise<void> {
  const pool = mysql.createPool({
    host: flag(argv, 'host', process.env.MYSQL_HOST ?? '127.0.0.1'), port: Number(flag(argv, 'port', process.env.MYSQL_PORT ?? '3306')),
    user: flag(argv, 'user', process.env.MYSQL_USER ?? 'root'), password: process.env.MYSQL_PASSWORD ?? '',
    database: flag(argv, 'database', 'loans'), connectionLimit: 2, timezone: 'Z',
  });
  try {
    if (argv.includes('--schema')) await createCdcSchema(pool);
    const total = Number(flag(argv, 'ops', '10000'));
    const started = Date.now();
    const res = await runCdcLoad(pool, {
      ops: total, rate: Number(flag(argv, 'rate', '500')), users: Number(flag(argv, 'users', '200')), seed: Number(flag(argv, 'seed', '1')),
      onProgress: (done) => process.stderr.write(`cdc-load: ${done}/${total} ops (${Math.round((done * 1000) / Math.max(1, Date.now() - started))}/s)\n`),
    });
    process.stdout.write(`${JSON.stringify(res)}\n`);
  } finally {
    await pool.end();
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    process.stderr.write(`cdc-load: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  });
}
