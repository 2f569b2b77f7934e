import { describe, expect, it } from 'vitest';
import { assignCoPartitioned, type CoPartitionMember } from '../../src/kafka/co-partition-assignor.js';

const plain = (plan: ReturnType<typeof assignCoPartitioned>): Record<string, Record<string, number[]>> =>
  Object.fromEntries([...plan.assignments].map(([m, topics]) => [m, Object.fromEntries(topics)]));

describe('co-partitioning assignment', () => {
  const counts = new Map([['orders', 4], ['payments', 4]]);

  it('gives one member partition p of every topic, round-robin over members sorted by id', () => {
    // Given out of order: the plan depends on ids, not on the order the coordinator lists them.
    const members: CoPartitionMember[] = [
      { memberId: 'm-b', topics: ['orders', 'payments'] },
      { memberId: 'm-a', topics: ['payments', 'orders'] },
    ];
    const plan = assignCoPartitioned(members, counts);
    expect(plain(plan)).toEqual({
      'm-a': { orders: [0, 2], payments: [0, 2] },
      'm-b': { orders: [1, 3], payments: [1, 3] },
    });
    expect(plan.warnings).toEqual([]);
    expect(plain(assignCoPartitioned([...members].reverse(), counts))).toEqual(plain(plan));
  });

  it('covers every partition exactly once, whatever the number of members', () => {
    for (let n = 1; n <= 6; n++) {
      const members = Array.from({ length: n }, (_, i) => ({ memberId: `member-${i}`, topics: ['orders', 'payments'] }));
      const plan = assignCoPartitioned(members, counts);
      for (const topic of ['orders', 'payments']) {
        const all = [...plan.assignments.values()].flatMap((t) => t.get(topic) ?? []).sort();
        expect(all).toEqual([0, 1, 2, 3]);
      }
      for (const topics of plan.assignments.values()) expect(topics.get('orders')).toEqual(topics.get('payments'));
      // Members beyond the partition count are in the plan with nothing.
      expect(plan.assignments.size).toBe(n);
    }
  });

  it('still assigns by number when partition counts differ, and warns', () => {
    const plan = assignCoPartitioned(
      [{ memberId: 'a', topics: ['orders', 'clicks'] }, { memberId: 'b', topics: ['orders', 'clicks'] }],
      new Map([['orders', 4], ['clicks', 3]]),
    );
    expect(plain(plan)).toEqual({
      a: { clicks: [0, 2], orders: [0, 2] },
      b: { clicks: [1], orders: [1, 3] },
    });
    expect(plan.warnings).toEqual([expect.stringMatching(/unequal partition counts \(clicks=3, orders=4\)/)]);
  });

  it('warns about topics without metadata and leaves an empty group empty', () => {
    const plan = assignCoPartitioned([{ memberId: 'a', topics: ['orders', 'ghost'] }], counts);
    expect(plain(plan)).toEqual({ a: { orders: [0, 1, 2, 3] } });
    expect(plan.warnings).toEqual([expect.stringMatching(/topic ghost has no known partitions/)]);
    expect(assignCoPartitioned([], counts).assignments.size).toBe(0);
  });

  it('does not hand a member a topic it did not subscribe to', () => {
    const plan = assignCoPartitioned(
      [{ memberId: 'a', topics: ['orders'] }, { memberId: 'b', topics: ['orders', 'payments'] }],
      counts,
    );
    expect(plain(plan)).toEqual({ a: { orders: [0, 2] }, b: { orders: [1, 3], payments: [1, 3] } });
    expect(plan.warnings).toEqual([expect.stringMatching(/payments .* stay unassigned/)]);
  });
});
