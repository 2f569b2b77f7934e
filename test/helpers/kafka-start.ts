/**
 * Starts the run's shared real Kafka, detached from the test worker that asked first (see
 * kafka.ts `sharedStart`): `node --import tsx kafka-start.ts script|testcontainers RUN_DIR OWNER_PID`.
 * Writes RUN_DIR/result.json ({brokers} or {error}) and RUN_DIR/stop.json (how to stop it).
 */
import { spawn } from 'node:child_process';
import { appendFile, access, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NODE_JVM_OPTS, TEST_MIN_SESSION_TIMEOUT_MS } from './kafka-test-tuning.js';

const [how, runDir, ownerPidText] = process.argv.slice(2) as [string, string, string];
const ownerPid = Number(ownerPidText);
const repoRoot = fileURLToPath(new URL('../..', import.meta.url));
const log = (line: string): Promise<void> => appendFile(join(runDir, 'start.log'), line);

async function viaScript(): Promise<string[]> {
  const dataDir = join(runDir, 'cluster');
  await writeFile(join(runDir, 'stop.json'), JSON.stringify({ script: dataDir }));
  const child = spawn('bash', [join(repoRoot, 'scripts', 'kafka-cluster.sh'), 'up', '--brokers', '1', '--data-dir', dataDir, '--owner-pid', String(ownerPid),
    '--broker-config', `group.min.session.timeout.ms=${TEST_MIN_SESSION_TIMEOUT_MS}`,
    // The suites' generated records carry event timestamps weeks back (2026-11-01 on): with the
    // broker's default 7-day time retention, its periodic check (every 5 min) deletes the input of
    // whichever suite runs then, under its workers ("offset ... out of range").
    '--broker-config', 'log.retention.ms=-1'], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
    // C1 only, as the fault tests' cluster (kafka-cluster.ts): half the CPU to start.
    env: { ...process.env, KAFKA_HEAP_OPTS: NODE_JVM_OPTS },
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => { out += d.toString(); void log(d.toString()); });
  child.stderr.on('data', (d: Buffer) => void log(d.toString()));
  const code = await new Promise<number | null>((resolve) => {
    child.on('exit', (c) => resolve(c));
    child.on('error', (err) => { void log(`${err.message}\n`); resolve(-1); });
  });
  const m = /KAFKA_BROKERS=(\S+)\s*$/.exec(out);
  if (code !== 0 || !m) throw new Error(`scripts/kafka-cluster.sh up exited ${code}; see ${join(runDir, 'start.log')}`);
  return m[1]!.split(',');
}

async function viaTestcontainers(): Promise<string[]> {
  // Optional: present only where someone installed it for a machine with a container engine.
  const moduleName = '@testcontainers/kafka';
  let mod: { KafkaContainer: new (image: string) => { withKraft(): unknown; start(): Promise<{ getHost(): string; getMappedPort(p: number): number; stop(): Promise<unknown> }> } };
  try {
    mod = (await import(moduleName)) as typeof mod;
  } catch (err) {
    // Not installed, or (as with its current release on Node 20) not loadable here.
    throw new Error(`TRIBUTARY_TEST_KAFKA=testcontainers: cannot load ${moduleName} (${(err as Error).message.split('\n')[0]}); it needs \`npm install --no-save ${moduleName}\`, a Node version it supports and a container engine (Docker or Podman); this path is unverified on this project's machines`);
  }
  let container;
  try {
    const c = new mod.KafkaContainer('confluentinc/cp-kafka:7.9.0');
    c.withKraft();
    container = await c.start();
  } catch (err) {
    throw new Error(`TRIBUTARY_TEST_KAFKA=testcontainers: no container engine reachable (${(err as Error).message}); this path is unverified on this project's machines`);
  }
  await writeFile(join(runDir, 'stop.json'), JSON.stringify({ container: true }));
  const started = container;
  // Keep the container (testcontainers reaps it when this process exits) until the teardown or the owner goes.
  void (async () => {
    for (;;) {
      await new Promise((r) => setTimeout(r, 1000));
      const stopNow = await access(join(runDir, 'stop-now')).then(() => true, () => false);
      let ownerAlive = true;
      try { process.kill(ownerPid, 0); } catch { ownerAlive = false; }
      if (stopNow || !ownerAlive) break;
    }
    await started.stop().catch(() => undefined);
    process.exit(0);
  })();
  return [`${started.getHost()}:${started.getMappedPort(9093)}`];
}

/** result.json appears whole or not at all: the test files poll it and parse what they read. */
async function writeResult(result: { brokers: string[] } | { error: string }): Promise<void> {
  const tmp = join(runDir, 'result.json.tmp');
  await writeFile(tmp, JSON.stringify(result));
  await rename(tmp, join(runDir, 'result.json'));
}

try {
  const brokers = how === 'testcontainers' ? await viaTestcontainers() : await viaScript();
  await writeResult({ brokers });
} catch (err) {
  await log(`${(err as Error).message}\n`);
  await writeResult({ error: (err as Error).message });
  process.exit(1);
}
