/** The internal topics a Kafka-mode application needs, by name and kind (kafka/internal-topics.ts creates and checks them). */
import type { TopologyPlan } from '../topology/plan.js';
import { parseBrokers } from '../kafka/create-client.js';
import { dlqTopics, type InternalTopic } from '../kafka/internal-topics.js';
import { changelogTopic } from '../state/changelog.js';
import { repartitionTopic } from './repartition.js';

/**
 * Changelogs of the stateful steps, repartition topics of the repartitioning keyBy steps, and the
 * topic of each kafka sink reading `dlq` on the cluster the sources read (same brokers).
 */
export function appInternalTopics(plan: TopologyPlan, appId: string, partitions: number, repartitioning: readonly string[], stateful: readonly string[]): InternalTopic[] {
  const source = plan.sources.find((s) => s.connector === 'kafka');
  const brokersOf = (b: unknown): string | undefined => {
    try {
      return parseBrokers(b, 'kafka').join(',');
    } catch {
      return undefined;
    }
  };
  const inputCluster = source && brokersOf(source.config.brokers);
  return [
    ...stateful.map((id) => ({ topic: changelogTopic(appId, id), kind: 'changelog' as const, partitions })),
    ...repartitioning.map((id) => ({ topic: repartitionTopic(appId, id), kind: 'repartition' as const, partitions })),
    ...dlqTopics(plan.sinks, (b) => inputCluster !== undefined && brokersOf(b) === inputCluster).map((topic) => ({ topic, kind: 'dlq' as const, partitions })),
  ];
}
