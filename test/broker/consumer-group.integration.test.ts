// A consumer group survives a crashed member: with three members on a six-partition topic,
// kill -9 one; within the session timeout its partitions move to the other two and every
// record, including those produced after the crash, is consumed. Run with each client, on real
// Kafka and on the dev broker: the group semantics a client relies on.
import { spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueName, waitFor } from '../helpers/broker.js';
import { describeOnBrokers } from '../helpers/kafka.js';
import { repoRoot } from '../helpers/cli.js';
import { clientAdapters } from '../helpers/kafka-adapters.js';
import type { KafkaTestClient } from '../helpers/kafka-clients.js';
import type { MemberEvent } from '../helpers/group-member-child.js';

const PARTITIONS = 6;
const SESSION_TIMEOUT_MS = 6_000;

interface Member {
  id: number;
  child: ChildProcess;
  assigned: number[] | undefined;
  values: Set<string>;
  log: string;
}

function startMember(id: number, adapter: string, brokers: string[], topic: string, groupId: string): Member {
  const child = spawn(
    process.execPath,
    ['--import', 'tsx', join(repoRoot, 'test', 'helpers', 'group-member-child.ts'), adapter, brokers.join(','), topic, groupId, String(SESSION_TIMEOUT_MS)],
    { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const member: Member = { id, child, assigned: undefined, values: new Set(), log: '' };
  let partial = '';
  child.stdout?.on('data', (d: Buffer) => {
    partial += d.toString();
    const lines = partial.split('\n');
    partial = lines.pop() ?? '';
    for (const line of lines) {
      if (!line.trim()) continue;
      const e = JSON.parse(line) as MemberEvent;
      if (e.type === 'assigned') { member.assigned = e.partitions; member.log += `${line}\n`; }
      else if (e.type === 'record' && e.value !== null) member.values.add(e.value);
      else member.log += `${line}\n`;
    }
  });
  child.stderr?.on('data', (d: Buffer) => { member.log += d.toString(); });
  return member;
}

function describeMembers(members: Member[]): string {
  return members
    .map((m) => `member ${m.id} (exit ${m.child.exitCode ?? m.child.signalCode ?? 'running'}): assigned ${JSON.stringify(m.assigned)}, ${m.values.size} values\n${m.log.slice(-1500)}`)
    .join('\n');
}

/** The members' current assignments when they are disjoint and cover every partition. */
function coverage(members: Member[]): number[][] | undefined {
  const sets = members.map((m) => m.assigned ?? []);
  const all = sets.flat().sort((a, b) => a - b);
  const expected = Array.from({ length: PARTITIONS }, (_, i) => i);
  return JSON.stringify(all) === JSON.stringify(expected) ? sets : undefined;
}

const records = (prefix: string): Array<{ key: string; value: string; partition: number }> =>
  Array.from({ length: PARTITIONS * 5 }, (_, i) => ({ key: `k${i}`, value: `${prefix}-${i}`, partition: i % PARTITIONS }));

describeOnBrokers('consumer group with a crashed member', (kafka) => describe.each(clientAdapters)('with $name', (adapter) => {
  let target: { brokers: string[] };
  let client: KafkaTestClient;
  const members: Member[] = [];

  beforeAll(async () => {
    target = kafka();
    client = adapter.connect(target.brokers);
  });

  afterAll(async () => {
    for (const m of members) if (m.child.exitCode === null && m.child.signalCode === null) m.child.kill('SIGKILL');
    await client?.close();
  });

  it('moves a killed member\'s partitions to the others within the session timeout and consumes every record', async () => {
    const topic = uniqueName('group');
    const groupId = uniqueName('group-g');
    await client.createTopic(topic, PARTITIONS);
    const before = records('before');
    await client.produce(topic, before, { acks: -1 });

    for (let i = 0; i < 3; i++) members.push(startMember(i, adapter.name, target.brokers, topic, groupId));
    const initial = await waitFor(
      () => { const c = coverage(members); return c && c.every((s) => s.length > 0) ? c : undefined; },
      40_000,
      () => `three members never shared all ${PARTITIONS} partitions:\n${describeMembers(members)}`,
    );
    expect(initial.map((s) => s.length)).toEqual([2, 2, 2]);
    await waitFor(
      () => (before.every((r) => members.some((m) => m.values.has(r.value))) ? true : undefined),
      15_000,
      () => `not every record produced before the crash was consumed:\n${describeMembers(members)}`,
    );

    const [victim, ...survivors] = members;
    const victimPartitions = victim.assigned ?? [];
    victim.child.kill('SIGKILL');
    const after = records('after');
    await client.produce(topic, after, { acks: -1 });

    // Session expiry (6 s) plus one rebalance round; a broker that never expires the dead
    // member leaves its partitions unowned and this times out.
    const moved = await waitFor(
      () => coverage(survivors),
      SESSION_TIMEOUT_MS + 8_000,
      () => `the killed member's partitions ${JSON.stringify(victimPartitions)} did not move to the survivors:\n${describeMembers(members)}`,
    );
    expect(moved.flat().sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 5]);

    await waitFor(
      () => (after.every((r) => survivors.some((m) => m.values.has(r.value))) ? true : undefined),
      15_000,
      () => {
        const missing = after.filter((r) => !survivors.some((m) => m.values.has(r.value))).map((r) => `${r.value}@p${r.partition}`);
        return `records produced after the crash not consumed by the survivors: ${missing.join(', ')}\n${describeMembers(members)}`;
      },
    );

    for (const m of survivors) m.child.kill('SIGTERM');
  });
}));
