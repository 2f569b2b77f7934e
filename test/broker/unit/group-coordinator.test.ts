import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.js';
import type { JoinGroupRequest } from '../../../src/broker/apis/join-group.js';
import { GroupCoordinator } from '../../../src/broker/groups/coordinator.js';
import { KafkaError } from '../../../src/broker/protocol/error-codes.js';

const coordinators: GroupCoordinator[] = [];
afterEach(() => coordinators.splice(0).forEach((c) => c.close()));

function coordinator(): GroupCoordinator {
  const c = new GroupCoordinator(0, silentLogger);
  coordinators.push(c);
  return c;
}

function joinReq(memberId: string, protocols = ['range', 'roundrobin'], sessionTimeoutMs = 10_000): JoinGroupRequest {
  return {
    groupId: 'g',
    sessionTimeoutMs,
    rebalanceTimeoutMs: 5_000,
    memberId,
    groupInstanceId: null,
    protocolType: 'consumer',
    protocols: protocols.map((name) => ({ name, metadata: Buffer.from(`${name}:${memberId}`) })),
  };
}
const client = { clientId: 'c', clientHost: '/127.0.0.1' };

/** First join with v4+: MEMBER_ID_REQUIRED, then the real join. */
async function joinNew(c: GroupCoordinator, protocols?: string[], sessionTimeoutMs?: number) {
  const first = await c.join(joinReq('', protocols, sessionTimeoutMs), 5, client);
  expect(first.errorCode).toBe(KafkaError.MEMBER_ID_REQUIRED);
  expect(first.memberId).not.toBe('');
  return { id: first.memberId, answer: c.join(joinReq(first.memberId, protocols, sessionTimeoutMs), 5, client) };
}

describe('group coordinator', () => {
  it('refuses a session timeout outside group.min/max.session.timeout.ms, as Kafka does (INVALID_SESSION_TIMEOUT)', async () => {
    const c = new GroupCoordinator(0, silentLogger, { min: 6_000, max: 1_800_000 });
    coordinators.push(c);
    expect((await c.join(joinReq('', ['range'], 4_000), 5, client)).errorCode).toBe(KafkaError.INVALID_SESSION_TIMEOUT);
    expect((await c.join(joinReq('', ['range'], 1_800_001), 5, client)).errorCode).toBe(KafkaError.INVALID_SESSION_TIMEOUT);
    expect((await c.join(joinReq('', ['range'], 6_000), 5, client)).errorCode).toBe(KafkaError.MEMBER_ID_REQUIRED);
  });

  it('runs join and sync: metadata only to the leader, a common protocol, followers wait for the leader', async () => {
    const c = coordinator();
    const a = await joinNew(c, ['range', 'roundrobin']);
    const ja = await a.answer;
    expect(ja).toMatchObject({ errorCode: 0, generationId: 1, leader: a.id, protocolName: 'range' });
    expect(c.sync({ groupId: 'g', generationId: 1, memberId: a.id, assignments: [{ memberId: a.id, assignment: Buffer.from('all') }] })).toBeInstanceOf(Promise);

    // A second member whose only protocol is roundrobin: the group moves to it.
    const b = await joinNew(c, ['roundrobin']);
    expect(c.heartbeat('g', a.id, 1)).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    const ja2 = c.join(joinReq(a.id), 5, client);
    const [leader, follower] = await Promise.all([ja2, b.answer]);
    expect(leader).toMatchObject({ generationId: 2, protocolName: 'roundrobin', leader: a.id });
    expect(leader.members.map((m) => m.metadata.toString()).sort()).toEqual([`roundrobin:${a.id}`, `roundrobin:${b.id}`].sort());
    expect(follower.members).toEqual([]);

    let followerDone = false;
    const fSync = Promise.resolve(c.sync({ groupId: 'g', generationId: 2, memberId: b.id, assignments: [] })).then((r) => {
      followerDone = true;
      return r;
    });
    await new Promise((r) => setTimeout(r, 20));
    expect(followerDone).toBe(false);
    const lSync = await c.sync({ groupId: 'g', generationId: 2, memberId: a.id, assignments: [{ memberId: a.id, assignment: Buffer.from('p0') }, { memberId: b.id, assignment: Buffer.from('p1') }] });
    expect(lSync.assignment.toString()).toBe('p0');
    expect((await fSync).assignment.toString()).toBe('p1');
    expect(c.heartbeat('g', b.id, 2)).toBe(KafkaError.NONE);
    expect(c.heartbeat('g', b.id, 1)).toBe(KafkaError.ILLEGAL_GENERATION);
    expect(c.heartbeat('g', 'nobody', 2)).toBe(KafkaError.UNKNOWN_MEMBER_ID);
  });

  it('expires a silent member after its session timeout and rebalances the rest', async () => {
    const c = coordinator();
    const a = await joinNew(c, ['range'], 200);
    await a.answer;
    const b = await joinNew(c, ['range'], 60_000);
    const [ja] = await Promise.all([c.join(joinReq(a.id, ['range'], 200), 5, client), b.answer]);
    await c.sync({ groupId: 'g', generationId: ja.generationId, memberId: ja.leader, assignments: [] });
    // b keeps heartbeating; a goes silent.
    const until = Date.now() + 600;
    let saw = KafkaError.NONE as number;
    while (Date.now() < until && saw === KafkaError.NONE) {
      await new Promise((r) => setTimeout(r, 50));
      saw = c.heartbeat('g', b.id, ja.generationId);
    }
    expect(saw).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    const rejoined = await c.join(joinReq(b.id, ['range'], 60_000), 5, client);
    expect(rejoined).toMatchObject({ errorCode: 0, generationId: ja.generationId + 1, leader: b.id });
    expect(rejoined.members.map((m) => m.memberId)).toEqual([b.id]);
  });

  it('accepts standalone commits and checks generation for member commits', async () => {
    const c = coordinator();
    expect(c.checkCommit('solo', '', -1)).toBe(KafkaError.NONE);
    const a = await joinNew(c);
    const j = await a.answer;
    expect(c.checkCommit('g', a.id, j.generationId)).toBe(KafkaError.REBALANCE_IN_PROGRESS); // awaiting sync
    await c.sync({ groupId: 'g', generationId: j.generationId, memberId: a.id, assignments: [] });
    expect(c.checkCommit('g', a.id, j.generationId)).toBe(KafkaError.NONE);
    expect(c.checkCommit('g', a.id, j.generationId - 1)).toBe(KafkaError.ILLEGAL_GENERATION);
    expect(c.leave('g', a.id)).toBe(KafkaError.NONE);
    expect(c.groups.get('g')?.state).toBe('Empty');
    expect(c.leave('g', a.id)).toBe(KafkaError.UNKNOWN_MEMBER_ID);
  });

  it('refuses a member whose protocols share nothing with the group', async () => {
    const c = coordinator();
    await (await joinNew(c, ['range'])).answer;
    const res = await c.join(joinReq('', ['sticky']), 5, client);
    expect(res.errorCode).toBe(KafkaError.INCONSISTENT_GROUP_PROTOCOL);
  });
});
