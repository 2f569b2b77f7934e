/**
 * /metrics in Kafka mode, on the dev broker: consumer lag per input partition falls to 0 as a
 * worker drains the topic, and a worker that starts on an empty disk shows its tasks' restore
 * progress from the changelogs (restored ≈ target > 0 once ready).
 */
import { stepRegistry } from '../../src/operators/registry.js';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { silentLogger } from '../../src/core/logger.js';
import { Engine } from '../../src/runtime/engine.js';
import { startHealthServer } from '../../src/runtime/health.js';
import { runEngine } from '../../src/runtime/runner.js';
import { loadTopology } from '../../src/topology/index.js';
import { startTestBroker, type TestBroker } from '../helpers/broker.js';
import { createTopic, loadApplications } from '../helpers/fleet.js';
import { sample, scrapeUntil, seriesOf, type Samples } from '../helpers/metrics.js';
import { repoRoot } from '../helpers/cli.js';

const TOPIC = 'metrics-apps';
const APP = 'metrics-kafka';
const COUNT = 3000;

describe('/metrics in Kafka mode', () => {
  let broker: TestBroker;
  let dir: string;

  beforeAll(async () => {
    broker = await startTestBroker();
    dir = await mkdtemp(join(tmpdir(), 'trib-metrics-kafka-'));
    await createTopic(broker.brokers, TOPIC, 2);
    await loadApplications(broker.brokers, TOPIC, join(dir, 'load'), { TRIBUTARY_DEMO_COUNT: String(COUNT), TRIBUTARY_DEMO_USERS: '200' });
  }, 120_000);

  afterAll(async () => {
    await broker?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** One worker of the app on its own data dir, scraped while it drains the topic, then closed with a checkpoint. */
  async function worker(name: string, check: (scrapeUntilDone: (what: string, done: (s: Samples) => boolean) => Promise<Samples>) => Promise<void>): Promise<void> {
    const env = { ...process.env, KAFKA_BROKERS: broker.brokers.join(','), TRIBUTARY_TOPIC: TOPIC, TRIBUTARY_OUT: join(dir, name), TRIBUTARY_CHECKPOINT: '300ms', TRIBUTARY_SESSION_TIMEOUT: '6s' };
    const plan = await loadTopology(join(repoRoot, 'topologies', 'loan-risk-features-kafka.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env });
    const engine = await Engine.open(plan, { dataDir: join(dir, name, 'state'), logger: silentLogger, appId: APP, syncCheckpoints: false });
    const health = await startHealthServer(() => engine, 0, '127.0.0.1');
    const controller = new AbortController();
    const running = runEngine(engine, { signal: controller.signal });
    try {
      await check((what, done) => scrapeUntil(health.port, what, done));
    } finally {
      controller.abort();
      await running;
      await engine.close({ checkpoint: true });
      await health.close();
    }
  }

  const lagOf = (s: Samples) => seriesOf(s, 'tributary_consumer_lag_records');
  const t = '{topology="loan-risk-features"}';

  it('consumer lag per partition drains to 0; a fresh worker reports restore progress', async () => {
    await worker('w1', async (until) => {
      const first = await until('lag series for both partitions', (s) => lagOf(s).length === 2);
      expect(lagOf(first).map(([k]) => k).sort()).toEqual([0, 1].map((p) => `tributary_consumer_lag_records{partition="${p}",topic="${TOPIC}",topology="loan-risk-features"}`));
      const drained = await until('every input record read and a checkpoint after it', (s) =>
        sample(s, `tributary_records_in_total${t}`) >= COUNT && lagOf(s).every(([, v]) => v === 0) && sample(s, `tributary_checkpoints_total${t}`) >= 2);
      expect(sample(drained, `tributary_ready${t}`)).toBe(1);
      // This worker started on an empty changelog: nothing to restore.
      for (const [, v] of seriesOf(drained, 'tributary_restore_target_records')) expect(v).toBe(0);
    });
    // Same app id, empty disk: state comes back from the changelog topics.
    await worker('w2', async (until) => {
      const ready = await until('both tasks restored', (s) => seriesOf(s, 'tributary_restore_target_records').length === 2 && sample(s, `tributary_ready${t}`) === 1);
      for (const p of [0, 1]) {
        const labels = `{partition="${p}",topology="loan-risk-features"}`;
        const target = sample(ready, `tributary_restore_target_records${labels}`);
        expect(target).toBeGreaterThan(0);
        // The target is the changelogs' end offsets; transaction markers take offsets too, so a
        // complete restore may read a few records fewer than that.
        const restored = sample(ready, `tributary_restore_restored_records${labels}`);
        expect(restored).toBeGreaterThan(target * 0.9);
        expect(restored).toBeLessThanOrEqual(target);
      }
      for (const [, v] of lagOf(ready)) expect(v).toBe(0);
    });
  }, 180_000);
});
