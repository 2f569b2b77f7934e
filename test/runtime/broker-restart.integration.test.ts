/**
 * Issue 12 (riding out broker faults), on the dev broker: three workers of one group run
 * loan-risk-features while their broker (a child process) is killed -9 and restarted 1.5 s
 * later on the same port and data dir. No worker may exit for it: connection loss, refused
 * connections and the group coordinator coming back are retried until --kafka-retry-timeout.
 * The final outputs (last value per key) equal one uninterrupted worker's, run against a
 * broker of its own loaded with the same input.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnBroker, startTestBroker, type BrokerProcess, type TestBroker } from '../helpers/broker.js';
import { createTopic, diffCandidates, lastCandidates, lastValues, loadApplications, readAll, readRows, startWorker, type Worker } from '../helpers/fleet.js';

const TOPIC = 'loan-applications';
const SINKS = ['user_apply_10m', 'user_apply_1h', 'user_apply_24h', 'user_apply_3d'];
const LOAD = { TRIBUTARY_DEMO_COUNT: '30000', TRIBUTARY_DEMO_USERS: '2000' };

let killed: BrokerProcess;
let reference: TestBroker;
let dir: string;
const started: Worker[] = [];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'tributary-broker-restart-'));
  [killed, reference] = await Promise.all([spawnBroker(), startTestBroker()]);
  await Promise.all([killed.address, reference.brokers[0]!].map(async (address, i) => {
    await createTopic([address], TOPIC, 6);
    await loadApplications([address], TOPIC, join(dir, `load-${i}`), LOAD);
  }));
}, 180_000);

afterAll(async () => {
  for (const [i, w] of started.entries()) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    if (dir) await writeFile(join(dir, `worker-${i}.log`), w.stderr()).catch(() => undefined);
  }
  await killed?.stop();
  await reference?.close();
  if (dir && !process.env.FLEET_KEEP) await rm(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`broker-restart: outputs and worker logs kept in ${dir}\n`);
});

function worker(brokers: string, app: string, name: string): Worker {
  const w = startWorker(
    ['topologies/loan-risk-features-kafka.yaml', '--app-id', app, '--data-dir', join(dir, app, name, 'state'), '--quiet', '--exit-when-idle', '12s'],
    { KAFKA_BROKERS: brokers, TRIBUTARY_TOPIC: TOPIC, TRIBUTARY_OUT: join(dir, app, name, 'out'), TRIBUTARY_CHECKPOINT: '1s', TRIBUTARY_SESSION_TIMEOUT: '10s' },
  );
  started.push(w);
  return w;
}

describe('a dev broker killed -9 and restarted under a running fleet', () => {
  it('no worker exits; the outputs equal one uninterrupted worker\'s', async () => {
    const ref = worker(reference.brokers.join(','), 'ref', 'w0');
    // The workers join one at a time, each once the one before holds tasks: the group is at
    // generation 3 or more when the broker dies. The restarted broker has forgotten the group
    // and counts generations from 1 again, below those the changelogs were written in: the
    // restores after the restart must still apply what the new generations wrote.
    const deadline = Date.now() + 90_000;
    const fleet: Worker[] = [];
    for (const n of ['w1', 'w2', 'w3']) {
      const w = worker(killed.address, 'fleet', n);
      fleet.push(w);
      while (!w.stderr().includes('"msg":"task assigned"') && w.child.exitCode === null && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    }
    // Kill once the fleet is well into the input (outputs written, checkpoints taken).
    const outs = ['w1', 'w2', 'w3'].map((n) => join(dir, 'fleet', n, 'out', 'user_apply_3d.jsonl'));
    const written = async (): Promise<number> => (await Promise.all(outs.map(readRows))).reduce((n, rows) => n + rows.length, 0);
    while ((await written()) < 3_000 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    expect(await written(), 'the fleet had written output before the kill').toBeGreaterThan(0);
    expect((await killed.kill('SIGKILL')).signal).toBe('SIGKILL');
    await new Promise((r) => setTimeout(r, 1_500));
    await killed.restart();

    const results = await Promise.all([ref, ...fleet].map((w) => w.exited));
    for (const [i, r] of results.entries()) {
      expect(r.code, `worker ${i} exit; stderr tail:\n${[ref, ...fleet][i]!.stderr().slice(-3000)}`).toBe(0);
    }
    // The outage was noticed (one warning per outage, not one per retry) and ridden out.
    const logs = fleet.map((w) => w.stderr()).join('\n');
    expect(logs).toMatch(/kafka unavailable; retrying/);
    for (const sink of SINKS) {
      const want = lastValues(await readAll([join(dir, 'ref', 'w0', 'out')], `${sink}.jsonl`), false);
      const perWorker = await Promise.all(['w1', 'w2', 'w3'].map((n) => readAll([join(dir, 'fleet', n, 'out')], `${sink}.jsonl`)));
      expect(want.size, `${sink}: reference has output`).toBeGreaterThan(500);
      expect(diffCandidates(want, lastCandidates(perWorker)), sink).toEqual([]);
    }
  }, 300_000);
});
