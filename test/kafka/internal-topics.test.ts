import { describe, expect, it } from 'vitest';
import { dlqTopics, internalTopicProblems, planInternalTopics, type InternalTopic } from '../../src/kafka/internal-topics.js';
import { compileTopology } from '../../src/topology/compile.js';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { stepRegistry } from '../../src/operators/registry.js';
import { TopologyErrors } from '../../src/core/errors.js';

const changelog: InternalTopic = { topic: 'app.count.changelog', kind: 'changelog', partitions: 6 };
const repartition: InternalTopic = { topic: 'app.by_user.repartition', kind: 'repartition', partitions: 6 };
const dlq: InternalTopic = { topic: 'app-dead-letters', kind: 'dlq', partitions: 6 };

describe('internal topic policy', () => {
  it('replication factor is min(3, brokers) unless configured', () => {
    expect(planInternalTopics([changelog], {}, 1)[0]!.replicationFactor).toBe(1);
    expect(planInternalTopics([changelog], {}, 2)[0]!.replicationFactor).toBe(2);
    expect(planInternalTopics([changelog], {}, 5)[0]!.replicationFactor).toBe(3);
    expect(planInternalTopics([changelog, dlq], { replicationFactor: 2 }, 5).map((t) => t.replicationFactor)).toEqual([2, 2]);
    // A kind's own setting wins over the topology-wide one.
    expect(planInternalTopics([changelog, dlq], { replicationFactor: 2, dlq: { replicationFactor: 4 } }, 5).map((t) => t.replicationFactor)).toEqual([2, 4]);
  });

  it('min.insync.replicas is 2 from replication factor 3, else 1', () => {
    expect(planInternalTopics([changelog], {}, 3)[0]!.configs['min.insync.replicas']).toBe('2');
    expect(planInternalTopics([changelog], {}, 2)[0]!.configs['min.insync.replicas']).toBe('1');
    expect(planInternalTopics([changelog], { changelog: { configs: { 'min.insync.replicas': '3' } } }, 3)[0]!.configs['min.insync.replicas']).toBe('3');
  });

  it('changelogs are compacted, repartition topics without time retention (timestamps are event times), DLQ deleted with the broker retention', () => {
    const [c, r, d] = planInternalTopics([changelog, repartition, dlq], {}, 1);
    expect(c!.configs['cleanup.policy']).toBe('compact');
    expect(c!.configs['retention.ms']).toBeUndefined();
    expect(r!.configs['cleanup.policy']).toBe('delete');
    expect(r!.configs['retention.ms']).toBe('-1');
    expect(d!.configs['cleanup.policy']).toBe('delete');
    expect(d!.configs['retention.ms']).toBeUndefined();
    expect([c, r, d].map((t) => t!.partitions)).toEqual([6, 6, 6]);
  });

  it('retention and configs are per kind; cleanup.policy cannot be changed', () => {
    const [r, d] = planInternalTopics([repartition, dlq], { repartition: { retention: 3_600_000, configs: { 'segment.bytes': '52428800' } }, dlq: { retention: 86_400_000 } }, 1);
    expect(r!.configs).toMatchObject({ 'retention.ms': '3600000', 'segment.bytes': '52428800', 'cleanup.policy': 'delete' });
    expect(d!.configs['retention.ms']).toBe('86400000');
    expect(() => planInternalTopics([changelog], { changelog: { configs: { 'cleanup.policy': 'delete' } } }, 1)).toThrow(/cleanup.policy of a changelog topic is compact/);
  });

  it('an existing topic with another partition count or cleanup policy is refused, naming expected and found', () => {
    const found = (partitions: number, policy: string) => ({ topic: 'x', partitions, replicationFactor: 1, configs: { 'cleanup.policy': policy } });
    expect(internalTopicProblems(changelog, found(6, 'compact'))).toEqual([]);
    expect(internalTopicProblems(changelog, found(4, 'compact'))).toEqual(["has 4 partitions, expected 6 (the input topics' partition count)"]);
    expect(internalTopicProblems(changelog, found(6, 'delete'))).toEqual(['has cleanup.policy=delete, expected compact']);
    // compact,delete would let retention drop state.
    expect(internalTopicProblems(changelog, found(6, 'compact,delete'))).toHaveLength(1);
    expect(internalTopicProblems(repartition, found(6, 'delete'))).toEqual([]);
    expect(internalTopicProblems(repartition, found(6, 'compact'))).toEqual(['has cleanup.policy=compact, expected delete']);
    expect(internalTopicProblems(repartition, found(3, 'compact,delete'))).toHaveLength(2);
    // A DLQ is not co-partitioned: any count, but never compacted.
    expect(internalTopicProblems(dlq, found(1, 'delete'))).toEqual([]);
    expect(internalTopicProblems(dlq, found(6, 'compact'))).toEqual(['has cleanup.policy=compact, expected delete']);
  });

  it('the DLQ topics are the kafka sinks reading dlq on the same cluster', () => {
    const sinks = [
      { from: 'dlq', connector: 'kafka', config: { brokers: 'a:1', topic: 'dead' } },
      { from: 'dlq', connector: 'kafka', config: { brokers: 'b:1', topic: 'elsewhere' } },
      { from: 'dlq', connector: 'file', config: { path: 'x' } },
      { from: 'count', connector: 'kafka', config: { brokers: 'a:1', topic: 'out' } },
    ];
    expect(dlqTopics(sinks, (b) => b === 'a:1')).toEqual(['dead']);
  });
});

const topology = (kafka: string): string => `apiVersion: tributary/v1
kind: Topology
metadata: { name: app }
spec:
${kafka}
  sources:
    events: { kafka: { brokers: "127.0.0.1:9092", topic: events } }
  pipeline:
    - { id: valid, from: events, filter: "true" }
  sinks:
    out: { from: valid, stdout: {} }
`;

describe('spec.kafka.internalTopics in a topology', () => {
  const compile = (text: string) => compileTopology(text, 'topo.yaml', { catalog: connectorCatalog, steps: stepRegistry });

  it('is carried into the plan', () => {
    const plan = compile(topology(`  kafka:
    internalTopics:
      replicationFactor: 2
      changelog: { configs: { min.insync.replicas: "2" } }
      repartition: { retention: 1d }
      dlq: { replicationFactor: 3, retention: 14d }`));
    expect(plan.kafka?.internalTopics).toEqual({
      replicationFactor: 2,
      changelog: { configs: { 'min.insync.replicas': '2' } },
      repartition: { retention: 86_400_000 },
      dlq: { replicationFactor: 3, retention: 14 * 86_400_000 },
    });
    expect(compile(topology('')).kafka).toBeUndefined();
  });

  it('reports a wrong setting at its file:line:col', () => {
    const bad = topology(`  kafka:
    internalTopics:
      replicationFactor: 0
      changelog:
        configs: { cleanup.policy: delete }
      repartiton: {}`);
    let err: unknown;
    try {
      compile(bad);
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(TopologyErrors);
    const msg = (err as Error).message;
    expect(msg).toMatch(/topo\.yaml:7:26: spec\.kafka\.internalTopics\.replicationFactor/);
    expect(msg).toMatch(/topo\.yaml:9:20: .*cleanup\.policy is fixed per kind/);
    expect(msg).toMatch(/topo\.yaml:10:7: .*repartiton.*repartition/);
  });
});
