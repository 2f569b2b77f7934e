/**
 * Issue 11 defect: a worker started before its source topic exists waits for it (a log line,
 * /readyz 503) as it waits for a broker, instead of exiting 1 — a fresh deployment of cdc and
 * workers must not crash-loop. Once the topic is created and filled, the worker processes it.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestBroker, waitFor, type TestBroker } from '../helpers/broker.js';
import { createTopic, produceRows, readRows, startWorker, type Worker } from '../helpers/fleet.js';
import { partitionForKey } from '../../src/core/partitioner.js';

let broker: TestBroker;
let dir: string;
let w: Worker | undefined;

beforeAll(async () => {
  broker = await startTestBroker();
  dir = await mkdtemp(join(tmpdir(), 'tributary-missing-topic-'));
});

afterAll(async () => {
  if (w && w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
  await broker?.close();
  await rm(dir, { recursive: true, force: true });
});

async function readyz(port: number): Promise<number> {
  const res = await fetch(`http://127.0.0.1:${port}/readyz`);
  await res.text();
  return res.status;
}

describe('a worker started before its source topic exists', () => {
  it('waits with a log line and /readyz 503, then processes the topic once it exists', async () => {
    const topic = 'created-later';
    w = startWorker(
      ['topologies/loan-risk-features-kafka.yaml', '--app-id', 'late-topic', '--data-dir', join(dir, 'state'), '--quiet', '--exit-when-idle', '8s', '--health-port', '0'],
      { KAFKA_BROKERS: broker.brokers.join(','), TRIBUTARY_TOPIC: topic, TRIBUTARY_OUT: join(dir, 'out'), TRIBUTARY_CHECKPOINT: '1s' },
    );
    const worker = w;
    await waitFor(() => (/waiting for kafka topic/.test(worker.stderr()) ? true : undefined), 60_000, () => `no waiting line; exit ${worker.child.exitCode}; stderr:\n${worker.stderr().slice(-2000)}`);
    expect(worker.stderr()).toContain(topic);
    // One JSON log line names the port (field order is the logger's business, not the test's).
    const line = worker.stderr().split('\n').find((l) => l.includes('"health endpoints'));
    const port = Number((line === undefined ? {} : (JSON.parse(line) as { port?: number })).port);
    expect(port, `health port in the log:\n${worker.stderr().slice(-2000)}`).toBeGreaterThan(0);
    expect(await readyz(port)).toBe(503);
    // Still waiting a while later: not an exit, not a crash loop.
    await new Promise((r) => setTimeout(r, 2_000));
    expect(worker.child.exitCode).toBeNull();
    expect(worker.stderr().match(/waiting for kafka topic/g)?.length, 'one line per wait, not one per poll').toBe(1);

    // Created and filled in one go, so the worker's --exit-when-idle cannot run out in between.
    await createTopic(broker.brokers, topic, 6);
    const t0 = Date.parse('2026-01-05T10:00:00Z');
    const rows = Array.from({ length: 600 }, (_, i) => {
      const user = `u${i % 50}`;
      return { partition: partitionForKey(Buffer.from(user), 6), key: user, value: { user_id: user, amount: 100 + i, device_id: `d${i % 7}`, applied_at: t0 + i * 1_000 } };
    });
    await produceRows(broker.brokers, topic, rows);
    const exit = await worker.exited;
    expect(exit.code, `exit; stderr tail:\n${worker.stderr().slice(-3000)}`).toBe(0);
    const out = await readRows(join(dir, 'out', 'user_apply_3d.jsonl'));
    // Every application counted: each user's last 3-day count is its number of applications.
    const last = new Map(out.map((r) => [String(r.key), Number(r.apply_cnt_3d)]));
    expect(last.size).toBe(50);
    expect([...last.values()].every((n) => n === 12)).toBe(true);
  }, 180_000);
});
