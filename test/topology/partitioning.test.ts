/**
 * The plan decides which keyBy steps repartition, and `tributary plan` shows exactly that
 * (the runtime creates a repartition topic only for those: src/runtime/kafka-tasks.ts).
 */
import { describe, expect, it } from 'vitest';
import { join } from 'node:path';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { stepRegistry } from '../../src/operators/registry.js';
import { compileTopology, loadTopology, describePlan, subTopologies } from '../../src/topology/index.js';
import type { KeyByStep } from '../../src/topology/plan.js';

const kafkaTopology = (pipeline: string, partitionKey = 'user_id') => `apiVersion: tributary/v1
kind: Topology
metadata: { name: parts }
spec:
  sources:
    events:
      kafka: { brokers: "127.0.0.1:9092", topic: events${partitionKey ? `, partitionKey: ${partitionKey}` : ''} }
      eventTime: { field: ts }
  pipeline:
${pipeline}
  sinks:
    out: { from: last, stdout: {} }
`;

function repartitions(text: string): Record<string, boolean> {
  const plan = compileTopology(text, '<inline>', { catalog: connectorCatalog, steps: stepRegistry, env: {} });
  return Object.fromEntries(plan.steps.filter((s): s is KeyByStep => s.kind === 'keyBy').map((s) => [s.id, s.repartition]));
}

describe('which keyBy steps repartition (decided in the plan)', () => {
  it('a keyBy on the input topic\'s partitionKey, through filters, needs no repartition', () => {
    expect(repartitions(kafkaTopology(`    - { id: valid, from: events, filter: "amount > 0" }
    - { id: last, from: valid, keyBy: user_id }`))).toEqual({ last: false });
  });

  it('a keyBy on another key, or on a source without a declared partitionKey, repartitions', () => {
    expect(repartitions(kafkaTopology('    - { id: last, from: events, keyBy: device_id }'))).toEqual({ last: true });
    expect(repartitions(kafkaTopology('    - { id: last, from: events, keyBy: user_id }', ''))).toEqual({ last: true });
  });

  it('after a repartition by another key, a keyBy on the topic\'s key repartitions again (records now live by device)', () => {
    expect(repartitions(kafkaTopology(`    - { id: by_device, from: events, keyBy: device_id }
    - { id: last, from: by_device, keyBy: user_id }`))).toEqual({ by_device: true, last: true });
  });

  it('a second keyBy on the key the first one repartitioned by stays in its task', () => {
    expect(repartitions(kafkaTopology(`    - { id: by_device, from: events, keyBy: device_id }
    - { id: again, from: by_device, filter: "true" }
    - { id: last, from: again, keyBy: device_id }`))).toEqual({ by_device: true, last: false });
  });

  it('a map that rewrites the partition key field loses the partitioning; one that leaves it keeps it', () => {
    expect(repartitions(kafkaTopology(`    - { id: m, from: events, map: { set: { user_id: "lower(user_id)" } } }
    - { id: last, from: m, keyBy: user_id }`))).toEqual({ last: true });
    expect(repartitions(kafkaTopology(`    - { id: m, from: events, map: { set: { yuan: "amount / 100" }, drop: [junk] } }
    - { id: last, from: m, keyBy: user_id }`))).toEqual({ last: false });
  });

  it('tributary plan of the shipped Kafka topology shows no repartition topic where the runtime creates none', async () => {
    const plan = await loadTopology(join('topologies', 'loan-risk-features-kafka.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    const text = describePlan(plan);
    expect(text).not.toMatch(/per_user\.repartition/);
    expect(text).toMatch(/no repartition: the input is already partitioned by user_id/);
    expect(subTopologies(plan)).toHaveLength(1);
    const local = await loadTopology(join('topologies', 'loan-risk-features.yaml'), { catalog: connectorCatalog, steps: stepRegistry, env: {} });
    expect(describePlan(local)).toMatch(/through loan-risk-features\.per_user\.repartition/);
    expect(subTopologies(local).map((s) => s.inputs)).toEqual([['applications'], ['loan-risk-features.per_user.repartition']]);
  });
});
