/**
 * Against the dev broker (or KAFKA_BROKERS), Kafka mode: a record a sink refuses for good goes to
 * the dlq with the Kafka topic, partition and offset it was read from.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { compileTopology } from '../../src/topology/index.js';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { KafkaClient } from '../../src/kafka/client.js';
import { Engine } from '../../src/runtime/engine.js';
import { runEngine } from '../../src/runtime/runner.js';
import { silentLogger } from '../../src/core/logger.js';
import type { Row } from '../../src/core/record.js';
import type { Sink } from '../../src/connectors/types.js';
import { MemorySink } from '../../src/testing/memory.js';
import { kafkaTarget, uniqueName, type KafkaTarget } from '../helpers/broker.js';
import { RefusingSink } from '../helpers/refusing-sink.js';
import { stepRegistry } from '../../src/operators/registry.js';

const T0 = Date.parse('2026-11-01T00:00:00Z');

let target: KafkaTarget;
let client: KafkaClient;
let dir: string;

beforeAll(async () => {
  target = await kafkaTarget();
  client = await createKafkaClient({ brokers: target.brokers, clientId: 'sink-dlq-test' });
  await client.connect();
  dir = await mkdtemp(join(tmpdir(), 'tributary-sink-dlq-'));
}, 30_000);

afterAll(async () => {
  await client?.disconnect();
  await target?.close();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('records a sink rejects for good, Kafka input', () => {
  it('reach the dlq with the topic, partition and offset they were read from', async () => {
    const app = uniqueName('sink-dlq');
    const topic = uniqueName('sink-dlq-events');
    await client.admin.createTopics([{ topic, partitions: 2 }]);
    const producer = await client.producer();
    const refused: Array<{ row: Row; partition: number; offset: number }> = [];
    for (let i = 0; i < 8; i++) {
      const row: Row = { user_id: i % 3 === 0 ? 'mallory' : `u${i}`, ts: T0 + i };
      const partition = i % 2;
      const [batch] = await producer.send(topic, [{ key: Buffer.from(`k${i}`), value: Buffer.from(JSON.stringify(row)), partition, timestamp: T0 + i }], { acks: 'all' });
      if (row.user_id === 'mallory') refused.push({ row, partition, offset: Number(batch!.baseOffset) });
    }

    const plan = compileTopology(`apiVersion: tributary/v1
kind: Topology
metadata: { name: sink-dlq-kafka }
spec:
  checkpoint: { interval: 1s }
  sources:
    events:
      kafka: { brokers: "${target.brokers.join(',')}", topic: "${topic}", sessionTimeout: 4s }
      eventTime: { field: ts, idleTimeout: 1s }
  pipeline:
    - { id: valid, from: events, filter: "user_id != null" }
  sinks:
    rows: { from: valid, stdout: {} }
    dead: { from: dlq, stdout: {} }
`, join(dir, 'sink-dlq.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    const rows = new RefusingSink('rows', (row) => (row.user_id === 'mallory' ? 'value refused' : undefined));
    const dead = new MemorySink('dead');
    const engine = await Engine.open(plan, { dataDir: join(dir, app), appId: app, logger: silentLogger, sinks: new Map<string, Sink>([['rows', rows], ['dead', dead]]) });
    try {
      const result = await runEngine(engine, { exitWhenIdleMs: 3000 });
      expect(result.reason).toBe('idle');
    } finally {
      await engine.close({ checkpoint: true });
    }

    expect(rows.rows).toHaveLength(8 - refused.length);
    const byPosition = (a: Row, b: Row) => Number(a.partition) - Number(b.partition) || Number(a.offset) - Number(b.offset);
    expect(dead.records.map((r) => r.value).sort(byPosition)).toEqual(
      refused.map(({ row, partition, offset }) => ({ reason: 'value refused', error_code: 'TRIB_SINK', step: 'rows', source: 'events', topic, partition, offset, record: row })).sort(byPosition),
    );
  }, 60_000);
});
