/**
 * The coordinator behaviour the group consumer's revoke-before-rejoin relies on (as Kafka's):
 * while the group prepares a rebalance, a member that has not rejoined yet still commits in its
 * generation and keeps its session by heartbeating; once the generation moved on, it cannot.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { silentLogger } from '../../../src/core/logger.js';
import type { JoinGroupRequest } from '../../../src/broker/apis/join-group.js';
import { GroupCoordinator } from '../../../src/broker/groups/coordinator.js';
import { KafkaError } from '../../../src/broker/protocol/error-codes.js';

const coordinators: GroupCoordinator[] = [];
afterEach(() => coordinators.splice(0).forEach((c) => c.close()));

const client = { clientId: 'c', clientHost: '/127.0.0.1' };
const joinReq = (memberId: string, sessionTimeoutMs: number): JoinGroupRequest => ({
  groupId: 'g',
  sessionTimeoutMs,
  rebalanceTimeoutMs: 10_000,
  memberId,
  groupInstanceId: null,
  protocolType: 'consumer',
  protocols: [{ name: 'tributary-copartitioned', metadata: Buffer.alloc(0) }],
});

describe('commits while the group rebalances', () => {
  it('accepts the old generation until the member rejoins, and keeps a heartbeating member past its session', async () => {
    const c = new GroupCoordinator(0, silentLogger);
    coordinators.push(c);
    const aId = (await c.join(joinReq('', 300), 5, client)).memberId;
    const ja = await c.join(joinReq(aId, 300), 5, client);
    await c.sync({ groupId: 'g', generationId: ja.generationId, memberId: aId, assignments: [] });

    // b joins: a is asked to rejoin, and is "revoking" for longer than its 300 ms session.
    const bId = (await c.join(joinReq('', 30_000), 5, client)).memberId;
    const bJoined = c.join(joinReq(bId, 30_000), 5, client);
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 100));
      expect(c.heartbeat('g', aId, ja.generationId)).toBe(KafkaError.REBALANCE_IN_PROGRESS);
    }
    expect(c.groups.get('g')?.state).toBe('PreparingRebalance');
    expect(c.checkCommit('g', aId, ja.generationId)).toBe(KafkaError.NONE);

    // a rejoins: the new generation starts; the old one is refused from then on.
    const [ja2] = await Promise.all([c.join(joinReq(aId, 300), 5, client), bJoined]);
    expect(ja2.generationId).toBe(ja.generationId + 1);
    expect(c.checkCommit('g', aId, ja.generationId)).toBe(KafkaError.ILLEGAL_GENERATION);
  });
});
