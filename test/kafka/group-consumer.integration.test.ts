/**
 * The group consumer (platformatic/group-consumer.ts) against the dev broker: co-partitioned assignment, revoke before
 * the partitions move on, commits with metadata, crashed and stalled members, seek/pause/resume.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createKafkaClient } from '../../src/kafka/create-client.js';
import {
  KafkaClientError,
  type ConsumedMessage,
  type GroupConsumer,
  type GroupRebalanceListener,
  type KafkaClient,
  type TopicPartition,
} from '../../src/kafka/client.js';
import { uniqueName, waitFor } from '../helpers/broker.js';
import { describeOnBrokers } from '../helpers/kafka.js';
import { repoRoot } from '../helpers/cli.js';
import type { GroupChildEvent } from '../helpers/group-consumer-child.js';

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const names = (tps: readonly TopicPartition[]): string[] => tps.map((t) => `${t.topic}[${t.partition}]`).sort();

interface Callback {
  kind: 'assigned' | 'revoked' | 'lost';
  partitions: TopicPartition[];
  generation?: number;
  start: number;
  end: number;
}

/** A member in this process whose listener records every callback with its start and end time. */
interface Member {
  name: string;
  client: KafkaClient;
  consumer: GroupConsumer;
  calls: Callback[];
}

interface MemberOptions {
  sessionTimeoutMs?: number;
  onAssigned?: (m: Member, partitions: TopicPartition[]) => Promise<void>;
  onRevoked?: (m: Member, partitions: TopicPartition[]) => Promise<void>;
}

/** The partition numbers a member owns, per topic: co-partitioned means the same list for each. */
function numbersByTopic(tps: readonly TopicPartition[], topics: readonly string[]): number[][] {
  return topics.map((t) => tps.filter((tp) => tp.topic === t).map((tp) => tp.partition).sort());
}

async function fetchCount(consumer: GroupConsumer, count: number, timeoutMs = 10_000): Promise<ConsumedMessage[]> {
  const out: ConsumedMessage[] = [];
  const deadline = Date.now() + timeoutMs;
  while (out.length < count && Date.now() < deadline) out.push(...(await consumer.fetch({ maxWaitMs: 200 })));
  return out;
}

describeOnBrokers('group consumer', (broker) => {
  const members: Member[] = [];
  const children: ChildProcess[] = [];
  let admin: KafkaClient;
  const topics = [uniqueName('orders'), uniqueName('payments')];
  const all = topics.flatMap((topic) => [0, 1, 2, 3].map((partition) => ({ topic, partition })));

  async function startMember(name: string, groupId: string, subscribeTo: string[], options: MemberOptions = {}): Promise<Member> {
    const client = await createKafkaClient({ brokers: broker().brokers, clientId: name });
    await client.connect();
    // A long session: anything that moves faster than it moved because a member left or rejoined.
    const consumer = await client.groupConsumer({ groupId, sessionTimeoutMs: options.sessionTimeoutMs ?? 30_000, heartbeatIntervalMs: 200 });
    const m: Member = { name, client, consumer, calls: [] };
    members.push(m);
    const record = (kind: Callback['kind'], partitions: TopicPartition[], generation?: number) => {
      const c: Callback = { kind, partitions, generation, start: Date.now(), end: 0 };
      m.calls.push(c);
      return c;
    };
    const listener: GroupRebalanceListener = {
      async assigned(partitions, generation) {
        const c = record('assigned', partitions, generation);
        await options.onAssigned?.(m, partitions);
        c.end = Date.now();
      },
      async revoked(partitions) {
        const c = record('revoked', partitions);
        await options.onRevoked?.(m, partitions);
        c.end = Date.now();
      },
      async lost(partitions) {
        record('lost', partitions).end = Date.now();
      },
    };
    await consumer.subscribe(subscribeTo, listener);
    return m;
  }

  function spawnChild(groupId: string, sessionTimeoutMs: number): { child: ChildProcess; events: GroupChildEvent[]; log: () => string } {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', join(repoRoot, 'test', 'helpers', 'group-consumer-child.ts'), broker().brokers.join(','), groupId, String(sessionTimeoutMs), topics.join(',')],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    children.push(child);
    const events: GroupChildEvent[] = [];
    let text = '';
    let partial = '';
    child.stdout?.on('data', (d: Buffer) => {
      partial += d.toString();
      const lines = partial.split('\n');
      partial = lines.pop() ?? '';
      for (const line of lines) if (line.trim()) { events.push(JSON.parse(line) as GroupChildEvent); text += `${line}\n`; }
    });
    child.stderr?.on('data', (d: Buffer) => { text += d.toString(); });
    return { child, events, log: () => text.slice(-3000) };
  }

  beforeAll(async () => {
    admin = await createKafkaClient({ brokers: broker().brokers, clientId: 'group-test-admin' });
    await admin.connect();
    await admin.admin.createTopics(topics.map((topic) => ({ topic, partitions: 4 })));
  });

  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await Promise.allSettled(members.map((m) => m.client.disconnect()));
    await admin?.disconnect();
  });

  it('splits co-partitioned; the leaving member revokes (and checkpoints) before anyone else gets its partitions', async () => {
    const groupId = uniqueName('split');
    const a = await startMember('member-a', groupId, topics, {
      async onRevoked(m, partitions) {
        // A slow checkpoint, ending with a commit of the generation being revoked.
        await sleep(1_500);
        await m.consumer.commit(partitions.map((tp) => ({ ...tp, offset: 3n, metadata: `ckpt-a-${m.consumer.generation}` })));
      },
    });
    expect(names(a.consumer.assignment())).toEqual(names(all));
    const firstGeneration = a.consumer.generation;

    const seenByB = new Map<string, string>();
    const b = await startMember('member-b', groupId, topics, {
      async onAssigned(m, partitions) {
        for (const c of await m.consumer.committed(partitions)) seenByB.set(`${c.topic}[${c.partition}]`, `${c.offset}/${c.metadata}`);
      },
    });
    await waitFor(() => (a.calls.filter((c) => c.kind === 'assigned' && c.end > 0).length >= 2 ? true : undefined), 10_000, () => JSON.stringify(a.calls));

    const ownedA = a.consumer.assignment();
    const ownedB = b.consumer.assignment();
    expect(ownedA.length).toBe(4);
    expect(ownedB.length).toBe(4);
    expect(names([...ownedA, ...ownedB])).toEqual(names(all));
    const [aOrders, aPayments] = numbersByTopic(ownedA, topics);
    const [bOrders, bPayments] = numbersByTopic(ownedB, topics);
    expect(aOrders).toEqual(aPayments);
    expect(bOrders).toEqual(bPayments);
    expect(a.consumer.generation).toBe(b.consumer.generation);
    expect(a.consumer.generation).toBeGreaterThan(firstGeneration);

    // Ordering: B was handed its partitions only after A's revoke had finished.
    const revokeA = a.calls.find((c) => c.kind === 'revoked')!;
    const assignB = b.calls.find((c) => c.kind === 'assigned')!;
    expect(revokeA.partitions).toHaveLength(8);
    expect(revokeA.end).toBeGreaterThan(0);
    expect(assignB.start).toBeGreaterThanOrEqual(revokeA.end);
    // ...and saw the checkpoint A committed while revoking (accepted during the rebalance).
    expect(Object.fromEntries(seenByB)).toEqual(Object.fromEntries(names(ownedB).map((n) => [n, `3/ckpt-a-${firstGeneration}`])));

    // close() revokes, then leaves: A gets everything long before B's 30 s session would expire.
    await b.consumer.close();
    expect(b.calls.at(-1)).toMatchObject({ kind: 'revoked', partitions: ownedB });
    await waitFor(() => (a.consumer.assignment().length === 8 ? true : undefined), 10_000, () => JSON.stringify(a.calls));
    expect(a.calls.some((c) => c.kind === 'lost')).toBe(false);
  });

  it('commits offsets with metadata in one go, and refuses partitions it does not own', async () => {
    const groupId = uniqueName('commit');
    const m = await startMember('committer', groupId, [topics[0]!]);
    const [orders, payments] = topics as [string, string];
    expect(await m.consumer.committed([{ topic: orders, partition: 0 }])).toEqual([{ topic: orders, partition: 0, offset: null, metadata: '' }]);

    await m.consumer.commit([
      { topic: orders, partition: 0, offset: 5n, metadata: '{"ckpt":1}' },
      { topic: orders, partition: 2, offset: 7n },
    ]);
    expect(await m.consumer.committed([{ topic: orders, partition: 2 }, { topic: orders, partition: 0 }, { topic: orders, partition: 1 }])).toEqual([
      { topic: orders, partition: 2, offset: 7n, metadata: '' },
      { topic: orders, partition: 0, offset: 5n, metadata: '{"ckpt":1}' },
      { topic: orders, partition: 1, offset: null, metadata: '' },
    ]);

    // payments is not subscribed: not owned. The whole commit is refused, nothing of it lands.
    const refused = await m.consumer.commit([
      { topic: orders, partition: 1, offset: 9n, metadata: 'x' },
      { topic: payments, partition: 1, offset: 9n, metadata: 'x' },
    ]).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(KafkaClientError);
    expect(refused).toMatchObject({ rebalance: true, retriable: false, message: expect.stringContaining(`${payments}[1]`) });
    expect((await m.consumer.committed([{ topic: orders, partition: 1 }]))[0]!.offset).toBeNull();

    await m.consumer.close();
    expect(m.consumer.assignment()).toEqual([]);
    await expect(m.consumer.commit([{ topic: orders, partition: 0, offset: 6n }])).rejects.toMatchObject({ rebalance: true });
    expect((await admin.groupConsumer({ groupId }).then((g) => g.committed([{ topic: orders, partition: 0 }])))[0]!.offset).toBe(5n);
  });

  it('seeks (dropping what was buffered), pauses and resumes partitions', async () => {
    const topic = uniqueName('seek');
    await admin.admin.createTopics([{ topic, partitions: 2 }]);
    const producer = await admin.producer();
    const produce = (partition: number, from: number, n: number) =>
      producer.send(topic, Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`p${partition}-${from + i}`), partition })), { acks: 'all' });
    await produce(0, 0, 10);
    await produce(1, 0, 10);

    const m = await startMember('seeker', uniqueName('seek'), [topic], {
      // The runtime sets each partition's start in assigned(): partition 1 from offset 2.
      async onAssigned(mm, partitions) {
        for (const tp of partitions) if (tp.partition === 1) mm.consumer.seek({ ...tp, offset: 2n });
      },
    });
    const first = await fetchCount(m.consumer, 18);
    const seq = (msgs: ConsumedMessage[], p: number) => msgs.filter((x) => x.partition === p).map((x) => Number(x.offset));
    expect(seq(first, 0)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(seq(first, 1)).toEqual([2, 3, 4, 5, 6, 7, 8, 9]);
    expect(first.find((x) => x.partition === 0 && x.offset === 4n)?.value?.toString()).toBe('p0-4');

    // New records get buffered without a fetch(); a seek past some of them drops those.
    await produce(0, 10, 10);
    await sleep(800);
    m.consumer.seek({ topic, partition: 0, offset: 17n });
    expect(seq(await fetchCount(m.consumer, 3), 0)).toEqual([17, 18, 19]);
    // And back: a rewind re-reads.
    m.consumer.seek({ topic, partition: 0, offset: 8n });
    expect(seq(await fetchCount(m.consumer, 12), 0)).toEqual([8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19]);

    m.consumer.pause([{ topic, partition: 1 }]);
    await produce(0, 20, 3);
    await produce(1, 10, 3);
    const whilePaused = await fetchCount(m.consumer, 3);
    await sleep(600);
    whilePaused.push(...(await m.consumer.fetch({ maxWaitMs: 200 })));
    expect(seq(whilePaused, 0)).toEqual([20, 21, 22]);
    expect(seq(whilePaused, 1)).toEqual([]);
    m.consumer.resume([{ topic, partition: 1 }]);
    expect(seq(await fetchCount(m.consumer, 3), 1)).toEqual([10, 11, 12]);

    expect(() => m.consumer.seek({ topic, partition: 5, offset: 0n })).toThrow(/not owned/);
    await m.consumer.close();
  });

  it('a seek while a fetch is out: that fetch returns nothing from the old position, and reading resumes exactly at the seek', async () => {
    const topic = uniqueName('seek-race');
    await admin.admin.createTopics([{ topic, partitions: 1 }]);
    const producer = await admin.producer();
    const produce = (from: number, n: number) =>
      producer.send(topic, Array.from({ length: n }, (_, i) => ({ key: null, value: Buffer.from(`v${from + i}`), partition: 0 })), { acks: 'all' });
    await produce(0, 10);
    const m = await startMember('seek-race', uniqueName('seek-race'), [topic]);
    const offsets = (msgs: ConsumedMessage[]): number[] => msgs.map((x) => Number(x.offset));

    // Forward: the fetch out reads from 0; the seek moves to 6.
    const out = m.consumer.fetch({ maxWaitMs: 2_000 });
    m.consumer.seek({ topic, partition: 0, offset: 6n });
    const stale = offsets(await out);
    expect(stale.filter((o) => o < 6)).toEqual([]);
    const read = [...stale, ...offsets(await fetchCount(m.consumer, 4 - stale.length))];
    expect(read).toEqual([6, 7, 8, 9]);

    // Back, while a long poll at the end is out and records arrive for it: it must not move the
    // position to past them (that would skip 3..9) nor hand them out before 3..9.
    const poll = m.consumer.fetch({ maxWaitMs: 3_000 });
    await sleep(100);
    m.consumer.seek({ topic, partition: 0, offset: 3n });
    await produce(10, 2);
    const late = offsets(await poll);
    expect(late.filter((o) => o !== 3 + late.indexOf(o))).toEqual([]);
    const again = [...late, ...offsets(await fetchCount(m.consumer, 9 - late.length))];
    expect(again).toEqual([3, 4, 5, 6, 7, 8, 9, 10, 11]);
    expect(offsets(await m.consumer.fetch({ maxWaitMs: 300 }))).toEqual([]);
    await m.consumer.close();
  });

  it('a stalled member loses its partitions (lost(), not revoked()); a killed one loses them to the survivor', async () => {
    const groupId = uniqueName('crash');
    const sessionTimeoutMs = 3_000;
    const survivor = await startMember('survivor', groupId, topics, { sessionTimeoutMs });
    const c = spawnChild(groupId, sessionTimeoutMs);
    const childOwns = (): TopicPartition[] | undefined => {
      const last = [...c.events].reverse().find((e) => e.type === 'assigned' || e.type === 'revoked' || e.type === 'lost');
      return last?.type === 'assigned' ? last.partitions : undefined;
    };
    const split = async (): Promise<void> => {
      await waitFor(() => {
        const theirs = childOwns();
        const ours = survivor.consumer.assignment();
        return theirs && theirs.length === 4 && names([...theirs, ...ours]).join() === names(all).join() ? true : undefined;
      }, 20_000, () => `child: ${c.log()}\nsurvivor: ${JSON.stringify(survivor.calls)}`);
    };
    await split();

    // Stalled past its session (a long GC pause): the group moves on without it; when it wakes
    // up its generation is gone, so its partitions are lost, not revoked, and it joins afresh.
    const before = c.events.length;
    c.child.kill('SIGSTOP');
    await waitFor(() => (survivor.consumer.assignment().length === 8 ? true : undefined), 15_000, () => JSON.stringify(survivor.calls));
    c.child.kill('SIGCONT');
    await waitFor(() => (c.events.slice(before).some((e) => e.type === 'lost') ? true : undefined), 15_000, c.log);
    const after = c.events.slice(before);
    expect(after.find((e) => e.type === 'lost')).toMatchObject({ partitions: expect.arrayContaining([expect.anything()]) });
    expect(after.some((e) => e.type === 'revoked')).toBe(false);
    await split();

    c.child.kill('SIGKILL');
    await waitFor(() => (survivor.consumer.assignment().length === 8 ? true : undefined), 15_000, () => JSON.stringify(survivor.calls));
    expect(names(survivor.consumer.assignment())).toEqual(names(all));
    expect(survivor.calls.some((x) => x.kind === 'lost')).toBe(false);
    await survivor.consumer.close();
  });
});
