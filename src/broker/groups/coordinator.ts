/**
 * The group coordinator for every group (single broker): join/sync barriers, generation
 * ids, session expiry and rebalance timeouts, after Kafka's classic GroupCoordinator.
 * State lives in memory; after a broker restart members get UNKNOWN_MEMBER_ID and
 * rejoin, while committed offsets (OffsetStore) survive.
 */
import { randomUUID } from 'node:crypto';
import type { Logger } from '../../core/logger.js';
import type { JoinGroupRequest, JoinGroupResponse } from '../apis/join-group.js';
import type { SyncGroupRequest, SyncGroupResponse } from '../apis/sync-group.js';
import { KafkaError } from '../protocol/error-codes.js';
import { Group, type Member } from './group.js';

export interface ClientInfo {
  clientId: string;
  clientHost: string;
}

const empty = Buffer.alloc(0);

export class GroupCoordinator {
  readonly groups = new Map<string, Group>();
  private readonly sweeper: NodeJS.Timeout;

  constructor(
    private readonly initialRebalanceDelayMs: number,
    private readonly logger: Logger,
    /** Kafka's group.min/max.session.timeout.ms: a member asking for more or less is refused. */
    private readonly sessionBounds: { min: number; max: number } = { min: 1, max: Number.MAX_SAFE_INTEGER },
  ) {
    this.sweeper = setInterval(() => this.expireSessions(Date.now()), 100);
    this.sweeper.unref();
  }

  private joinError(errorCode: number, memberId = ''): JoinGroupResponse {
    return { errorCode, generationId: -1, protocolType: null, protocolName: null, leader: '', memberId, members: [] };
  }

  join(req: JoinGroupRequest, version: number, client: ClientInfo): Promise<JoinGroupResponse> | JoinGroupResponse {
    if (!req.groupId) return this.joinError(KafkaError.INVALID_GROUP_ID);
    if (req.sessionTimeoutMs <= 0 || req.sessionTimeoutMs < this.sessionBounds.min || req.sessionTimeoutMs > this.sessionBounds.max) {
      return this.joinError(KafkaError.INVALID_SESSION_TIMEOUT);
    }
    let group = this.groups.get(req.groupId);
    if (!group) this.groups.set(req.groupId, (group = new Group(req.groupId)));
    const g = group;
    const now = Date.now();
    if (g.members.size > 0 && (g.protocolType !== req.protocolType || g.commonProtocols(req.protocols).length === 0)) {
      const existing = g.members.get(req.memberId);
      // A sole member may change its own protocols; anyone else must fit the group.
      if (!(existing && g.members.size === 1)) return this.joinError(KafkaError.INCONSISTENT_GROUP_PROTOCOL, req.memberId);
    }
    if (req.protocols.length === 0) return this.joinError(KafkaError.INCONSISTENT_GROUP_PROTOCOL, req.memberId);

    let memberId = req.memberId;
    if (memberId === '') {
      memberId = `${client.clientId || 'member'}-${randomUUID()}`;
      if (version >= 4) {
        g.pending.set(memberId, now + req.sessionTimeoutMs);
        return this.joinError(KafkaError.MEMBER_ID_REQUIRED, memberId);
      }
    } else if (g.pending.has(memberId)) {
      g.pending.delete(memberId);
    } else if (!g.members.has(memberId)) {
      return this.joinError(KafkaError.UNKNOWN_MEMBER_ID, memberId);
    }

    let m = g.members.get(memberId);
    if (!m) {
      m = {
        memberId,
        groupInstanceId: req.groupInstanceId,
        clientId: client.clientId,
        clientHost: client.clientHost,
        sessionTimeoutMs: req.sessionTimeoutMs,
        rebalanceTimeoutMs: req.rebalanceTimeoutMs,
        protocolType: req.protocolType,
        protocols: req.protocols,
        assignment: empty,
        lastSeen: now,
      };
      g.members.set(memberId, m);
      this.logger.info('member joined', { group: g.groupId, member: memberId, members: g.members.size });
    } else {
      m.protocols = req.protocols;
      m.sessionTimeoutMs = req.sessionTimeoutMs;
      m.rebalanceTimeoutMs = req.rebalanceTimeoutMs;
      m.lastSeen = now;
      m.joinWaiter?.(this.joinError(KafkaError.REBALANCE_IN_PROGRESS, memberId));
    }
    g.protocolType = req.protocolType;
    const member = m;
    const answer = new Promise<JoinGroupResponse>((resolve) => (member.joinWaiter = resolve));
    if (g.state === 'PreparingRebalance') this.maybeCompleteJoin(g);
    else this.prepareRebalance(g, `member ${memberId} joined`);
    return answer;
  }

  private prepareRebalance(g: Group, reason: string): void {
    for (const m of g.members.values()) {
      if (m.syncWaiter) {
        m.syncWaiter({ errorCode: KafkaError.REBALANCE_IN_PROGRESS, protocolType: null, protocolName: null, assignment: empty });
        m.syncWaiter = undefined;
      }
    }
    const wasEmpty = g.state === 'Empty';
    g.state = 'PreparingRebalance';
    this.logger.debug('preparing rebalance', { group: g.groupId, reason, generation: g.generationId });
    clearTimeout(g.rebalanceTimer);
    if (wasEmpty && this.initialRebalanceDelayMs > 0) {
      // A fresh group waits a little so members starting together land in one generation.
      g.delaying = true;
      g.rebalanceTimer = setTimeout(() => {
        g.delaying = false;
        this.maybeCompleteJoin(g);
        if (g.state === 'PreparingRebalance') this.armRebalanceTimeout(g);
      }, this.initialRebalanceDelayMs);
      return;
    }
    g.delaying = false;
    this.armRebalanceTimeout(g);
    this.maybeCompleteJoin(g);
  }

  private armRebalanceTimeout(g: Group): void {
    clearTimeout(g.rebalanceTimer);
    const timeout = Math.max(0, ...[...g.members.values()].map((m) => m.rebalanceTimeoutMs));
    g.rebalanceTimer = setTimeout(() => {
      // Members that did not rejoin within the rebalance timeout are dropped.
      for (const [id, m] of g.members) {
        if (!m.joinWaiter) {
          g.members.delete(id);
          this.logger.info('member removed: did not rejoin within the rebalance timeout', { group: g.groupId, member: id });
        }
      }
      g.pending.clear();
      this.completeJoin(g);
    }, timeout);
  }

  private maybeCompleteJoin(g: Group): void {
    if (g.state !== 'PreparingRebalance' || g.delaying) return;
    for (const m of g.members.values()) if (!m.joinWaiter) return;
    if (g.pending.size > 0) return;
    this.completeJoin(g);
  }

  private completeJoin(g: Group): void {
    clearTimeout(g.rebalanceTimer);
    g.rebalanceTimer = undefined;
    g.delaying = false;
    g.generationId++;
    if (g.members.size === 0) {
      g.state = 'Empty';
      g.protocolName = null;
      g.leaderId = null;
      this.logger.info('group is empty', { group: g.groupId, generation: g.generationId });
      return;
    }
    g.protocolName = g.selectProtocol();
    if (!g.leaderId || !g.members.has(g.leaderId)) g.leaderId = g.members.keys().next().value ?? null;
    g.state = 'CompletingRebalance';
    const now = Date.now();
    const all = [...g.members.values()].map((m) => ({ memberId: m.memberId, groupInstanceId: m.groupInstanceId, metadata: g.metadataOf(m) }));
    this.logger.info('rebalance complete', { group: g.groupId, generation: g.generationId, members: g.members.size, protocol: g.protocolName });
    for (const m of g.members.values()) {
      const waiter = m.joinWaiter;
      m.joinWaiter = undefined;
      m.lastSeen = now;
      m.assignment = empty;
      waiter?.({
        errorCode: KafkaError.NONE,
        generationId: g.generationId,
        protocolType: g.protocolType,
        protocolName: g.protocolName,
        leader: g.leaderId ?? '',
        memberId: m.memberId,
        members: m.memberId === g.leaderId ? all : [],
      });
    }
  }

  sync(req: SyncGroupRequest): Promise<SyncGroupResponse> | SyncGroupResponse {
    const fail = (errorCode: number): SyncGroupResponse => ({ errorCode, protocolType: null, protocolName: null, assignment: empty });
    const g = this.groups.get(req.groupId);
    const m = g?.members.get(req.memberId);
    if (!g || !m) return fail(KafkaError.UNKNOWN_MEMBER_ID);
    if (req.generationId !== g.generationId) return fail(KafkaError.ILLEGAL_GENERATION);
    m.lastSeen = Date.now();
    const ok = (mm: Member): SyncGroupResponse => ({ errorCode: 0, protocolType: g.protocolType, protocolName: g.protocolName, assignment: mm.assignment });
    switch (g.state) {
      case 'PreparingRebalance':
        return fail(KafkaError.REBALANCE_IN_PROGRESS);
      case 'Stable':
        return ok(m);
      case 'CompletingRebalance': {
        const answer = new Promise<SyncGroupResponse>((resolve) => (m.syncWaiter = resolve));
        if (m.memberId === g.leaderId) {
          const given = new Map(req.assignments.map((a) => [a.memberId, a.assignment]));
          for (const mm of g.members.values()) mm.assignment = given.get(mm.memberId) ?? empty;
          g.state = 'Stable';
          for (const mm of g.members.values()) {
            const w = mm.syncWaiter;
            mm.syncWaiter = undefined;
            w?.(ok(mm));
          }
        }
        return answer;
      }
      default:
        return fail(KafkaError.UNKNOWN_MEMBER_ID);
    }
  }

  heartbeat(groupId: string, memberId: string, generationId: number): number {
    const g = this.groups.get(groupId);
    const m = g?.members.get(memberId);
    if (!g || !m) return KafkaError.UNKNOWN_MEMBER_ID;
    m.lastSeen = Date.now();
    if (g.state === 'PreparingRebalance') return KafkaError.REBALANCE_IN_PROGRESS;
    if (generationId !== g.generationId) return KafkaError.ILLEGAL_GENERATION;
    return KafkaError.NONE;
  }

  leave(groupId: string, memberId: string): number {
    const g = this.groups.get(groupId);
    if (!g) return KafkaError.UNKNOWN_MEMBER_ID;
    if (g.pending.delete(memberId)) {
      this.maybeCompleteJoin(g);
      return KafkaError.NONE;
    }
    const m = g.members.get(memberId);
    if (!m) return KafkaError.UNKNOWN_MEMBER_ID;
    this.removeMember(g, m, 'left the group');
    return KafkaError.NONE;
  }

  private removeMember(g: Group, m: Member, why: string): void {
    g.members.delete(m.memberId);
    m.joinWaiter?.(this.joinError(KafkaError.UNKNOWN_MEMBER_ID, m.memberId));
    m.syncWaiter?.({ errorCode: KafkaError.UNKNOWN_MEMBER_ID, protocolType: null, protocolName: null, assignment: empty });
    this.logger.info(`member ${why}`, { group: g.groupId, member: m.memberId, members: g.members.size });
    if (g.state === 'PreparingRebalance') this.maybeCompleteJoin(g);
    else if (g.state === 'Stable' || g.state === 'CompletingRebalance') this.prepareRebalance(g, `member ${why}`);
  }

  /** Validate an offset commit against the group; NONE means store it. */
  checkCommit(groupId: string, memberId: string, generationId: number): number {
    // Standalone commits (assign() users, admin tools) carry no membership.
    if (generationId < 0 && memberId === '') return KafkaError.NONE;
    const g = this.groups.get(groupId);
    const m = g?.members.get(memberId);
    if (!g || !m) return KafkaError.UNKNOWN_MEMBER_ID;
    if (generationId !== g.generationId) return KafkaError.ILLEGAL_GENERATION;
    if (g.state === 'CompletingRebalance') return KafkaError.REBALANCE_IN_PROGRESS;
    m.lastSeen = Date.now();
    return KafkaError.NONE;
  }

  expireSessions(now: number): void {
    for (const g of this.groups.values()) {
      for (const [id, deadline] of g.pending) {
        if (deadline < now) {
          g.pending.delete(id);
          this.maybeCompleteJoin(g);
        }
      }
      for (const m of [...g.members.values()]) {
        // A member blocked in JoinGroup/SyncGroup is waiting on us, not silent.
        if (m.joinWaiter || m.syncWaiter) continue;
        if (now - m.lastSeen > m.sessionTimeoutMs) this.removeMember(g, m, 'session expired');
      }
    }
  }

  close(): void {
    clearInterval(this.sweeper);
    for (const g of this.groups.values()) clearTimeout(g.rebalanceTimer);
  }
}
