/**
 * The Kafka-mode application reset against an in-memory admin: which topics are the app's,
 * refusal while the group has members, and the wait for a cluster that deletes asynchronously.
 * (test/runtime/replay.integration.test.ts runs it through `tributary run --reset-state`.)
 */
import { describe, expect, it } from 'vitest';
import type { KafkaAdmin } from '../../src/kafka/client.js';
import { internalTopics, resetApplication } from '../../src/runtime/app-reset.js';
import { silentLogger } from '../../src/core/logger.js';

/** Topics and groups in memory; deleted topics stay listed for `lag` more listTopics calls. */
function memoryAdmin(topics: string[], groups: Record<string, string>, lag = 0): KafkaAdmin & { deletedGroups: string[]; listCalls: number } {
  const live = new Set(topics);
  const dying = new Map<string, number>();
  const admin = {
    deletedGroups: [] as string[],
    listCalls: 0,
    async createTopics() {},
    async describeTopics() { return []; },
    async brokerCount() { return 1; },
    async listOffsets() { return []; },
    async offsetsForTimes() { return []; },
    async fetchTopicMetadata() { return []; },
    async listTopics() {
      admin.listCalls++;
      for (const [t, n] of dying) {
        if (n <= 0) { live.delete(t); dying.delete(t); } else dying.set(t, n - 1);
      }
      return [...live];
    },
    async deleteTopics(names: string[]) {
      for (const t of names) {
        if (!live.has(t)) throw new Error(`UNKNOWN_TOPIC_OR_PARTITION: ${t}`);
        dying.set(t, lag);
      }
    },
    async groupState(id: string) { return groups[id] ?? 'Dead'; },
    async deleteGroup(id: string) {
      if (groups[id] !== 'Empty') throw new Error(`NON_EMPTY_GROUP or GROUP_ID_NOT_FOUND: ${id}`);
      admin.deletedGroups.push(id);
      delete groups[id];
    },
  };
  return admin;
}

const TOPICS = [
  'loan-applications',
  'risk.user_apply_3d.changelog',
  'risk.per_device.repartition',
  'risk.valid.changelog',
  'risk.b.user_apply_3d.changelog', // app "risk.b"
  'risk.user_apply_3d.changelog.bak',
  'riskier.user_apply_3d.changelog',
  'risk..changelog',
];

describe('internalTopics', () => {
  it("claims <app>.<step>.changelog|repartition only: never another app's (a step id has no dots)", () => {
    expect(internalTopics('risk', TOPICS)).toEqual(['risk.per_device.repartition', 'risk.user_apply_3d.changelog', 'risk.valid.changelog']);
    expect(internalTopics('risk.b', TOPICS)).toEqual(['risk.b.user_apply_3d.changelog']);
    expect(internalTopics('loan', TOPICS)).toEqual([]);
  });
});

describe('resetApplication', () => {
  it('deletes the empty group with its commits and exactly the app\'s internal topics', async () => {
    const admin = memoryAdmin(TOPICS, { risk: 'Empty', other: 'Stable' });
    const result = await resetApplication(admin, 'risk', silentLogger);
    expect(result).toEqual({ groupDeleted: true, topicsDeleted: ['risk.per_device.repartition', 'risk.user_apply_3d.changelog', 'risk.valid.changelog'] });
    expect(admin.deletedGroups).toEqual(['risk']);
    expect((await admin.listTopics()).sort()).toEqual(['loan-applications', 'risk..changelog', 'risk.b.user_apply_3d.changelog', 'risk.user_apply_3d.changelog.bak', 'riskier.user_apply_3d.changelog']);
  });

  it('refuses while the group has members, and touches nothing', async () => {
    for (const state of ['Stable', 'PreparingRebalance', 'CompletingRebalance']) {
      const admin = memoryAdmin(TOPICS, { risk: state });
      await expect(resetApplication(admin, 'risk', silentLogger)).rejects.toThrow(new RegExp(`group 'risk' has active members \\(state ${state}\\)\\. Stop every worker`));
      expect(admin.deletedGroups).toEqual([]);
      expect(await admin.listTopics()).toEqual(TOPICS);
    }
  });

  it('a group that never committed (Dead) is not deleted; its topics still are', async () => {
    const admin = memoryAdmin(TOPICS, {});
    expect(await resetApplication(admin, 'risk', silentLogger)).toMatchObject({ groupDeleted: false, topicsDeleted: expect.arrayContaining(['risk.valid.changelog']) });
    expect(admin.deletedGroups).toEqual([]);
  });

  it('waits until the cluster no longer lists the deleted topics, and gives up with a message', async () => {
    const slow = memoryAdmin(TOPICS, { risk: 'Empty' }, 3);
    await resetApplication(slow, 'risk', silentLogger);
    expect(slow.listCalls).toBeGreaterThanOrEqual(4);
    expect(internalTopics('risk', await slow.listTopics())).toEqual([]);

    const stuck = memoryAdmin(TOPICS, { risk: 'Empty' }, 1_000_000);
    await expect(resetApplication(stuck, 'risk', silentLogger, 300)).rejects.toThrow(/still lists risk\.per_device\.repartition, risk\.user_apply_3d\.changelog, risk\.valid\.changelog .*run the reset again later/);
  });
});
