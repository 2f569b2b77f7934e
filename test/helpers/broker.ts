/**
 * Test harness for the dev broker: an in-process broker on a free port in a fresh temp
 * dir, a child-process broker that a test can kill -9 and restart on the same data dir
 * and port, and `kafkaTarget()`, the switch every Kafka-facing test uses to pick its cluster.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { ChildProcess } from 'node:child_process';
import { startBroker } from '../../src/broker/index.js';
import { spawnCli } from './cli.js';
import { useService } from './service.js';
import { TEST_MIN_SESSION_TIMEOUT_MS } from './kafka-test-tuning.js';

export type BrokerHandle = Awaited<ReturnType<typeof startBroker>>;
export type BrokerOptions = Parameters<typeof startBroker>[0];
export type TestBrokerOptions = Partial<BrokerOptions>;

/** A topic/group name no other test (or earlier run against an external cluster) uses. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(4).toString('hex')}`;
}

export async function makeTempDir(prefix = 'tributary-broker-'): Promise<string> {
  return mkdtemp(join(tmpdir(), prefix));
}

/** An in-process broker owned by a test; `restart()` reopens the same data dir on the same port. */
export interface TestBroker {
  readonly dataDir: string;
  readonly handle: BrokerHandle;
  readonly address: string;
  readonly brokers: string[];
  restart(): Promise<void>;
  /** Closes the broker and removes its data dir. Idempotent. */
  close(): Promise<void>;
}

export async function startTestBroker(options: TestBrokerOptions = {}): Promise<TestBroker> {
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await makeTempDir());
  const base: BrokerOptions = { port: 0, host: '127.0.0.1', groupInitialRebalanceDelayMs: 0, groupMinSessionTimeoutMs: TEST_MIN_SESSION_TIMEOUT_MS, ...options, dataDir };
  let handle: BrokerHandle = await startBroker(base);
  let open = true;
  return {
    dataDir,
    get handle() { return handle; },
    get address() { return handle.address; },
    get brokers() { return [handle.address]; },
    async restart() {
      if (open) await handle.close();
      open = false;
      // Same port: clients that cached the address must find the broker where it was.
      handle = await startBroker({ ...base, port: handle.port });
      open = true;
    },
    async close() {
      if (open) await handle.close();
      open = false;
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
}

/** Runs fn against a fresh broker and always tears it down. */
export async function withBroker<T>(fn: (broker: TestBroker) => Promise<T>, options: TestBrokerOptions = {}): Promise<T> {
  const broker = await startTestBroker(options);
  try {
    return await fn(broker);
  } finally {
    await broker.close();
  }
}

/** Registers beforeAll/afterAll for one broker shared by a describe block; call the result inside tests. */
export function useBroker(options: TestBrokerOptions = {}): () => TestBroker {
  return useService('useBroker(): broker', () => startTestBroker(options));
}

// ---------------------------------------------------------------------------------------
// Child-process broker: `tributary broker` run from source, so kill -9 hits the real broker.

export interface BrokerProcessOptions {
  dataDir?: string;
  port?: number;
  fsync?: 'always' | 'interval' | 'never';
  extraArgs?: string[];
  startTimeoutMs?: number;
}

export interface BrokerProcess {
  readonly dataDir: string;
  readonly host: string;
  readonly port: number;
  readonly address: string;
  readonly child: ChildProcess;
  /** Everything the current and earlier incarnations wrote, for failure messages. */
  output(): string;
  /** Sends the signal and resolves with how the process ended. */
  kill(signal: NodeJS.Signals): Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Starts a new process on the same data dir and port (after the previous one exited). */
  restart(): Promise<void>;
  /** SIGTERM (then SIGKILL after 5 s) and remove the data dir when the harness created it. */
  stop(): Promise<void>;
}

const listeningLine = /broker listening on (\S+):(\d+)/;

function waitForListening(child: ChildProcess, log: { text: string }, timeoutMs: number): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => fail(new Error(`broker did not print "broker listening on" within ${timeoutMs} ms`)), timeoutMs);
    const onData = (d: Buffer): void => {
      buffered += d.toString();
      const m = listeningLine.exec(buffered);
      if (m) {
        cleanup();
        resolve({ host: m[1], port: Number(m[2]) });
      }
    };
    const onExit = (code: number | null, signal: NodeJS.Signals | null): void =>
      fail(new Error(`broker exited before listening (code ${code}, signal ${signal})`));
    const cleanup = (): void => {
      clearTimeout(timer);
      child.stdout?.off('data', onData);
      child.off('exit', onExit);
    };
    const fail = (err: Error): void => {
      cleanup();
      err.message += `\n--- broker output ---\n${log.text}`;
      reject(err);
    };
    child.stdout?.on('data', onData);
    child.once('exit', onExit);
  });
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) {
    return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  }
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

export async function spawnBroker(options: BrokerProcessOptions = {}): Promise<BrokerProcess> {
  const ownsDir = options.dataDir === undefined;
  const dataDir = options.dataDir ?? (await makeTempDir());
  const log = { text: '' };
  const startTimeoutMs = options.startTimeoutMs ?? 30_000;
  let port = options.port ?? 0;
  let host = '127.0.0.1';
  let child: ChildProcess;

  const launch = async (): Promise<void> => {
    const args = ['broker', '--port', String(port), '--data-dir', dataDir, '--group-min-session-timeout', String(TEST_MIN_SESSION_TIMEOUT_MS)];
    if (options.fsync) args.push('--fsync', options.fsync);
    args.push(...(options.extraArgs ?? []));
    child = spawnCli(args);
    const capture = (d: Buffer): void => { log.text += d.toString(); };
    child.stdout?.on('data', capture);
    child.stderr?.on('data', capture);
    const bound = await waitForListening(child, log, startTimeoutMs);
    host = bound.host;
    port = bound.port;
  };
  await launch();

  const handle: BrokerProcess = {
    dataDir,
    get host() { return host; },
    get port() { return port; },
    get address() { return `${host}:${port}`; },
    get child() { return child; },
    output: () => log.text,
    async kill(signal) {
      const done = exited(child);
      child.kill(signal);
      return done;
    },
    async restart() {
      if (child.exitCode === null && child.signalCode === null) {
        throw new Error('restart(): the previous broker process is still running; kill it first');
      }
      log.text += '\n--- restart ---\n';
      await launch();
    },
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        const done = exited(child);
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await done;
        clearTimeout(timer);
      }
      if (ownsDir) await rm(dataDir, { recursive: true, force: true });
    },
  };
  return handle;
}

// ---------------------------------------------------------------------------------------
// The Kafka target switch.

export interface KafkaTarget {
  /** Bootstrap addresses, "host:port". */
  readonly brokers: string[];
  /** True when KAFKA_BROKERS named an external cluster (tests must then use unique topic names). */
  readonly external: boolean;
  /** The dev broker when the target is local; undefined for an external cluster. */
  readonly broker: TestBroker | undefined;
  close(): Promise<void>;
}

/**
 * The cluster a Kafka-facing test talks to. With KAFKA_BROKERS="h1:9092,h2:9092" set, an
 * external cluster (real Kafka, Redpanda) is used as-is and nothing is started; otherwise a
 * fresh dev broker is started in-process on a free port. Both go through the same client
 * code path, so a suite that passes here can be re-run against real Kafka unchanged.
 */
export async function kafkaTarget(options: TestBrokerOptions = {}): Promise<KafkaTarget> {
  const external = process.env.KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter((s) => s.length > 0) ?? [];
  if (external.length > 0) {
    return { brokers: external, external: true, broker: undefined, close: async () => {} };
  }
  const broker = await startTestBroker(options);
  return { brokers: broker.brokers, external: false, broker, close: () => broker.close() };
}

/** Polls until check() returns a value other than undefined, or fails with describe() after timeoutMs. */
export async function waitFor<T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs: number, describe: () => string, intervalMs = 50): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms: ${describe()}`);
    await new Promise((r) => setTimeout(r, intervalMs));
  }
}
