/**
 * The one Kafka harness entry for the Kafka-mode suites: `describeOnBrokers(title, body)` runs a
 * describe block once per broker under test ("<title> on <broker>"), with its Kafka up before the
 * block's own hooks run. Underneath: `kafkaBackends()` lists the brokers, `useKafka(backend)` gives
 * a describe block its cluster.
 *
 * Which real Kafka (first match wins):
 *   KAFKA_BROKERS=h:p,...             that cluster, as-is (nothing started or stopped);
 *   TRIBUTARY_TEST_KAFKA=testcontainers  `@testcontainers/kafka` (needs a container engine;
 *                                        unverified on our machines, which have none: fails, never skips);
 *   otherwise                          one Apache Kafka node from scripts/kafka-cluster.sh (Java +
 *                                        Maven), started once per vitest run on first use and shared by
 *                                        every file; stopped by the global teardown, and by the script's
 *                                        --owner-pid watchdog when the run is killed.
 * TRIBUTARY_TEST_KAFKA=dev runs the suites on the dev broker only; =kafka on real Kafka only.
 * Tests on a shared cluster use unique topic, group and app names (`uniqueName`).
 */
import { spawn } from 'node:child_process';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, inject } from 'vitest';
import { startTestBroker, type TestBroker, type TestBrokerOptions } from './broker.js';

export type KafkaBackendKind = 'kafka' | 'dev';

export interface KafkaBackend {
  readonly kind: KafkaBackendKind;
  /** For test titles: "real Kafka (...)" or "the dev broker". */
  readonly name: string;
}

export interface KafkaUnderTest {
  readonly kind: KafkaBackendKind;
  readonly name: string;
  /** Bootstrap addresses, "host:port". */
  readonly brokers: string[];
  /** The dev broker (restartable) on the dev backend; undefined on real Kafka. */
  readonly devBroker: TestBroker | undefined;
}

declare module 'vitest' {
  export interface ProvidedContext {
    /** Set by test/helpers/kafka-global-setup.ts: where the shared real-Kafka cluster lives. */
    tributaryKafka: { runDir: string; ownerPid: number };
  }
}

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

function externalBrokers(): string[] {
  return process.env.KAFKA_BROKERS?.split(',').map((s) => s.trim()).filter((s) => s.length > 0) ?? [];
}

function realKafkaName(): string {
  if (externalBrokers().length > 0) return 'real Kafka (KAFKA_BROKERS)';
  if (process.env.TRIBUTARY_TEST_KAFKA === 'testcontainers') return 'real Kafka (testcontainers; unverified here: no container engine on this machine)';
  return 'real Kafka (scripts/kafka-cluster.sh)';
}

/** The brokers the Kafka-mode suites run against, for `describe.each(kafkaBackends())('... on $name', ...)`. */
export function kafkaBackends(): KafkaBackend[] {
  const mode = process.env.TRIBUTARY_TEST_KAFKA ?? '';
  const real: KafkaBackend = { kind: 'kafka', name: realKafkaName() };
  const dev: KafkaBackend = { kind: 'dev', name: 'the dev broker' };
  if (mode === 'dev') return [dev];
  if (mode === 'kafka') return [real];
  if (mode !== '' && mode !== 'testcontainers') throw new Error(`TRIBUTARY_TEST_KAFKA=${mode}: expected dev, kafka or testcontainers`);
  return [real, dev];
}

/** The test file on the current call stack (for the timings line). */
const callingTestFile = (): string | undefined => /[\w./-]*test\/[\w./-]+\.test\.ts/.exec(new Error().stack ?? '')?.[0].replace(/^.*?(?=test\/)/, '');

/**
 * Registers beforeAll/afterAll giving the describe block its Kafka: a fresh dev broker (with
 * `devOptions`) per block, or the run's shared real cluster. Call the getter inside tests and hooks.
 */
export function useKafka(backend: KafkaBackend, devOptions: TestBrokerOptions = {}, testFile?: string): () => KafkaUnderTest {
  let kafka: KafkaUnderTest | undefined;
  let began = 0;
  const file = testFile ?? callingTestFile() ?? 'unknown';
  beforeAll(async () => {
    began = Date.now();
    if (backend.kind === 'dev') {
      const broker = await startTestBroker(devOptions);
      kafka = { kind: 'dev', name: backend.name, brokers: broker.brokers, devBroker: broker };
    } else {
      kafka = { kind: 'kafka', name: backend.name, brokers: await realKafkaBrokers(), devBroker: undefined };
    }
  }, 240_000);
  afterAll(async () => {
    await kafka?.devBroker?.close();
    // Registered first, so it runs last: the block's whole time, hooks included (how long each
    // broker's half of a file takes; README "The Kafka-mode suites on both brokers").
    const timings = process.env.TRIBUTARY_KAFKA_TIMINGS;
    if (timings) await appendFile(timings, `${JSON.stringify({ file, broker: backend.kind, ms: Date.now() - began })}\n`);
  });
  return () => {
    if (!kafka) throw new Error(`useKafka(${backend.name}): not started (call the getter inside a test or hook)`);
    return kafka;
  };
}

export interface OnBrokersOptions {
  /** For the dev broker each block starts. */
  devOptions?: TestBrokerOptions;
  /** Once the block's Kafka is up, before its tests (e.g. topics, inputs, output dirs). */
  setUp?: (kafka: KafkaUnderTest) => Promise<void>;
  /** Default 240 s: loading a suite's input on a loaded machine. */
  setUpTimeoutMs?: number;
  /** After the block's tests (kill what the tests started, remove temp dirs). */
  tearDown?: () => Promise<void>;
}

/**
 * `describe('<title> on <broker>')` once per broker of kafkaBackends(), each with its Kafka
 * (useKafka) and the suite's setUp/tearDown around it. `body` gets the block's Kafka getter
 * (call it inside tests and hooks) and the backend.
 */
export function describeOnBrokers(title: string, body: (kafka: () => KafkaUnderTest, backend: KafkaBackend) => void, options: OnBrokersOptions = {}): void {
  // Vitest runs the describe body later, from its collector: the test file is on the stack only now.
  const file = callingTestFile();
  describe.each(kafkaBackends())(`${title} on $name`, (backend) => {
    const kafka = useKafka(backend, options.devOptions, file);
    const { setUp, tearDown } = options;
    if (setUp) beforeAll(() => setUp(kafka()), options.setUpTimeoutMs ?? 240_000);
    if (tearDown) afterAll(tearDown);
    body(kafka, backend);
  });
}

let shared: Promise<string[]> | undefined;

/** The real cluster's bootstrap list; starts the shared one on first use in this run. */
export function realKafkaBrokers(): Promise<string[]> {
  shared ??= resolveRealKafka();
  return shared;
}

async function resolveRealKafka(): Promise<string[]> {
  const external = externalBrokers();
  if (external.length > 0) return external;
  const { runDir, ownerPid } = inject('tributaryKafka');
  if (process.env.TRIBUTARY_TEST_KAFKA === 'testcontainers') return sharedStart(runDir, 'testcontainers', ownerPid);
  return sharedStart(runDir, 'script', ownerPid);
}

/**
 * One start per run, whichever test file asks first (files run in parallel worker processes):
 * `mkdir` of the lock dir is atomic, its winner launches a detached starter that writes
 * `result.json`; everyone polls for it. Detached, so the starter outlives the worker that began it.
 */
async function sharedStart(runDir: string, how: 'script' | 'testcontainers', ownerPid: number): Promise<string[]> {
  const result = join(runDir, 'result.json');
  let winner = false;
  try {
    await mkdir(join(runDir, 'lock'));
    winner = true;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  }
  if (winner) {
    const starter = join(repoRoot, 'test', 'helpers', 'kafka-start.ts');
    const child = spawn(process.execPath, ['--import', 'tsx', starter, how, runDir, String(ownerPid)], {
      cwd: repoRoot,
      detached: true,
      stdio: 'ignore',
    });
    child.unref();
  }
  const deadline = Date.now() + 300_000;
  for (;;) {
    const text = await readFile(result, 'utf8').catch(() => undefined);
    if (text !== undefined) {
      const r = JSON.parse(text) as { brokers?: string[]; error?: string };
      if (r.brokers) return r.brokers;
      throw new Error(`real Kafka did not start: ${r.error ?? 'no reason given'}`);
    }
    if (Date.now() > deadline) {
      const log = await readFile(join(runDir, 'start.log'), 'utf8').catch(() => '');
      throw new Error(`real Kafka did not start within 300 s; starter log:\n${log.slice(-3000)}`);
    }
    await new Promise((r) => setTimeout(r, 250));
  }
}
