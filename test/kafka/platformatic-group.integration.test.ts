/**
 * The platformatic group consumer's membership against the dev broker, as a fleet uses it:
 * members that join at nearly the same time, or in any order, end up with an equal share; a
 * later member gets a share through a rebalance; and a member keeps its membership (heartbeats)
 * while its first assigned() runs longer than the session (a worker restoring state).
 */
import { afterEach, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import type { GroupConsumer, KafkaClient, TopicPartition } from '../../src/kafka/client.js';
import { uniqueName, waitFor } from '../helpers/broker.js';
import { describeOnBrokers } from '../helpers/kafka.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Call {
  kind: 'assigned' | 'revoked' | 'lost';
  partitions: number[];
  generation?: number;
  start: number;
  end: number;
}

interface Member {
  name: string;
  client: KafkaClient;
  consumer: GroupConsumer;
  calls: Call[];
  /** Partition numbers owned according to the listener (assigned minus revoked/lost). */
  owned: number[];
  /** Settles when subscribe() does. */
  joined: Promise<void>;
}

interface MemberOptions {
  sessionTimeoutMs?: number;
  /** 'client default': leave it to the consumer (a third of the session at most), as the runtime does. */
  heartbeatIntervalMs?: number | 'client default';
  /** Runs inside assigned(), before it returns: e.g. a slow state restore. */
  onAssigned?: (call: number) => Promise<void>;
}

describeOnBrokers('platformatic group consumer: membership in a fleet', (broker) => {
  const members: Member[] = [];
  let admin: KafkaClient | undefined;

  afterEach(async () => {
    await Promise.allSettled(members.map((m) => m.client.disconnect()));
    members.length = 0;
    await admin?.disconnect();
    admin = undefined;
  });

  async function topic(partitions: number): Promise<string> {
    const name = uniqueName('fleet');
    admin = await createKafkaClient({ brokers: broker().brokers, clientId: 'platformatic-group-admin' });
    await admin.connect();
    await admin.admin.createTopics([{ topic: name, partitions }]);
    return name;
  }

  /** Starts joining at once; `joined` settles when subscribe() does. */
  async function startMember(name: string, groupId: string, topicName: string, options: MemberOptions = {}): Promise<Member> {
    const client = await createKafkaClient({ brokers: broker().brokers, clientId: name });
    await client.connect();
    const consumer = await client.groupConsumer({
      groupId,
      sessionTimeoutMs: options.sessionTimeoutMs ?? 10_000,
      heartbeatIntervalMs: options.heartbeatIntervalMs === 'client default' ? undefined : (options.heartbeatIntervalMs ?? 200),
    });
    const m: Member = { name, client, consumer, calls: [], owned: [], joined: Promise.resolve() };
    members.push(m);
    const numbers = (tps: TopicPartition[]): number[] => tps.map((t) => t.partition).sort((a, b) => a - b);
    let assignedCalls = 0;
    m.joined = consumer.subscribe([topicName], {
      async assigned(tps, generation) {
        const c: Call = { kind: 'assigned', partitions: numbers(tps), generation, start: Date.now(), end: 0 };
        m.calls.push(c);
        await options.onAssigned?.(assignedCalls++);
        m.owned = [...new Set([...m.owned, ...c.partitions])].sort((a, b) => a - b);
        c.end = Date.now();
      },
      async revoked(tps) {
        const c: Call = { kind: 'revoked', partitions: numbers(tps), start: Date.now(), end: 0 };
        m.calls.push(c);
        m.owned = m.owned.filter((p) => !c.partitions.includes(p));
        c.end = Date.now();
      },
      async lost(tps) {
        const c: Call = { kind: 'lost', partitions: numbers(tps), start: Date.now(), end: 0 };
        m.calls.push(c);
        m.owned = m.owned.filter((p) => !c.partitions.includes(p));
        c.end = Date.now();
      },
    });
    return m;
  }

  const report = (group: readonly Member[]) => (): string =>
    group.map((m) => `${m.name} gen ${m.consumer.generation} owns [${m.owned.join(',')}] calls ${JSON.stringify(m.calls.map((c) => [c.kind, c.partitions, c.generation]))}`).join('\n');

  /** Waits until the members split `partitions` between them, each with its share, all in one generation. */
  async function waitForSplit(group: readonly Member[], partitions: number, shares: number[]): Promise<number> {
    return waitFor(() => {
      const gens = new Set(group.map((m) => m.consumer.generation));
      const sizes = group.map((m) => m.owned.length).sort((a, b) => b - a);
      const union = group.flatMap((m) => m.owned).sort((a, b) => a - b);
      const settled = gens.size === 1 && !gens.has(-1) && union.length === partitions && new Set(union).size === partitions
        && sizes.join() === [...shares].sort((a, b) => b - a).join()
        && group.every((m) => m.owned.join() === m.consumer.assignment().map((t) => t.partition).sort((a, b) => a - b).join());
      return settled ? [...gens][0] : undefined;
    }, 20_000, report(group));
  }

  /** No member ever held a partition another member held at the same time (eager: revoke before anyone else gets it). */
  function expectNoOverlap(group: readonly Member[]): void {
    const spans: Array<{ name: string; partition: number; from: number; to: number }> = [];
    for (const m of group) {
      const open = new Map<number, number>();
      for (const c of m.calls) {
        if (c.kind === 'assigned') for (const p of c.partitions) open.set(p, c.start);
        else for (const p of c.partitions) { spans.push({ name: m.name, partition: p, from: open.get(p) ?? 0, to: c.end }); open.delete(p); }
      }
      for (const [p, from] of open) spans.push({ name: m.name, partition: p, from, to: Number.MAX_SAFE_INTEGER });
    }
    const clashes = spans.flatMap((a) => spans.filter((b) => b.name > a.name && b.partition === a.partition && a.from < b.to && b.from < a.to).map((b) => `${a.name}/${b.name} p${a.partition}`));
    expect(clashes).toEqual([]);
  }

  /** Listener calls of one member never overlap: each starts after the previous one ended. */
  function expectSerialCalls(m: Member): void {
    for (let i = 1; i < m.calls.length; i++) {
      expect(m.calls[i]!.start, `${m.name}: ${m.calls[i]!.kind} started before ${m.calls[i - 1]!.kind} ended`).toBeGreaterThanOrEqual(m.calls[i - 1]!.end);
      expect(m.calls[i - 1]!.end).toBeGreaterThan(0);
    }
  }

  // Join schedules (ms after the first member starts joining): together, staggered by less than
  // a heartbeat, one alone first then two together, and reversed creation order.
  const schedules: Array<{ name: string; delays: number[]; heartbeatIntervalMs?: MemberOptions['heartbeatIntervalMs'] }> = [
    { name: 'all three at once', delays: [0, 0, 0] },
    { name: 'all three at once, the client\'s default heartbeat interval', delays: [0, 0, 0], heartbeatIntervalMs: 'client default' },
    { name: 'staggered by 30 ms', delays: [0, 30, 60] },
    { name: 'one first, then two together', delays: [0, 700, 700] },
    { name: 'one at a time', delays: [0, 400, 800] },
    { name: 'the last created joins first', delays: [600, 300, 0] },
  ];

  for (const s of schedules) {
    it(`3 members on 6 partitions get 2 each (${s.name}); a 4th gets a share through a rebalance`, async () => {
      const t = await topic(6);
      const groupId = uniqueName('group');
      const options: MemberOptions = { heartbeatIntervalMs: s.heartbeatIntervalMs };
      const three = await Promise.all(s.delays.map(async (delay, i) => {
        await sleep(delay);
        return startMember(`m${i}`, groupId, t, options);
      }));
      await Promise.all(three.map((m) => m.joined));
      const first = await waitForSplit(three, 6, [2, 2, 2]);
      expectNoOverlap(three);

      const late = await startMember('late', groupId, t, options);
      await late.joined;
      const all = [...three, late];
      const second = await waitForSplit(all, 6, [2, 2, 1, 1]);
      expect(second).toBeGreaterThan(first);
      expect(late.owned.length).toBeGreaterThan(0);
      expectNoOverlap(all);
      for (const m of all) {
        expectSerialCalls(m);
        expect(m.calls.filter((c) => c.kind === 'lost'), m.name).toEqual([]);
      }
    });
  }

  it('keeps heartbeating while its first assigned() outlasts the session: still a member, its commits count', async () => {
    const t = await topic(6);
    const groupId = uniqueName('slow-restore');
    // The first assignment takes three sessions (a long state restore); later ones are quick.
    const m = await startMember('restorer', groupId, t, { sessionTimeoutMs: 1_000, heartbeatIntervalMs: 100, onAssigned: (n) => sleep(n === 0 ? 3_000 : 0) });
    await m.joined;
    const generation = m.consumer.generation;
    expect(m.owned).toEqual([0, 1, 2, 3, 4, 5]);
    // The coordinator still knows the member in this generation: the commit is accepted.
    await m.consumer.commit([{ topic: t, partition: 0, offset: 7n, metadata: 'after-restore' }]);
    expect(await m.consumer.committed([{ topic: t, partition: 0 }])).toEqual([{ topic: t, partition: 0, offset: 7n, metadata: 'after-restore' }]);
    expect(m.consumer.generation).toBe(generation);
    expect(m.calls.map((c) => c.kind)).toEqual(['assigned']);
  });

  it('a member joining during the first member\'s slow first assigned() gets its share once that returns', async () => {
    const t = await topic(6);
    const groupId = uniqueName('join-during-restore');
    let restoring: () => void = () => {};
    const restored = new Promise<void>((r) => { restoring = r; });
    const a = await startMember('a', groupId, t, { sessionTimeoutMs: 2_000, heartbeatIntervalMs: 100, onAssigned: (n) => (n === 0 ? restored : Promise.resolve()) });
    await waitFor(() => (a.calls.length === 1 ? true : undefined), 10_000, report([a]));
    const b = await startMember('b', groupId, t, { sessionTimeoutMs: 2_000, heartbeatIntervalMs: 100 });
    // a's restore outlasts its session while b waits in JoinGroup: a must stay a member.
    await sleep(2_500);
    expect(b.calls).toEqual([]);
    restoring();
    await Promise.all([a.joined, b.joined]);
    await waitForSplit([a, b], 6, [3, 3]);
    // a revoked only after its assigned() had returned, and was never fenced.
    expect(a.calls.map((c) => c.kind)).toEqual(['assigned', 'revoked', 'assigned']);
    expectSerialCalls(a);
    expectNoOverlap([a, b]);
  });
});
