/**
 * vitest globalSetup: a run directory for the shared real-Kafka cluster (started lazily by the
 * first Kafka-mode test file, see kafka.ts) and its teardown. Nothing starts here, so a run of
 * unit tests starts no JVM.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';
import type {} from './kafka.js';

const repoRoot = fileURLToPath(new URL('../..', import.meta.url));

let runDir: string | undefined;

export async function setup(project: TestProject): Promise<void> {
  runDir = await mkdtemp(join(tmpdir(), 'tributary-test-kafka-'));
  project.provide('tributaryKafka', { runDir, ownerPid: process.pid });
}

export async function teardown(): Promise<void> {
  if (runDir) await stopSharedKafka(runDir);
}

/** For the global teardown: whatever the starter started, stop it. */
async function stopSharedKafka(runDir: string): Promise<void> {
  const info = await readFile(join(runDir, 'result.json'), 'utf8').catch(() => undefined);
  // A starter still running when the run ends: wait for it so its cluster is not left behind.
  const starting = await stat(join(runDir, 'lock')).then(() => true, () => false);
  if (info === undefined && starting) {
    const deadline = Date.now() + 240_000;
    while (Date.now() < deadline && (await readFile(join(runDir, 'result.json'), 'utf8').catch(() => undefined)) === undefined) {
      await new Promise((r) => setTimeout(r, 500));
    }
  }
  const stop = join(runDir, 'stop.json');
  const how = await readFile(stop, 'utf8').then((t) => JSON.parse(t) as { script?: string; container?: string }).catch(() => undefined);
  if (how?.script) {
    await new Promise<void>((resolve) => {
      const child = spawn('bash', [join(repoRoot, 'scripts', 'kafka-cluster.sh'), 'down', '--data-dir', how.script!], { stdio: ['ignore', 'ignore', 'inherit'] });
      child.on('exit', () => resolve());
      child.on('error', () => resolve());
    });
  }
  if (how?.container) {
    // The starter process owns the container; it stops it when this file appears (see kafka-start.ts).
    await writeFile(join(runDir, 'stop-now'), '');
  }
  await rm(runDir, { recursive: true, force: true });
}
