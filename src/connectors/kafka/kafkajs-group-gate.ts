/**
 * The hook that gives kafkajs an onPartitionsRevoked: the co-partitioning assigner, plus a
 * gate on the group coordinator through which every membership request of the consumer goes.
 *
 * kafkajs has no pre-revoke callback, and its rebalance starts from many places (the runner's
 * own heartbeat after an idle fetch or after a batch, a heartbeat inside a handler, a stale
 * metadata recovery inside fetch, a restart after a crash). All of them end in
 * ConsumerGroup.joinAndSync, which first calls `cluster.findGroupCoordinator()` and then
 * `coordinator.joinGroup()`. A PartitionAssigner factory receives that very `cluster` (public
 * kafkajs API: `PartitionAssigner = ({ cluster, groupId, logger }) => Assigner`), so the
 * assigner wraps the coordinator it returns and gets, on the ONE path every rejoin takes:
 *   - joinGroup: `beforeJoin` is awaited before the request is sent. The member is still in the
 *     group in its old generation, the coordinator waits for it (PreparingRebalance), so no
 *     other member can be given its partitions until beforeJoin (listener.revoked) resolved.
 *   - syncGroup: `synced` is awaited with the new assignment before kafkajs sees it, so nothing
 *     is fetched before listener.assigned ran (and the seeks it made are in place).
 *   - leaveGroup: `beforeLeave` is awaited first (close, crash).
 *   - heartbeat: fencing errors are reported, so the next rejoin calls lost() instead of revoked().
 * Nothing else of kafkajs is changed; the wrapper forwards every other property untouched.
 */
import { AssignerProtocol, type Cluster, type PartitionAssigner } from 'kafkajs';
import { CO_PARTITION_PROTOCOL, assignCoPartitioned } from './co-partition-assignor.js';
import type { ClientLog } from './client.js';
import { isFenced } from './kafkajs-errors.js';

/** The coordinator calls this module uses: kafkajs' Broker has them, its typings list only some. */
export interface CoordinatorCalls {
  isConnected(): boolean;
  connect(): Promise<void>;
  joinGroup(request: { memberId?: string }): Promise<{ memberId: string; generationId: number }>;
  syncGroup(request: { generationId: number }): Promise<{ memberAssignment: Buffer }>;
  heartbeat(request: { groupId: string; groupGenerationId: number; memberId: string }): Promise<unknown>;
  leaveGroup(request: { groupId: string; memberId: string }): Promise<unknown>;
  offsetCommit(request: {
    groupId: string;
    groupGenerationId: number;
    memberId: string;
    topics: Array<{ topic: string; partitions: Array<{ partition: number; offset: string; metadata: string | null }> }>;
  }): Promise<unknown>;
}

export interface MembershipHooks {
  /** Awaited before a JoinGroup is sent. memberId '' means kafkajs dropped its membership. */
  beforeJoin(memberId: string): Promise<void>;
  joined(memberId: string, generationId: number): void;
  /** Awaited after SyncGroup answered, before kafkajs takes the assignment. */
  synced(assignment: Record<string, number[]>, generationId: number): Promise<void>;
  /** Awaited before a LeaveGroup is sent. */
  beforeLeave(): Promise<void>;
  /** The coordinator said this member's generation is gone. */
  fenced(): void;
  /** The group's coordinator, unwrapped: for heartbeats and commits of our own. */
  coordinator(broker: CoordinatorCalls): void;
}

const empty = Buffer.alloc(0);

function checkCalls(broker: unknown): CoordinatorCalls {
  const b = broker as Record<string, unknown>;
  for (const name of ['isConnected', 'connect', 'joinGroup', 'syncGroup', 'heartbeat', 'leaveGroup', 'offsetCommit']) {
    if (typeof b[name] !== 'function') {
      throw new Error(`kafkajs internals changed: the group coordinator has no ${name}(); the group consumer cannot gate rebalances`);
    }
  }
  return broker as CoordinatorCalls;
}

function gateCoordinator(broker: CoordinatorCalls, hooks: MembershipHooks): CoordinatorCalls {
  const gated: Partial<CoordinatorCalls> = {
    async joinGroup(request) {
      await hooks.beforeJoin(request.memberId ?? '');
      const res = await broker.joinGroup(request);
      hooks.joined(res.memberId, res.generationId);
      return res;
    },
    async syncGroup(request) {
      const res = await broker.syncGroup(request);
      const decoded = AssignerProtocol.MemberAssignment.decode(res.memberAssignment);
      await hooks.synced(decoded?.assignment ?? {}, request.generationId);
      return res;
    },
    async heartbeat(request) {
      try {
        return await broker.heartbeat(request);
      } catch (err) {
        if (isFenced(err)) hooks.fenced();
        throw err;
      }
    },
    async leaveGroup(request) {
      await hooks.beforeLeave();
      try {
        return await broker.leaveGroup(request);
      } catch (err) {
        // Already out of the group (session expired, fenced): leaving is done. kafkajs would
        // otherwise rethrow this from its crash handler as an unhandled rejection.
        if (isFenced(err)) return {};
        throw err;
      }
    },
  };
  return new Proxy(broker, {
    get(target, prop, receiver) {
      if (typeof prop === 'string' && Object.hasOwn(gated, prop)) return gated[prop as keyof CoordinatorCalls];
      const value: unknown = Reflect.get(target, prop, receiver);
      // kafkajs' Broker keeps its state under symbols on itself: call it as itself.
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

function installGate(cluster: Cluster, hooks: MembershipHooks): void {
  const find = cluster.findGroupCoordinator.bind(cluster);
  const wrapped = new WeakMap<object, CoordinatorCalls>();
  cluster.findGroupCoordinator = async (group) => {
    const broker = await find(group);
    const calls = checkCalls(broker);
    hooks.coordinator(calls);
    let gated = wrapped.get(broker);
    if (!gated) wrapped.set(broker, (gated = gateCoordinator(calls, hooks)));
    return gated as unknown as typeof broker;
  };
}

function partitionCounts(cluster: Cluster, topics: readonly string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const topic of topics) {
    try {
      const md = cluster.findTopicPartitionMetadata(topic);
      if (md.length > 0) counts.set(topic, md.length);
    } catch {
      // Unknown to the leader's metadata: the plan warns about it.
    }
  }
  return counts;
}

/** The co-partitioning assigner for kafkajs, with the membership gate installed on its cluster. */
export function coPartitionAssigner(hooks: MembershipHooks, log: ClientLog | undefined): PartitionAssigner {
  return ({ cluster, groupId }) => {
    installGate(cluster, hooks);
    return {
      name: CO_PARTITION_PROTOCOL,
      version: 1,
      async assign({ members }) {
        const subscriptions = members.map((m) => ({
          memberId: m.memberId,
          topics: AssignerProtocol.MemberMetadata.decode(m.memberMetadata)?.topics ?? [],
        }));
        const plan = assignCoPartitioned(subscriptions, partitionCounts(cluster, [...new Set(subscriptions.flatMap((s) => s.topics))]));
        for (const warning of plan.warnings) log?.warn(`consumer group ${groupId}: ${warning}`, { groupId });
        return subscriptions.map((s) => ({
          memberId: s.memberId,
          memberAssignment: AssignerProtocol.MemberAssignment.encode({
            version: 1,
            assignment: Object.fromEntries(plan.assignments.get(s.memberId) ?? []),
            userData: empty,
          }),
        }));
      },
      protocol({ topics }) {
        return { name: CO_PARTITION_PROTOCOL, metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: empty }) };
      },
    };
  };
}
