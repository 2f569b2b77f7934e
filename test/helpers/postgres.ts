/**
 * Test harness for PostgreSQL from Debian's binaries (/usr/lib/postgresql/<ver>/bin): one server
 * per test file on a free port, initdb'd into a fresh temp dir, never the machine's shared server
 * on 5432. stop() / kill() and start() bring the same server back on the same dir and port (for
 * outage tests).
 *
 * Layout of the temp dir: data/ (PGDATA), the unix socket, server.log. Superuser `postgres` with a
 * generated password over TCP (scram), trust over the socket for the harness. initdb and postgres
 * refuse to run as root: as root the harness runs them as the `postgres` system user the Debian
 * package creates. fsync is off (the OS keeps what a killed server wrote; the machine does not
 * crash in tests), synchronous_commit stays on so an acknowledged commit survives a server kill.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import pg from 'pg';
import { freePort } from './redis.js';
import { exited, isRunning, signalAndWait, useService } from './service.js';

export interface TestPostgres {
  readonly host: string;
  readonly port: number;
  readonly user: string;
  readonly password: string;
  readonly database: string;
  /** postgres://postgres:<password>@127.0.0.1:<port>/<database> */
  readonly url: string;
  /** One statement on a shared pool (TCP, as the sink connects); resolves with the rows. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** Fast shutdown (SIGINT), waiting for the exit. */
  stop(): Promise<void>;
  /** SIGKILL the postmaster and its backends, waiting for the exit. */
  kill(): Promise<void>;
  /** Start again on the same dir and port (crash recovery after kill()). */
  start(): Promise<void>;
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const MISSING = 'install the Debian package "postgresql" (apt-get install postgresql)';
const START_TIMEOUT_MS = 30_000;

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const versions = existsSync(root) ? readdirSync(root).filter((v) => existsSync(join(root, v, 'bin', 'postgres'))) : [];
  versions.sort((a, b) => Number(b) - Number(a));
  if (versions.length === 0) throw new Error(`PostgreSQL server binaries not found in ${root}/<version>/bin: ${MISSING}`);
  return join(root, versions[0]!, 'bin');
}

/** uid/gid to run the server as: ourselves, or the `postgres` user when we are root. */
function runAs(): { uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const id = (flag: string): number => Number(spawnSync('id', [flag, 'postgres'], { encoding: 'utf8' }).stdout.trim());
  const uid = id('-u');
  const gid = id('-g');
  if (!Number.isInteger(uid) || uid <= 0) throw new Error(`running as root and there is no 'postgres' user to run the server as: ${MISSING}`);
  return { uid, gid };
}

export async function startPostgres(options: { database?: string } = {}): Promise<TestPostgres> {
  const bin = binDir();
  const user = runAs();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-postgres-'));
  const dataDir = join(dir, 'data');
  const log = join(dir, 'server.log');
  const password = randomBytes(12).toString('hex');
  const database = options.database ?? 'tributary';
  const pwfile = join(dir, 'pw');
  writeFileSync(pwfile, `${password}\n`);
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(pwfile, user.uid, user.gid);
  }
  chmodSync(dir, 0o700);
  const spawnOpts = user ? { uid: user.uid, gid: user.gid } : {};

  const init = spawnSync(join(bin, 'initdb'), ['-D', dataDir, '-U', 'postgres', `--pwfile=${pwfile}`, '--auth-local=trust',
    '--auth-host=scram-sha-256', '-E', 'UTF8', '--locale=C', '--no-sync'], { encoding: 'utf8', ...spawnOpts });
  if (init.error || init.status !== 0) {
    await rm(dir, { recursive: true, force: true });
    throw new Error(`initdb failed (${init.error?.message ?? `exit ${init.status}`}): ${MISSING} if missing\n${init.stdout}\n${init.stderr}`);
  }

  let port = await freePort();
  let child: ChildProcess | undefined;
  let pool: pg.Pool | undefined;
  let closed = false;

  const tail = async (): Promise<string> => (await readFile(log, 'utf8').catch(() => '')).split('\n').slice(-30).join('\n');

  const launch = async (): Promise<void> => {
    // Its own process group, so kill() reaches the backends too (they outlive a killed postmaster).
    const proc = spawn(join(bin, 'postgres'), ['-D', dataDir, '-p', String(port), '-k', dir, '-c', `listen_addresses=${HOST}`,
      '-c', 'fsync=off', '-c', 'full_page_writes=off', '-c', 'max_connections=100', '-c', 'shared_buffers=32MB',
      '-c', `logging_collector=off`], { stdio: ['ignore', 'ignore', 'pipe'], detached: true, ...spawnOpts });
    child = proc;
    let output = '';
    proc.stderr?.on('data', (d: Buffer) => { output += d.toString(); if (output.length > 20_000) output = output.slice(-10_000); });
    let spawnError: Error | undefined;
    proc.once('error', (err) => { spawnError = err; });
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      await sleep(100);
      if (spawnError) throw new Error(`could not start postgres: ${spawnError.message}; ${MISSING}`);
      if (!isRunning(proc)) throw new Error(`postgres exited before accepting connections (code ${proc.exitCode})\n${output}\n${await tail()}`);
      const probe = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
      try {
        await probe.connect();
        await probe.end();
        return;
      } catch {
        await probe.end().catch(() => undefined);
      }
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited(proc);
        throw new Error(`postgres did not accept connections within ${START_TIMEOUT_MS} ms\n${output}`);
      }
    }
  };

  const dropPool = async (): Promise<void> => {
    const old = pool;
    pool = undefined;
    if (old) await Promise.race([old.end().catch(() => undefined), sleep(1_000)]);
  };

  const killGroup = async (): Promise<void> => {
    if (!child || !isRunning(child)) return;
    const done = exited(child);
    try { process.kill(-child.pid!, 'SIGKILL'); } catch { child.kill('SIGKILL'); }
    await done;
    // Backends notice the postmaster's death on their own; the group kill above took them too.
    await sleep(200);
  };

  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      await killGroup();
      if (!/could not bind|Address already in use/i.test(String(err)) || attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      port = await freePort();
    }
  }

  const admin = new pg.Client({ host: dir, port, user: 'postgres', database: 'postgres' });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${database}"`);
  await admin.end();

  const url = (): string => `postgres://postgres:${password}@${HOST}:${port}/${database}`;
  const getPool = (): pg.Pool => {
    if (!pool) {
      pool = new pg.Pool({ connectionString: url(), max: 4 });
      pool.on('error', () => undefined);
    }
    return pool;
  };

  return {
    host: HOST,
    get port() { return port; },
    user: 'postgres',
    password,
    database,
    get url() { return url(); },
    async query<T>(sql: string, params?: unknown[]) {
      if (closed) throw new Error('TestPostgres.query(): already closed');
      return (await getPool().query(sql, params)).rows as T[];
    },
    async stop() {
      await dropPool();
      await signalAndWait(child, 'SIGINT', 10_000);
    },
    async kill() {
      await dropPool();
      await killGroup();
    },
    async start() {
      if (closed) throw new Error('TestPostgres.start(): already closed');
      if (child && isRunning(child)) return;
      await launch();
    },
    async close() {
      if (closed) return;
      closed = true;
      await dropPool();
      await signalAndWait(child, 'SIGINT', 10_000);
      await killGroup();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Registers beforeAll/afterAll for one PostgreSQL server shared by a describe block. */
export function usePostgres(options: { database?: string } = {}): () => TestPostgres {
  return useService('usePostgres(): postgres', () => startPostgres(options));
}
