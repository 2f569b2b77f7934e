/**
 * The co-partitioning assignment (`tributary-copartitioned`), pure: no client library here.
 *
 * A task is a partition NUMBER: partition p of every subscribed topic (sources, repartition
 * topics) goes to one member, so a task's inputs move together, as Kafka Streams' assignor
 * does. Members are sorted by memberId and task p goes to member p mod n (round-robin):
 * every leader computes the same plan from the same group, whoever it is.
 *
 * Co-partitioned topics should have equal partition counts. When they do not, tasks run up to
 * the largest count and a topic with fewer partitions simply lacks the higher numbers; the plan
 * carries a warning so the operator hears about it.
 */

export const CO_PARTITION_PROTOCOL = 'tributary-copartitioned';

export interface CoPartitionMember {
  memberId: string;
  /** The topics this member subscribed to. */
  topics: readonly string[];
}

export interface CoPartitionPlan {
  /** memberId -> topic -> partition numbers, ascending. Every member appears, possibly with nothing. */
  assignments: Map<string, Map<string, number[]>>;
  /** Why the plan may not be what the topology intends (unequal partition counts, unknown topics). */
  warnings: string[];
}

const byMemberId = (a: CoPartitionMember, b: CoPartitionMember): number =>
  a.memberId < b.memberId ? -1 : a.memberId > b.memberId ? 1 : 0;

export function assignCoPartitioned(
  members: readonly CoPartitionMember[],
  partitionCounts: ReadonlyMap<string, number>,
): CoPartitionPlan {
  const assignments = new Map<string, Map<string, number[]>>();
  const warnings: string[] = [];
  const sorted = [...members].sort(byMemberId);
  for (const m of sorted) assignments.set(m.memberId, new Map());
  if (sorted.length === 0) return { assignments, warnings };

  const subscribed = [...new Set(sorted.flatMap((m) => m.topics))].sort();
  const counted: Array<[string, number]> = [];
  for (const topic of subscribed) {
    const count = partitionCounts.get(topic);
    if (count === undefined) warnings.push(`topic ${topic} has no known partitions; nothing of it is assigned`);
    else counted.push([topic, count]);
  }
  const distinct = new Set(counted.map(([, c]) => c));
  if (distinct.size > 1) {
    const list = counted.map(([t, c]) => `${t}=${c}`).join(', ');
    warnings.push(`co-partitioned topics have unequal partition counts (${list}); partitions are matched by number`);
  }

  const tasks = Math.max(0, ...counted.map(([, c]) => c));
  const orphaned = new Set<string>();
  for (let p = 0; p < tasks; p++) {
    const owner = sorted[p % sorted.length]!;
    const own = assignments.get(owner.memberId)!;
    for (const [topic, count] of counted) {
      if (p >= count) continue;
      if (!owner.topics.includes(topic)) {
        orphaned.add(topic);
        continue;
      }
      let list = own.get(topic);
      if (!list) own.set(topic, (list = []));
      list.push(p);
    }
  }
  for (const topic of orphaned) {
    warnings.push(`members subscribe to different topics: some partitions of ${topic} went to a member not subscribed to it and stay unassigned`);
  }
  return { assignments, warnings };
}
