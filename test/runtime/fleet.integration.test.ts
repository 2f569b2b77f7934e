/**
 * Issue 4 acceptance, against the dev broker: a fleet of `tributary run` workers in one consumer
 * group on a 6-partition topic runs loan-risk-features; one is killed -9 mid-stream and another
 * started later; the final outputs (last value per key) equal one uninterrupted worker's.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { uniqueName } from '../helpers/broker.js';
import { describeOnBrokers, type KafkaUnderTest } from '../helpers/kafka.js';
import { createTopic, diffCandidates, lastCandidates, lastValues, loadApplications, readAll, readRows, startWorker, type Worker } from '../helpers/fleet.js';

const TOPIC = uniqueName('loan-applications');
// App ids unique to this file: on real Kafka one cluster serves every file of the run.
const SUFFIX = uniqueName('fleet');
const named = (app: string): string => `${app}-${SUFFIX}`;
const SINKS = ['user_apply_10m', 'user_apply_1h', 'user_apply_24h', 'user_apply_3d'];

let broker: KafkaUnderTest;
let dir: string;

/** Per broker under test: a fresh output dir, the input topic and its records. */
async function setUp(kafka: KafkaUnderTest): Promise<void> {
  broker = kafka;
  dir = await mkdtemp(join(tmpdir(), 'tributary-fleet-'));
  await createTopic(broker.brokers, TOPIC, 6);
  await loadApplications(broker.brokers, TOPIC, join(dir, 'load'), { TRIBUTARY_DEMO_COUNT: '60000', TRIBUTARY_DEMO_USERS: '3000' });
}

async function tearDown(): Promise<void> {
  // Whatever happened, no worker outlives the test; their logs go next to the outputs.
  for (const [i, w] of started.entries()) {
    if (w.child.exitCode === null && w.child.signalCode === null) w.child.kill('SIGKILL');
    if (dir) await writeFile(join(dir, `worker-${i}.log`), w.stderr()).catch(() => undefined);
  }
  // FLEET_KEEP=1 keeps the outputs and every worker's log for a post-mortem.
  if (dir && !process.env.FLEET_KEEP) await rm(dir, { recursive: true, force: true });
  else if (dir) process.stderr.write(`fleet: outputs and worker logs kept in ${dir}\n`);
}

const started: Worker[] = [];

function worker(app: string, name: string, extra: string[] = []): Worker {
  const w = startWorker(
    ['topologies/loan-risk-features-kafka.yaml', '--app-id', named(app), '--data-dir', join(dir, app, name, 'state'), '--quiet', '--exit-when-idle', '12s', ...extra],
    { KAFKA_BROKERS: broker.brokers.join(','), TRIBUTARY_TOPIC: TOPIC, TRIBUTARY_OUT: join(dir, app, name, 'out'), TRIBUTARY_CHECKPOINT: '1s', TRIBUTARY_SESSION_TIMEOUT: '10s' },
  );
  started.push(w);
  return w;
}

// Kafka's default group.initial.rebalance.delay.ms: the three workers start together and should
// share the first generation, not race for it (a lone first member may drain the input alone).
const devOptions = { groupInitialRebalanceDelayMs: 3_000 };

describeOnBrokers('fleet', () => {
  describe('fleet', () => {
    it('3 workers, one killed -9 mid-stream and one started later, equal one uninterrupted worker', async () => {
      const refApp = 'ref';
      const app = 'fleet';
      const ref = worker(refApp, 'w0');
      const fleet = [worker(app, 'w1'), worker(app, 'w2'), worker(app, 'w3')];
      // Kill one mid-stream: once it has written some features, long before the input is done.
      const killedOut = join(dir, app, 'w1', 'out', 'user_apply_3d.jsonl');
      const deadline = Date.now() + 60_000;
      while ((await readRows(killedOut)).length < 500 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
      const atKill = (await readRows(killedOut)).length;
      fleet[0]!.child.kill('SIGKILL');
      expect(atKill, 'the killed worker had produced output').toBeGreaterThan(0);
      await new Promise((r) => setTimeout(r, 3000));
      const late = worker(app, 'w4');
      const results = await Promise.all([ref.exited, ...fleet.slice(1).map((w) => w.exited), late.exited]);
      for (const [i, r] of results.entries()) {
        const w = [ref, ...fleet.slice(1), late][i]!;
        expect(r.code, `worker ${i} exit; stderr tail:\n${w.stderr().slice(-3000)}`).toBe(0);
      }
      for (const sink of SINKS) {
        const want = lastValues(await readAll([join(dir, refApp, 'w0', 'out')], `${sink}.jsonl`), false);
        const perWorker = await Promise.all(['w1', 'w2', 'w3', 'w4'].map((n) => readAll([join(dir, app, n, 'out')], `${sink}.jsonl`)));
        expect(want.size, `${sink}: reference has output`).toBeGreaterThan(1000);
        expect(diffCandidates(want, lastCandidates(perWorker)), sink).toEqual([]);
      }
    }, 240_000);
  });
}, { setUp, tearDown, devOptions });
