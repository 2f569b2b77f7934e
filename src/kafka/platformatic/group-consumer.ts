/**
 * A consumer-group member on @platformatic/kafka, speaking the classic group protocol itself
 * (JoinGroup, SyncGroup, Heartbeat, OffsetCommit/OffsetFetch with metadata, LeaveGroup) over
 * platformatic's connections. platformatic's own membership rejoins the moment a heartbeat
 * says "rebalance", which leaves no room to revoke first, and commits without metadata; here
 * a rebalance runs: revoked(all owned) -> JoinGroup -> SyncGroup -> assigned(new), eagerly, as
 * the Java client's eager protocol does. Fenced or timed-out members get lost() instead.
 *
 * Heartbeats run from the moment SyncGroup hands over a generation, also while assigned() runs
 * (a worker restoring state can take longer than a session): a silent member would be expelled
 * while it still believes it owns its partitions, and another member would get them meanwhile.
 * A heartbeat or commit that says "rebalance" while assigned() runs is kept until it returned:
 * listener calls never overlap. An error about a generation this member already left is ignored.
 *
 * Two platformatic clients: one for the coordinator (a JoinGroup can hold its connection for a
 * whole rebalance) and one for fetching (a long-poll Fetch must not delay heartbeats).
 */
import { randomBytes } from 'node:crypto';
import { Consumer, ProtocolError, type Connection, type joinGroupV9, type offsetCommitV9, type offsetFetchV9, type syncGroupV5 } from '@platformatic/kafka';
import { assignCoPartitioned, CO_PARTITION_PROTOCOL } from '../co-partition-assignor.js';
import {
  KafkaClientError,
  type CommitOffset,
  type CommittedOffset,
  type FetchOptions,
  type GroupConsumer,
  type GroupConsumerOptions,
  type GroupRebalanceListener,
  type KafkaClientOptions,
  type TopicPartition,
} from '../client.js';
import { PartitionFetcher, sleep } from './fetcher.js';
import { leafErrors, protocolIds, toClientError } from './errors.js';
import { CoordinatorLink } from './coordinator.js';
import { isRetriableKafkaError, type KafkaRetrier, type RetriedCall } from '../retry.js';
import { decodeAssignment, decodeSubscription, encodeAssignment, encodeSubscription } from './group-protocol.js';
import { call, connectionTo, platformaticBaseOptions } from './wire.js';

type JoinArgs = [groupId: string, sessionTimeoutMs: number, rebalanceTimeoutMs: number, memberId: string, groupInstanceId: string | null,
  protocolType: string, protocols: joinGroupV9.JoinGroupRequestProtocol[], reason?: string | null];
type SyncArgs = [groupId: string, generationId: number, memberId: string, groupInstanceId: string | null, protocolType: string | null,
  protocolName: string | null, assignments: syncGroupV5.SyncGroupRequestAssignment[]];
type HeartbeatArgs = [groupId: string, generationId: number, memberId: string, groupInstanceId?: string | null];
type CommitArgs = [groupId: string, generation: number, memberId: string | null, groupInstanceId: string | null, topics: offsetCommitV9.OffsetCommitRequestTopic[]];
type OffsetFetchArgs = [groups: offsetFetchV9.OffsetFetchRequestGroup[], requireStable: boolean];
type LeaveArgs = [groupId: string, members: Array<{ memberId: string; groupInstanceId?: string | null; reason?: string | null }>];

/** Error ids after which the member must join again with a fresh identity (its partitions are gone). */
const FENCED = new Set(['UNKNOWN_MEMBER_ID', 'ILLEGAL_GENERATION', 'FENCED_INSTANCE_ID']);
const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

/** `retrier`: (re)joining rides out broker faults with it (a broker restart ends every membership). */

/** What real Kafka answers while a group's coordinator loads, moves or is not elected yet. */
const COORDINATOR_BUSY = new Set(['NOT_COORDINATOR', 'COORDINATOR_LOAD_IN_PROGRESS', 'COORDINATOR_NOT_AVAILABLE']);
/** ~30 s of backoff (100 ms doubling to 1 s): a coordinator loading a big offsets partition. */
const COORDINATOR_ATTEMPTS = 35;
const coordinatorBusy = (err: unknown): boolean => protocolIds(err).some((id) => COORDINATOR_BUSY.has(id));
const coordinatorBackoff = (attempt: number): Promise<void> => new Promise((r) => setTimeout(r, Math.min(1_000, 100 * 2 ** attempt)));
export function createPlatformaticGroupConsumer(options: KafkaClientOptions, group: GroupConsumerOptions, onClose: () => void, retrier?: KafkaRetrier): GroupConsumer {
  return new PlatformaticGroupConsumer(options, group, onClose, retrier);
}

class PlatformaticGroupConsumer implements GroupConsumer {
  generation = -1;
  private memberId = '';
  private owned: TopicPartition[] = [];
  private readonly paused = new Set<string>();
  private topics: string[] = [];
  private listener: GroupRebalanceListener | undefined;
  private readonly coord: Consumer;
  private readonly data: Consumer;
  private readonly fetcher: PartitionFetcher;
  private readonly sessionTimeoutMs: number;
  private readonly rebalanceTimeoutMs: number;
  private readonly heartbeatIntervalMs: number;
  /** False while (re)joining or revoking: fetch() returns nothing then. */
  private ready = false;
  private closed = false;
  private rebalancing: Promise<void> | undefined;
  /** Counts generations this member joined: an answer to a request sent in an earlier one is stale. */
  private epoch = 0;
  /** Between SyncGroup and the end of assigned(): a rebalance asked for meanwhile waits in `queued`. */
  private assigning = false;
  private queued: 'revoke' | 'lost' | undefined;
  private heartbeatInFlight = false;
  /** A JoinGroup/SyncGroup holds the coordinator connection: no heartbeats meanwhile. */
  private joining = false;
  private heartbeatTimer: NodeJS.Timeout | undefined;
  private stopHeartbeats = false;
  private lastHeartbeatOk = Date.now();
  private failure: unknown;
  private readonly link: CoordinatorLink;

  constructor(
    private readonly options: KafkaClientOptions,
    private readonly group: GroupConsumerOptions,
    private readonly onClose: () => void,
    private readonly retrier: KafkaRetrier | undefined,
  ) {
    this.sessionTimeoutMs = group.sessionTimeoutMs ?? 10_000;
    this.rebalanceTimeoutMs = group.rebalanceTimeoutMs ?? 60_000;
    this.heartbeatIntervalMs = group.heartbeatIntervalMs ?? Math.max(100, Math.min(3_000, Math.floor(this.sessionTimeoutMs / 3)));
    const base = platformaticBaseOptions(options, 'group');
    const requestTimeout = Math.max(base.requestTimeout ?? 30_000, this.rebalanceTimeoutMs + 5_000);
    // The random groupId keeps platformatic's own membership code away from the real group.
    const shadow = `tributary-shadow-${randomBytes(6).toString('hex')}`;
    this.coord = new Consumer({ ...base, requestTimeout, groupId: shadow });
    this.data = new Consumer({ ...platformaticBaseOptions(options, 'fetch'), groupId: shadow });
    this.fetcher = new PartitionFetcher(this.data);
    this.link = new CoordinatorLink(this.coord, group.groupId);
  }

  assignment(): TopicPartition[] {
    return [...this.owned];
  }

  async subscribe(topics: string[], listener: GroupRebalanceListener): Promise<void> {
    if (this.listener) throw new KafkaClientError('kafka subscribe: this group consumer is already subscribed', false);
    this.topics = [...new Set(topics)].sort();
    this.listener = listener;
    try {
      await this.join();
    } catch (err) {
      // The member could not take its first assignment: stop heartbeating so the group moves on.
      clearTimeout(this.heartbeatTimer);
      this.stopHeartbeats = true;
      throw err;
    }
    this.scheduleHeartbeat();
    this.runQueued();
  }

  seek(position: { topic: string; partition: number; offset: bigint }): void {
    if (!this.owns(position.topic, position.partition)) {
      throw new KafkaClientError(`kafka seek: ${position.topic}[${position.partition}] is not owned by this member`, false, { rebalance: true });
    }
    this.fetcher.set(position.topic, position.partition, position.offset);
  }

  pause(partitions: TopicPartition[]): void {
    for (const p of partitions) {
      this.paused.add(tpKey(p.topic, p.partition));
      this.fetcher.setPaused(p.topic, p.partition, true);
    }
  }

  resume(partitions: TopicPartition[]): void {
    for (const p of partitions) {
      this.paused.delete(tpKey(p.topic, p.partition));
      this.fetcher.setPaused(p.topic, p.partition, false);
    }
  }

  async fetch(options: FetchOptions = {}) {
    if (this.failure !== undefined) {
      const err = this.failure;
      this.failure = undefined;
      throw toClientError('kafka group membership', err);
    }
    if (!this.ready || this.closed) {
      await Promise.race([this.rebalancing ?? new Promise<void>(() => {}), sleep(options.maxWaitMs ?? 500, options.signal)]);
      return [];
    }
    return this.fetcher.fetch(options);
  }

  async committed(partitions: TopicPartition[]): Promise<CommittedOffset[]> {
    if (partitions.length === 0) return [];
    try {
      const conn = await this.link.connection();
      const topics = groupByTopic(partitions).map(([name, list]) => ({ name, partitionIndexes: list }));
      const res = await call<OffsetFetchArgs, offsetFetchV9.OffsetFetchResponse>(this.coord, 'OffsetFetch', conn,
        [[{ groupId: this.group.groupId, memberId: null, memberEpoch: -1, topics }], false]);
      const found = new Map<string, { offset: bigint; metadata: string | null | undefined }>();
      for (const t of res.groups[0]?.topics ?? []) {
        for (const p of t.partitions) found.set(tpKey(t.name, p.partitionIndex), { offset: p.committedOffset, metadata: p.metadata ?? null });
      }
      return partitions.map(({ topic, partition }) => {
        const f = found.get(tpKey(topic, partition));
        const offset = f !== undefined && f.offset >= 0n ? f.offset : null;
        return { topic, partition, offset, metadata: offset === null ? '' : (f?.metadata ?? '') };
      });
    } catch (err) {
      this.link.failed(err);
      throw toClientError('kafka committed offsets', err);
    }
  }

  async commit(offsets: CommitOffset[]): Promise<void> {
    if (offsets.length === 0) return;
    const foreign = offsets.find((o) => !this.owns(o.topic, o.partition));
    if (foreign || this.generation < 0) {
      const what = foreign ? `${foreign.topic}[${foreign.partition}] is not owned by this member` : 'the member has no generation';
      throw new KafkaClientError(`kafka commit: ${what} (the group rebalanced); the commit did not count`, false, { rebalance: true });
    }
    const byTopic = new Map<string, offsetCommitV9.OffsetCommitRequestPartition[]>();
    for (const o of offsets) {
      let list = byTopic.get(o.topic);
      if (!list) byTopic.set(o.topic, (list = []));
      list.push({ partitionIndex: o.partition, committedOffset: o.offset, committedLeaderEpoch: -1, committedMetadata: o.metadata ?? '' });
    }
    const generation = this.generation;
    const epoch = this.epoch;
    let res: offsetCommitV9.OffsetCommitResponse;
    try {
      const conn = await this.link.connection();
      res = await call<CommitArgs, offsetCommitV9.OffsetCommitResponse>(this.coord, 'OffsetCommit', conn,
        [this.group.groupId, generation, this.memberId, null, [...byTopic].map(([name, partitions]) => ({ name, partitions }))], true);
    } catch (err) {
      this.link.failed(err);
      const e = toClientError('kafka commit', err);
      if (e.rebalance) this.onMembershipError(err, epoch);
      throw e;
    }
    const failed = res.topics.flatMap((t) => t.partitions.filter((p) => p.errorCode !== 0).map((p) => ({ topic: t.name, ...p })));
    if (failed.length === 0) return;
    // Rebuild the error the way platformatic reports it, so the flags come from one place.
    const errors = failed.map((f) => new ProtocolError(f.errorCode));
    this.link.failed({ errors });
    const e = toClientError(`kafka commit (generation ${generation}) of ${failed.map((f) => `${f.topic}[${f.partitionIndex}]`).join(', ')}`, { message: 'refused', errors });
    if (e.rebalance) this.onMembershipError({ errors }, epoch);
    throw e;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.heartbeatTimer);
    try {
      await this.rebalancing?.catch(() => {});
      const owned = this.owned;
      this.ready = false;
      this.fetcher.clear();
      if (owned.length > 0 && this.listener) await this.listener.revoked(owned);
      this.owned = [];
      if (this.memberId !== '') {
        const conn = await this.link.connection();
        await call<LeaveArgs, unknown>(this.coord, 'LeaveGroup', conn, [this.group.groupId, [{ memberId: this.memberId, groupInstanceId: null, reason: 'closing' }]]).catch(() => {});
      }
    } finally {
      this.fetcher.close();
      this.generation = -1;
      this.memberId = '';
      await Promise.allSettled([this.coord.close(true), this.data.close(true)]);
      this.onClose();
    }
  }

  // ---------------------------------------------------------------------------------------

  private owns(topic: string, partition: number): boolean {
    return this.owned.some((p) => p.topic === topic && p.partition === partition);
  }

  /** JoinGroup + SyncGroup until a generation sticks, then positions and listener.assigned(). */
  private async join(): Promise<void> {
    this.ready = false;
    this.joining = true;
    try {
      await this.joinOnce();
    } finally {
      this.joining = false;
    }
    if (this.closed) return;
    this.epoch++;
    this.assigning = true;
    this.scheduleHeartbeat();
    try {
      this.paused.clear();
      this.fetcher.clear();
      await this.startPositions();
      await this.listener!.assigned(this.assignment(), this.generation);
    } finally {
      this.assigning = false;
    }
    this.ready = true;
  }

  private async joinOnce(): Promise<void> {
    const outage = this.retrier?.call('kafka join group');
    try {
      await this.joinAttempts(outage);
    } finally {
      outage?.done();
    }
  }

  private async joinAttempts(outage: RetriedCall | undefined): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      if (this.closed) return;
      let conn: Connection;
      try {
        conn = await this.link.connection();
      } catch (err) {
        const e = toClientError('kafka find group coordinator', err);
        if (!outage && coordinatorBusy(err) && attempt < COORDINATOR_ATTEMPTS) {
          await coordinatorBackoff(attempt);
          continue;
        }
        if (!outage || !isRetriableKafkaError(e)) throw e;
        await outage.failed(e);
        continue;
      }
      try {
        const joined = await call<JoinArgs, joinGroupV9.JoinGroupResponse>(this.coord, 'JoinGroup', conn, [
          this.group.groupId, this.sessionTimeoutMs, this.rebalanceTimeoutMs, this.memberId, null, 'consumer',
          [{ name: CO_PARTITION_PROTOCOL, metadata: encodeSubscription(this.topics) }], null,
        ]);
        this.memberId = joined.memberId ?? this.memberId;
        const assignments = joined.leader === this.memberId ? await this.plan(joined.members) : [];
        const synced = await call<SyncArgs, syncGroupV5.SyncGroupResponse>(this.coord, 'SyncGroup', conn, [
          this.group.groupId, joined.generationId, this.memberId, null, 'consumer', CO_PARTITION_PROTOCOL, assignments,
        ]);
        this.generation = joined.generationId;
        this.owned = decodeAssignment(synced.assignment).filter((p) => this.topics.includes(p.topic));
        this.lastHeartbeatOk = Date.now();
        break;
      } catch (err) {
        this.link.failed(err);
        const ids = protocolIds(err);
        const e = toClientError('kafka join group', err);
        if (!outage && coordinatorBusy(err) && attempt < COORDINATOR_ATTEMPTS) {
          // Without a retrier still ride out what real Kafka answers while the group's
          // coordinator loads __consumer_offsets or moves: look it up again, ask again.
          await coordinatorBackoff(attempt);
          continue;
        }
        if (outage && isRetriableKafkaError(e) && !ids.some((id) => id === 'REBALANCE_IN_PROGRESS' || id === 'MEMBER_ID_REQUIRED')) {
          // The coordinator is down, moving or loading (after a broker restart): ask again.
          await outage.failed(e);
          continue;
        }
        const memberId = leafErrors(err).map((l) => (l as { memberId?: string }).memberId).find((m) => typeof m === 'string' && m !== '');
        if (ids.includes('MEMBER_ID_REQUIRED') && memberId) this.memberId = memberId;
        else if (ids.includes('UNKNOWN_MEMBER_ID')) this.memberId = '';
        else if (!ids.some((id) => id === 'REBALANCE_IN_PROGRESS' || FENCED.has(id)) || attempt > 20) throw e;
      }
    }
  }

  /** The leader's job: the co-partitioned plan for every member. */
  private async plan(members: joinGroupV9.JoinGroupResponseMember[]): Promise<syncGroupV5.SyncGroupRequestAssignment[]> {
    const subs = members.map((m) => ({ memberId: m.memberId, topics: m.metadata ? decodeSubscription(m.metadata) : [] }));
    const topics = [...new Set(subs.flatMap((s) => s.topics))];
    const md = await this.coord.metadata({ topics, forceUpdate: true });
    const counts = new Map<string, number>();
    for (const t of topics) {
      const count = md.topics.get(t)?.partitionsCount;
      if (count !== undefined) counts.set(t, count);
    }
    const plan = assignCoPartitioned(subs, counts);
    for (const w of plan.warnings) this.options.log?.warn(`kafka group ${this.group.groupId}: ${w}`);
    return [...plan.assignments].map(([memberId, assignment]) => ({ memberId, assignment: encodeAssignment(assignment) }));
  }

  /** Committed offset where there is one, else the log start: the listener may seek elsewhere. */
  private async startPositions(): Promise<void> {
    if (this.owned.length === 0) return;
    const retry = <T>(what: string, fn: () => Promise<T>): Promise<T> => (this.retrier ? this.retrier.run(what, fn) : fn());
    const committed = await retry('kafka committed offsets', () => this.committed(this.owned));
    const missing = committed.filter((c) => c.offset === null);
    const earliest = missing.length === 0
      ? new Map<string, bigint[]>()
      : await retry('kafka list offsets', () => this.data.listOffsets({ topics: [...new Set(missing.map((m) => m.topic))], timestamp: -2n }).catch((err: unknown) => {
        throw toClientError('kafka list offsets', err);
      }));
    for (const c of committed) this.fetcher.set(c.topic, c.partition, c.offset ?? earliest.get(c.topic)?.[c.partition] ?? 0n);
  }

  private scheduleHeartbeat(): void {
    clearTimeout(this.heartbeatTimer);
    if (this.closed || this.stopHeartbeats) return;
    this.heartbeatTimer = setTimeout(() => void this.heartbeat(), this.heartbeatIntervalMs);
    this.heartbeatTimer.unref?.();
  }

  private async heartbeat(): Promise<void> {
    if (this.closed || this.stopHeartbeats) return;
    // One at a time; none while a JoinGroup/SyncGroup holds the coordinator connection.
    if (this.joining || this.heartbeatInFlight) return this.scheduleHeartbeat();
    this.heartbeatInFlight = true;
    const epoch = this.epoch;
    try {
      const conn = await this.link.connection();
      await call<HeartbeatArgs, unknown>(this.coord, 'Heartbeat', conn, [this.group.groupId, this.generation, this.memberId, null]);
      this.lastHeartbeatOk = Date.now();
    } catch (err) {
      this.link.failed(err);
      if (protocolIds(err).length > 0) this.onMembershipError(err, epoch);
      else if (epoch === this.epoch && Date.now() - this.lastHeartbeatOk > this.sessionTimeoutMs) this.rebalance('lost');
    } finally {
      this.heartbeatInFlight = false;
    }
    this.scheduleHeartbeat();
  }

  /** `epoch`: when the failed request was sent. About a generation already left: nothing to do. */
  private onMembershipError(err: unknown, epoch: number): void {
    if (epoch !== this.epoch) return;
    const ids = protocolIds(err);
    if (ids.some((id) => FENCED.has(id))) {
      if (ids.includes('UNKNOWN_MEMBER_ID')) this.memberId = '';
      this.rebalance('lost');
    } else if (ids.includes('REBALANCE_IN_PROGRESS')) {
      this.rebalance('revoke');
    }
  }

  /**
   * Revoke (or lose) everything, then join again. One at a time; a failure surfaces in fetch().
   * Asked for while assigned() runs, it waits for it (the generation being assigned is the one
   * that ended); asked for while an earlier rebalance has not joined yet, that one covers it.
   */
  private rebalance(kind: 'revoke' | 'lost'): void {
    if (this.closed || !this.listener) return;
    if (this.assigning) {
      this.queued = this.queued === 'lost' ? 'lost' : kind;
      return;
    }
    if (this.rebalancing) return;
    const listener = this.listener;
    this.ready = false;
    this.fetcher.clear();
    this.rebalancing = (async () => {
      const owned = this.owned;
      if (kind === 'lost') {
        // Refuse commits at once: the partitions may already belong to someone else.
        this.owned = [];
        this.generation = -1;
        if (owned.length > 0) await (listener.lost ? listener.lost(owned) : listener.revoked(owned));
      } else if (owned.length > 0) {
        // Still owned while the listener checkpoints: its commits count in this generation.
        await listener.revoked(owned);
      }
      this.owned = [];
      await this.join();
    })()
      .catch((err: unknown) => { this.failure = err; })
      .finally(() => {
        this.rebalancing = undefined;
        this.scheduleHeartbeat();
        if (this.failure === undefined) this.runQueued();
        else this.queued = undefined;
      });
  }

  private runQueued(): void {
    const kind = this.queued;
    this.queued = undefined;
    if (kind) this.rebalance(kind);
  }
}

function groupByTopic(partitions: TopicPartition[]): Array<[string, number[]]> {
  const m = new Map<string, number[]>();
  for (const p of partitions) {
    let list = m.get(p.topic);
    if (!list) m.set(p.topic, (list = []));
    list.push(p.partition);
  }
  return [...m];
}
