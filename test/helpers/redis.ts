/**
 * Test harness for redis-server: one child process per test file on a free port with a fresh
 * temp dir, never the machine's shared Redis on 6379. stop()/kill() + start() bring the same
 * server back on the same port and dir, so with `aof: true` (appendfsync always) a restart keeps
 * every acknowledged write and clients that cached the address reconnect where it was.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, connect as tcpConnect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { exited, isRunning, signalAndWait as signalAndWaitFor, useService } from './service.js';

export interface TestRedis {
  readonly host: string;
  /** A free port, kept across stop/start. */
  readonly port: number;
  /** redis://127.0.0.1:<port> */
  readonly url: string;
  /** Temp data dir (the AOF lives here). */
  readonly dir: string;
  /** (Re)start on the same port and dir; resolves when PING answers. */
  start(): Promise<void>;
  /** SIGTERM (Redis shuts down cleanly, fsyncing the AOF) and wait for exit. */
  stop(): Promise<void>;
  /** SIGKILL and wait for exit. */
  kill(): Promise<void>;
  /** Stop if running, remove the dir; idempotent. */
  close(): Promise<void>;
}

export interface TestRedisOptions {
  /** Append-only file with fsync on every write, so a restart keeps acknowledged writes. */
  aof?: boolean;
  /** More redis-server arguments, e.g. ['--cluster-enabled', 'yes']. */
  extraArgs?: string[];
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 10_000;
const STOP_TIMEOUT_MS = 5_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, HOST, () => {
      const address = server.address();
      const port = typeof address === 'object' && address ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/** One PING over a raw socket: the harness must not depend on the client under test. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = tcpConnect({ host: HOST, port });
    let reply = '';
    const done = (ok: boolean): void => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.on('data', (d) => {
      reply += d.toString();
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'));
    });
  });
}

export async function startRedis(options: TestRedisOptions = {}): Promise<TestRedis> {
  const aof = options.aof ?? false;
  const dir = await mkdtemp(join(tmpdir(), 'tributary-redis-'));
  let port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  let closed = false;

  const args = (): string[] => {
    const list = ['--port', String(port), '--bind', HOST, '--dir', dir, '--save', '', '--daemonize', 'no',
      '--protected-mode', 'no', '--appendonly', aof ? 'yes' : 'no'];
    if (aof) list.push('--appendfsync', 'always');
    list.push(...(options.extraArgs ?? []));
    return list;
  };

  const launch = async (): Promise<void> => {
    const proc = spawn('redis-server', args(), { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    const capture = (d: Buffer): void => { log += d.toString(); };
    proc.stdout?.on('data', capture);
    proc.stderr?.on('data', capture);
    const spawnError = new Promise<Error>((resolve) => proc.once('error', resolve));
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (;;) {
      const failed = await Promise.race([spawnError, sleep(50).then(() => undefined)]);
      if (failed) {
        const code = (failed as NodeJS.ErrnoException).code;
        throw new Error(code === 'ENOENT'
          ? 'redis-server not found: install the Debian package "redis-server" (apt-get install redis-server)'
          : `could not start redis-server: ${failed.message}`);
      }
      if (!isRunning(proc)) throw new Error(`redis-server exited before answering PING (code ${child?.exitCode})\n--- redis output ---\n${log}`);
      if (await ping(port)) return;
      if (Date.now() > deadline) {
        proc.kill('SIGKILL');
        await exited(proc);
        throw new Error(`redis-server did not answer PING on ${HOST}:${port} within ${START_TIMEOUT_MS} ms\n--- redis output ---\n${log}`);
      }
    }
  };

  const signalAndWait = (signal: NodeJS.Signals): Promise<void> => signalAndWaitFor(child, signal, STOP_TIMEOUT_MS);

  // The free port may be taken between freePort() and bind: retry the first start on a new one.
  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      const portTaken = /Address already in use/i.test(log);
      if (!portTaken || attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      log = '';
      port = await freePort();
    }
  }

  return {
    host: HOST,
    get port() { return port; },
    get url() { return `redis://${HOST}:${port}`; },
    dir,
    async start() {
      if (closed) throw new Error('TestRedis.start(): already closed');
      if (isRunning(child)) return;
      log += '\n--- restart ---\n';
      await launch();
    },
    stop: () => signalAndWait('SIGTERM'),
    kill: () => signalAndWait('SIGKILL'),
    async close() {
      if (closed) return;
      closed = true;
      await signalAndWait('SIGTERM');
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Registers beforeAll/afterAll for one redis-server shared by a describe block; call the getter inside tests. */
export function useRedis(options: TestRedisOptions = {}): () => TestRedis {
  return useService('useRedis(): redis-server', () => startRedis(options));
}

// ---------------------------------------------------------------------------------------
// A small Redis Cluster: three masters, no replicas, slots split by redis-cli.

export interface TestRedisCluster {
  readonly servers: readonly TestRedis[];
  /** "127.0.0.1:<port>" of every master, for cluster `nodes`. */
  readonly nodes: string[];
  close(): Promise<void>;
}

async function redisCli(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    const proc = spawn('redis-cli', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    proc.once('error', (err: NodeJS.ErrnoException) => reject(err.code === 'ENOENT'
      ? new Error('redis-cli not found: install the Debian package "redis-tools" (apt-get install redis-tools)')
      : err));
    proc.once('exit', (code) => (code === 0 ? resolve(out) : reject(new Error(`redis-cli ${args.join(' ')} exited ${code}:\n${out}`))));
  });
}

export async function startRedisCluster(masters = 3): Promise<TestRedisCluster> {
  const servers: TestRedis[] = [];
  const close = async (): Promise<void> => { await Promise.all(servers.map((s) => s.close())); };
  try {
    for (let i = 0; i < masters; i++) {
      servers.push(await startRedis({ extraArgs: ['--cluster-enabled', 'yes', '--cluster-config-file', 'nodes.conf', '--cluster-node-timeout', '2000'] }));
    }
    const nodes = servers.map((s) => `${HOST}:${s.port}`);
    await redisCli(['--cluster', 'create', ...nodes, '--cluster-replicas', '0', '--cluster-yes']);
    // create returns once slots are assigned; every node must agree before clients can rely on it.
    const deadline = Date.now() + START_TIMEOUT_MS;
    for (const s of servers) {
      while (!(await redisCli(['-h', HOST, '-p', String(s.port), 'cluster', 'info'])).includes('cluster_state:ok')) {
        if (Date.now() > deadline) throw new Error(`redis cluster did not reach cluster_state:ok within ${START_TIMEOUT_MS} ms`);
        await sleep(100);
      }
    }
    return { servers, nodes, close };
  } catch (err) {
    await close();
    throw err;
  }
}
