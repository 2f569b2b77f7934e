/**
 * Test harness for mariadbd with a ROW binlog: one server per test file on a free port, in a
 * fresh temp dir, never the machine's shared MariaDB on 3306. kill() (SIGKILL) + restart() bring
 * the same server back on the same dir and port, so binlog positions and GTIDs survive.
 *
 * Layout of the temp dir: data/ (datadir), binlog.NNNNNN (the binlog), sock, error.log.
 * root@127.0.0.1 gets a generated password (replication over TCP needs real grants, so no
 * --skip-grant-tables); root@localhost stays passwordless over the socket for the harness itself.
 * The server runs with time_zone +00:00 so tests are deterministic; a test that needs another
 * session zone sets it on its own connection.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import mysql from 'mysql2/promise';
import type { Pool } from 'mysql2/promise';
import { freePort } from './redis.js';
import { exited, isRunning, signalAndWait as signalAndWaitFor, useService } from './service.js';

export interface TestMariaDb {
  readonly host: string;
  readonly port: number;
  readonly socket: string;
  readonly dataDir: string;
  readonly user: string;
  readonly password: string;
  connectionConfig(): { host: string; port: number; user: string; password: string };
  /** mysql2/promise on one shared pool (default database = options.database); resolves with the rows / result header. */
  query<T = unknown>(sql: string, params?: unknown[]): Promise<T>;
  /** SIGKILL mariadbd and wait for it to exit. */
  kill(): Promise<void>;
  /** Stop (SIGTERM) if running, then start again on the same dir and port. */
  restart(): Promise<void>;
  /** Stop and remove the temp dir; idempotent. */
  close(): Promise<void>;
}

export interface TestMariaDbOptions {
  /** MariaDB writes GTID events always; true adds gtid_strict_mode and a fixed domain id for GTID-resume tests. */
  gtid?: boolean;
  /** Created at start and used as the pool's default database. Default `shop`. */
  database?: string;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 20_000;
const STOP_TIMEOUT_MS = 10_000;
const MISSING = 'install the Debian package "mariadb-server" (apt-get install mariadb-server)';

/** mariadbd lives in /usr/sbin, which a non-root PATH may lack. */
function findBinary(names: string[]): string {
  const dirs = [...(process.env.PATH ?? '').split(':'), '/usr/sbin', '/usr/bin', '/usr/local/sbin', '/usr/local/bin'];
  for (const name of names) {
    for (const dir of dirs) {
      if (dir && existsSync(join(dir, name))) return join(dir, name);
    }
  }
  throw new Error(`${names[0]} not found: ${MISSING}`);
}

async function tail(file: string, lines = 30): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).split('\n').slice(-lines).join('\n');
  } catch {
    return '(no error log)';
  }
}

function quoteIdent(name: string): string {
  return '`' + name.replace(/`/g, '``') + '`';
}

export async function startMariaDb(options: TestMariaDbOptions = {}): Promise<TestMariaDb> {
  const mariadbd = findBinary(['mariadbd', 'mysqld']);
  const installDb = findBinary(['mariadb-install-db', 'mysql_install_db']);
  const database = options.database ?? 'shop';
  const dir = await mkdtemp(join(tmpdir(), 'tributary-mariadb-'));
  const dataDir = join(dir, 'data');
  const socket = join(dir, 'sock');
  const errorLog = join(dir, 'error.log');
  const password = randomBytes(12).toString('hex');
  // mariadbd refuses to run as root unless told to.
  const userArgs = process.getuid?.() === 0 ? ['--user=root'] : [];

  // A private tmpdir: servers sharing /tmp clash on their temporary-table files (EE_DELETE), the
  // install's bootstrap server included (an install failed once beside other suites' servers).
  const tmpDir = join(dir, 'tmp');
  await mkdir(tmpDir, { recursive: true });
  const installArgs = ['--no-defaults', `--datadir=${dataDir}`, `--tmpdir=${tmpDir}`, '--auth-root-authentication-method=normal', '--skip-test-db', ...userArgs];
  let install = spawnSync(installDb, installArgs, { encoding: 'utf8' });
  if (!install.error && install.status !== 0) {
    // Once more from an empty datadir: what a failed bootstrap left behind would fail it again.
    await rm(dataDir, { recursive: true, force: true });
    install = spawnSync(installDb, installArgs, { encoding: 'utf8' });
  }
  if (install.error || install.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`mariadb-install-db failed (${install.error?.message ?? `exit ${install.status}`}): ${MISSING} if missing\n${install.stdout}\n${install.stderr}`);
  }

  let port = await freePort();
  let child: ChildProcess | undefined;
  let pool: Pool | undefined;
  let closed = false;

  const args = (): string[] => [
    '--no-defaults', `--datadir=${dataDir}`, `--tmpdir=${tmpDir}`, `--port=${port}`, `--socket=${socket}`, `--bind-address=${HOST}`,
    '--skip-networking=0', `--pid-file=${join(dir, 'pid')}`, `--log-error=${errorLog}`,
    `--log-bin=${join(dir, 'binlog')}`, '--binlog-format=ROW', '--binlog-row-image=FULL', '--server-id=1',
    '--skip-name-resolve', '--default-time-zone=+00:00', '--performance-schema=OFF',
    // Small and quick: tests need seconds, not a production buffer pool.
    '--innodb-buffer-pool-size=64M', '--innodb-log-file-size=16M', '--innodb-flush-log-at-trx-commit=2',
    '--max-connections=200',
    ...(options.gtid ? ['--gtid-strict-mode=1', '--gtid-domain-id=0', '--log-slave-updates=1'] : []),
    ...userArgs,
  ];

  const socketConnect = (): Promise<mysql.Connection> =>
    mysql.createConnection({ socketPath: socket, user: 'root', password: '', connectTimeout: 1_000 });

  const launch = async (): Promise<void> => {
    const proc = spawn(mariadbd, args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    let output = '';
    const capture = (d: Buffer): void => { output += d.toString(); };
    proc.stdout?.on('data', capture);
    proc.stderr?.on('data', capture);
    let spawnError: Error | undefined;
    proc.once('error', (err) => { spawnError = err; });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      await sleep(100);
      if (spawnError) throw new Error(`could not start mariadbd: ${spawnError.message}; ${MISSING}`);
      if (!isRunning(proc)) {
        throw new Error(`mariadbd exited before accepting connections (code ${proc.exitCode})\n${output}\n--- error.log ---\n${await tail(errorLog)}`);
      }
      if (existsSync(socket)) {
        try {
          const conn = await socketConnect();
          await conn.end();
          return;
        } catch { /* not ready yet */ }
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited(proc);
        throw new Error(`mariadbd did not accept connections within ${START_TIMEOUT_MS} ms\n--- error.log ---\n${await tail(errorLog)}`);
      }
    }
  };

  const dropPool = async (): Promise<void> => {
    const old = pool;
    pool = undefined;
    // Connections to a killed server may never answer COM_QUIT: do not wait on them for long.
    if (old) await Promise.race([old.end().catch(() => undefined), sleep(1_000)]);
  };

  const signalAndWait = (signal: NodeJS.Signals): Promise<void> => signalAndWaitFor(child, signal, STOP_TIMEOUT_MS);

  // The free port may be taken between freePort() and bind: retry the first start on a new one.
  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      await signalAndWait('SIGKILL');
      const portTaken = /Address already in use|Bind on TCP\/IP port/i.test(await tail(errorLog, 100));
      if (!portTaken || attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }

  try {
    const admin = await socketConnect();
    try {
      // Root over TCP gets a password: the replication connection must authenticate for real.
      // Not binlogged: the password would otherwise sit in a Query event every stream reads.
      await admin.query('SET sql_log_bin = 0');
      await admin.query(`ALTER USER 'root'@'127.0.0.1' IDENTIFIED BY '${password}'`);
      await admin.query('SET sql_log_bin = 1');
      await admin.query(`CREATE DATABASE IF NOT EXISTS ${quoteIdent(database)}`);
    } finally {
      await admin.end();
    }
  } catch (err) {
    await signalAndWait('SIGKILL');
    await rm(dir, { recursive: true, force: true });
    throw err;
  }

  const getPool = (): Pool => {
    pool ??= mysql.createPool({ host: HOST, port, user: 'root', password, database, connectionLimit: 4, multipleStatements: true });
    return pool;
  };

  return {
    host: HOST,
    get port() { return port; },
    socket,
    dataDir,
    user: 'root',
    password,
    connectionConfig: () => ({ host: HOST, port, user: 'root', password }),
    async query<T = unknown>(sql: string, params?: unknown[]): Promise<T> {
      if (closed) throw new Error('TestMariaDb.query(): already closed');
      const [rows] = await getPool().query(sql, params);
      return rows as T;
    },
    async kill() {
      await signalAndWait('SIGKILL');
      await dropPool();
    },
    async restart() {
      if (closed) throw new Error('TestMariaDb.restart(): already closed');
      await dropPool();
      await signalAndWait('SIGTERM');
      await launch();
    },
    async close() {
      if (closed) return;
      closed = true;
      await dropPool();
      await signalAndWait('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Registers beforeAll/afterAll for one mariadbd shared by a describe block; call the getter inside tests. */
export function useMariaDb(options: TestMariaDbOptions = {}): () => TestMariaDb {
  return useService('useMariaDb(): mariadbd', () => startMariaDb(options));
}
