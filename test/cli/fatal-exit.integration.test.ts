/**
 * A worker that fails for good exits: the error is reported and the process ends, even though a
 * Kafka client may still hold sockets or timers (seen on real Kafka: a failed worker lingered,
 * so a supervisor never restarted it).
 */
import { createServer } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startWorker, type Worker } from '../helpers/fleet.js';

let w: Worker | undefined;
let dir: string | undefined;

afterAll(async () => {
  if (w && w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  if (dir) await rm(dir, { recursive: true, force: true });
});

/** A port nothing listens on: bound, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

describe('tributary run after a fatal error', () => {
  it('exits 1 with the error once the Kafka retry bound is spent, instead of lingering', async () => {
    dir = await mkdtemp(join(tmpdir(), 'tributary-fatal-exit-'));
    const broker = `127.0.0.1:${await closedPort()}`;
    w = startWorker(
      ['topologies/loan-risk-features-kafka.yaml', '--app-id', 'fatal-exit', '--data-dir', join(dir, 'state'), '--quiet', '--kafka-retry-timeout', '2s'],
      { KAFKA_BROKERS: broker, TRIBUTARY_TOPIC: 'nowhere', TRIBUTARY_OUT: join(dir, 'out') },
    );
    const timer = setTimeout(() => w!.child.kill('SIGKILL'), 45_000);
    const r = await w.exited;
    clearTimeout(timer);
    expect(r, `the worker exits by itself; stderr tail:\n${w.stderr().slice(-2000)}`).toEqual({ code: 1, signal: null });
    expect(w.stderr()).toContain(broker);
  }, 60_000);
});
