/** Consumer-group APIs: membership via the coordinator, offsets via the offset store. */
import type { DeleteGroupsRequest, DeleteGroupsResponse } from '../apis/delete-groups.js';
import type { DescribeGroupsRequest, DescribeGroupsResponse } from '../apis/describe-groups.js';
import type { HeartbeatRequest, HeartbeatResponse } from '../apis/heartbeat.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../apis/join-group.js';
import type { LeaveGroupRequest, LeaveGroupResponse } from '../apis/leave-group.js';
import type { ListGroupsRequest, ListGroupsResponse } from '../apis/list-groups.js';
import type { OffsetCommitRequest, OffsetCommitResponse } from '../apis/offset-commit.js';
import type { OffsetFetchGroupResponse, OffsetFetchRequest, OffsetFetchResponse } from '../apis/offset-fetch.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../apis/sync-group.js';
import { KafkaError } from '../protocol/error-codes.js';
import type { BrokerContext, RequestClient } from './context.js';

export function handleJoinGroup(ctx: BrokerContext, req: JoinGroupRequest, version: number, client: RequestClient): Promise<JoinGroupResponse> | JoinGroupResponse {
  return ctx.groups.join(req, version, client);
}

export function handleSyncGroup(ctx: BrokerContext, req: SyncGroupRequest): Promise<SyncGroupResponse> | SyncGroupResponse {
  return ctx.groups.sync(req);
}

export function handleHeartbeat(ctx: BrokerContext, req: HeartbeatRequest): HeartbeatResponse {
  return { errorCode: ctx.groups.heartbeat(req.groupId, req.memberId, req.generationId) };
}

export function handleLeaveGroup(ctx: BrokerContext, req: LeaveGroupRequest): LeaveGroupResponse {
  const members = req.members.map((m) => ({ ...m, errorCode: ctx.groups.leave(req.groupId, m.memberId) }));
  // v0-2 carry one member and report its error at the top level.
  const errorCode = members.length === 1 ? members[0].errorCode : 0;
  return { errorCode, members };
}

export function handleOffsetCommit(ctx: BrokerContext, req: OffsetCommitRequest): OffsetCommitResponse {
  const check = ctx.groups.checkCommit(req.groupId, req.memberId, req.generationId);
  const accepted: { topic: string; partition: number; offset: number; leaderEpoch: number; metadata: string | null }[] = [];
  const res: OffsetCommitResponse = {
    topics: req.topics.map((t) => ({
      name: t.name,
      partitions: t.partitions.map((p) => {
        if (check !== KafkaError.NONE) return { partitionIndex: p.partitionIndex, errorCode: check };
        if (!ctx.store.partition(t.name, p.partitionIndex)) return { partitionIndex: p.partitionIndex, errorCode: KafkaError.UNKNOWN_TOPIC_OR_PARTITION };
        accepted.push({ topic: t.name, partition: p.partitionIndex, offset: p.offset, leaderEpoch: p.leaderEpoch, metadata: p.metadata });
        return { partitionIndex: p.partitionIndex, errorCode: 0 };
      }),
    })),
  };
  if (!req.groupId) return { topics: res.topics.map((t) => ({ ...t, partitions: t.partitions.map((p) => ({ ...p, errorCode: KafkaError.INVALID_GROUP_ID })) })) };
  ctx.offsets.commit(req.groupId, accepted);
  return res;
}

export function handleOffsetFetch(ctx: BrokerContext, req: OffsetFetchRequest): OffsetFetchResponse {
  return {
    groups: req.groups.map((g): OffsetFetchGroupResponse => {
      let topics = g.topics;
      if (topics === null) {
        const byTopic = new Map<string, number[]>();
        for (const e of ctx.offsets.list(g.groupId)) {
          if (!byTopic.has(e.topic)) byTopic.set(e.topic, []);
          byTopic.get(e.topic)!.push(e.partition);
        }
        topics = [...byTopic].map(([name, partitions]) => ({ name, partitions: partitions.sort((a, b) => a - b) }));
      }
      return {
        groupId: g.groupId,
        errorCode: 0,
        topics: topics.map((t) => ({
          name: t.name,
          partitions: t.partitions.map((p) => {
            const c = ctx.offsets.get(g.groupId, t.name, p);
            return { partitionIndex: p, offset: c?.offset ?? -1, leaderEpoch: c?.leaderEpoch ?? -1, metadata: c?.metadata ?? '', errorCode: 0 };
          }),
        })),
      };
    }),
  };
}

export function handleDescribeGroups(ctx: BrokerContext, req: DescribeGroupsRequest): DescribeGroupsResponse {
  return {
    groups: req.groups.map((groupId) => {
      const g = ctx.groups.groups.get(groupId);
      if (!g) {
        const known = ctx.offsets.list(groupId).length > 0;
        return { errorCode: 0, groupId, state: known ? 'Empty' : 'Dead', protocolType: known ? 'consumer' : '', protocolData: '', members: [] };
      }
      const showMembers = g.state === 'Stable' || g.state === 'CompletingRebalance';
      return {
        errorCode: 0,
        groupId,
        state: g.state,
        protocolType: g.protocolType ?? '',
        protocolData: g.state === 'Stable' ? (g.protocolName ?? '') : '',
        members: [...g.members.values()].map((m) => ({
          memberId: m.memberId,
          groupInstanceId: m.groupInstanceId,
          clientId: m.clientId,
          clientHost: m.clientHost,
          metadata: showMembers ? g.metadataOf(m) : Buffer.alloc(0),
          assignment: g.state === 'Stable' ? m.assignment : Buffer.alloc(0),
        })),
      };
    }),
  };
}

/** Deletes groups without members, with their committed offsets (Kafka: NON_EMPTY_GROUP otherwise). */
export function handleDeleteGroups(ctx: BrokerContext, req: DeleteGroupsRequest): DeleteGroupsResponse {
  return {
    results: req.groups.map((groupId) => {
      if (!groupId) return { groupId, errorCode: KafkaError.INVALID_GROUP_ID };
      const g = ctx.groups.groups.get(groupId);
      if (g && g.members.size > 0) return { groupId, errorCode: KafkaError.NON_EMPTY_GROUP };
      if (!g && ctx.offsets.list(groupId).length === 0) return { groupId, errorCode: KafkaError.GROUP_ID_NOT_FOUND };
      ctx.groups.groups.delete(groupId);
      ctx.offsets.deleteGroup(groupId);
      return { groupId, errorCode: 0 };
    }),
  };
}

export function handleListGroups(ctx: BrokerContext, req: ListGroupsRequest): ListGroupsResponse {
  const seen = new Map<string, { groupId: string; protocolType: string; state: string }>();
  for (const g of ctx.groups.groups.values()) seen.set(g.groupId, { groupId: g.groupId, protocolType: g.protocolType ?? '', state: g.state });
  for (const id of ctx.offsets.groupIds()) if (!seen.has(id)) seen.set(id, { groupId: id, protocolType: 'consumer', state: 'Empty' });
  const filter = req.statesFilter.map((s) => s.toLowerCase());
  const groups = [...seen.values()].filter((g) => filter.length === 0 || filter.includes(g.state.toLowerCase()));
  return { errorCode: 0, groups };
}
