/**
 * Test harness for Neo4j Community 5.26 (the graph sink's cypher dialect): the embedded DBMS from
 * Maven Central, run by scripts/neo4j/Neo4jLauncher.java with only Bolt, on a free port in a
 * fresh temp dir, never a shared server. stop()/kill() + start() bring it back on the same port
 * and dir (committed transactions survive both).
 *
 * Needs java + javac 17 and mvn (Debian: openjdk-17-jdk-headless, maven). The first run resolves
 * the classpath (~210 jars, downloaded from Maven Central into ~/.m2 once) and compiles the
 * launcher into ~/.cache/tributary/neo4j-<hash of pom and launcher>; later runs reuse both and
 * work offline. A start takes ~10-20 s (JVM + DBMS); the first resolution adds the download.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { homedir, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import neo4j, { type Driver } from 'neo4j-driver';
import { freePort } from './redis.js';
import { exited, isRunning, signalAndWait, useService } from './service.js';

export interface TestNeo4j {
  readonly port: number;
  /** bolt://127.0.0.1:<port> */
  readonly url: string;
  readonly user: string;
  readonly password: string;
  readonly dir: string;
  /** Runs a query on a harness-owned driver; rows as plain objects (integers as numbers). */
  query(cypher: string, params?: Record<string, unknown>): Promise<Array<Record<string, unknown>>>;
  /** (Re)start on the same port and dir; resolves when Bolt accepts the password. */
  start(): Promise<void>;
  /** SIGTERM (clean shutdown) and wait. */
  stop(): Promise<void>;
  /** SIGKILL and wait. */
  kill(): Promise<void>;
  /** Stop if running and remove the dir; idempotent. */
  close(): Promise<void>;
}

const HOST = '127.0.0.1';
const START_TIMEOUT_MS = 180_000;
const STOP_TIMEOUT_MS = 30_000;
const LAUNCHER_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '../../scripts/neo4j');
const PACKAGES = 'install the Debian packages "openjdk-17-jdk-headless" and "maven" (apt-get install openjdk-17-jdk-headless maven)';

function requireTool(tool: string): void {
  const probe = spawnSync(tool, ['-version'], { encoding: 'utf8' });
  if (probe.error) throw new Error(`${tool} not found: ${PACKAGES}`);
}

function run(cmd: string, args: string[], what: string): Promise<void> {
  return new Promise((resolveRun, reject) => {
    const proc = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    proc.stdout.on('data', (d: Buffer) => { out += d.toString(); });
    proc.stderr.on('data', (d: Buffer) => { out += d.toString(); });
    proc.once('error', (err) => reject(new Error(`${what}: ${err.message}; ${PACKAGES}`)));
    proc.once('exit', (code) => (code === 0 ? resolveRun() : reject(new Error(`${what} failed (exit ${code}):\n${out.slice(-4000)}`))));
  });
}

/** The launcher's classpath and compiled class, built once per pom/launcher version. */
async function launcherClasspath(): Promise<string> {
  const pom = join(LAUNCHER_DIR, 'pom.xml');
  const source = join(LAUNCHER_DIR, 'Neo4jLauncher.java');
  const hash = createHash('sha256').update(await readFile(pom)).update(await readFile(source)).digest('hex').slice(0, 16);
  const cache = join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'tributary', `neo4j-${hash}`);
  const done = join(cache, 'classpath.txt');
  if (!existsSync(done)) {
    for (const tool of ['java', 'javac', 'mvn']) requireTool(tool);
    // Several test files may build at once: each builds in its own dir and the first rename wins.
    const work = `${cache}.${process.pid}.${randomBytes(4).toString('hex')}`;
    await mkdir(join(work, 'classes'), { recursive: true });
    process.stderr.write('neo4j harness: resolving Neo4j from Maven Central (first run downloads ~150 MB into ~/.m2)...\n');
    await run('mvn', ['-B', '-q', '-f', pom, 'dependency:build-classpath', `-Dmdep.outputFile=${join(work, 'deps.txt')}`], 'mvn dependency:build-classpath');
    const deps = (await readFile(join(work, 'deps.txt'), 'utf8')).trim();
    process.stderr.write('neo4j harness: compiling the launcher...\n');
    await run('javac', ['-cp', deps, '-d', join(work, 'classes'), source], 'javac Neo4jLauncher.java');
    await writeFile(join(work, 'classpath.txt'), `${join(cache, 'classes')}:${deps}`);
    await rename(work, cache).catch(async () => { await rm(work, { recursive: true, force: true }); });
  }
  return (await readFile(done, 'utf8')).trim();
}

export async function startNeo4j(): Promise<TestNeo4j> {
  requireTool('java');
  const classpath = await launcherClasspath();
  const dir = await mkdtemp(join(tmpdir(), 'tributary-neo4j-'));
  const password = randomBytes(12).toString('hex');
  let port = await freePort();
  let child: ChildProcess | undefined;
  let log = '';
  let closed = false;
  let driver: Driver | undefined;

  const launch = async (): Promise<void> => {
    const started = Date.now();
    // C1 only: the two graph files took 110 s of CPU with C2's compiler threads, 63 s without.
    const proc = spawn('java', ['-Xmx512m', '-XX:+UseSerialGC', '-XX:TieredStopAtLevel=1', '-cp', classpath, 'Neo4jLauncher', dir, String(port), password],
      { stdio: ['ignore', 'pipe', 'pipe'] });
    child = proc;
    await new Promise<void>((resolveStart, reject) => {
      const timer = setTimeout(() => {
        proc.kill('SIGKILL');
        reject(new Error(`neo4j did not start within ${START_TIMEOUT_MS} ms\n--- output ---\n${log.slice(-4000)}`));
      }, START_TIMEOUT_MS);
      const capture = (d: Buffer): void => {
        log += d.toString();
        if (log.includes(`NEO4J READY ${port}`)) {
          clearTimeout(timer);
          resolveStart();
        }
      };
      proc.stdout?.on('data', capture);
      proc.stderr?.on('data', (d: Buffer) => { log += d.toString(); });
      proc.once('error', (err) => { clearTimeout(timer); reject(new Error(`could not start java: ${err.message}; ${PACKAGES}`)); });
      proc.once('exit', (code) => {
        clearTimeout(timer);
        reject(new Error(`neo4j exited before it was ready (code ${code})\n--- output ---\n${log.slice(-4000)}`));
      });
    });
    process.stderr.write(`neo4j harness: started on ${HOST}:${port} in ${Date.now() - started} ms\n`);
  };

  // The free port may be taken between freePort() and bind: retry the first start on a new one.
  for (let attempt = 0; ; attempt++) {
    try {
      await launch();
      break;
    } catch (err) {
      await signalAndWait(child, 'SIGKILL', STOP_TIMEOUT_MS);
      if (!/Address already in use|BindException/i.test(log) || attempt >= 3) {
        await rm(dir, { recursive: true, force: true });
        throw err;
      }
      log = '';
      port = await freePort();
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir, { recursive: true });
    }
  }

  const getDriver = (): Driver => {
    driver ??= neo4j.driver(`bolt://${HOST}:${port}`, neo4j.auth.basic('neo4j', password), { disableLosslessIntegers: true, maxTransactionRetryTime: 0 });
    return driver;
  };

  return {
    get port() { return port; },
    get url() { return `bolt://${HOST}:${port}`; },
    user: 'neo4j',
    password,
    dir,
    async query(cypher, params = {}) {
      const result = await getDriver().executeQuery(cypher, params);
      return result.records.map((r) => r.toObject());
    },
    async start() {
      if (closed) throw new Error('TestNeo4j.start(): already closed');
      if (isRunning(child)) return;
      log += '\n--- restart ---\n';
      await launch();
    },
    stop: () => signalAndWait(child, 'SIGTERM', STOP_TIMEOUT_MS),
    kill: () => signalAndWait(child, 'SIGKILL', STOP_TIMEOUT_MS),
    async close() {
      if (closed) return;
      closed = true;
      await driver?.close().catch(() => undefined);
      await signalAndWait(child, 'SIGTERM', STOP_TIMEOUT_MS);
      if (child) await exited(child);
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Registers beforeAll/afterAll for one Neo4j shared by a describe block; call the getter inside tests. */
export function useNeo4j(): () => TestNeo4j {
  // A JVM start on a busy machine (and the first Maven resolution) outlasts the default hook timeout.
  return useService('useNeo4j(): neo4j', startNeo4j, 10 * 60_000);
}
