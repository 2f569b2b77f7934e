/**
 * The consumer-group member on kafkajs: co-partitioned assignment, revoke-before-rejoin,
 * pull-style fetch, commits with metadata in the current generation.
 *
 * Revoke before rejoin. kafkajs has no pre-revoke callback, and holding an eachBatch handler is
 * not enough: most rebalances are noticed by the runner's own heartbeat after an idle fetch or
 * after a batch, outside any handler, and kafkajs then rejoins at once. Instead every JoinGroup
 * of this consumer goes through a gate (kafkajs-group-gate.ts) that awaits listener.revoked()
 * for all owned partitions before the request is sent. Until then the member has not rejoined,
 * so the coordinator, in PreparingRebalance, cannot complete the rebalance and no other member
 * can be given these partitions. While revoked() runs we heartbeat the coordinator ourselves
 * (kafkajs' fetch loop is stopped by then) so the session does not expire, and commit() still
 * works: the generation is unchanged until everyone rejoined, and the coordinator accepts
 * commits of the current generation during PreparingRebalance (as Kafka does). The protocol is
 * eager, as Kafka Streams before KIP-429: every rebalance revokes everything owned.
 * If the coordinator says the generation is gone (fenced, session expired), the partitions are
 * reported to lost() instead, and commits for them are refused by the coordinator anyway.
 *
 * Fetching. kafkajs pushes batches; they are buffered per partition until fetch() takes them.
 * A partition's buffer starts when it is assigned and is dropped when it is revoked; a seek drops
 * what was buffered before the new position; a paused partition keeps its buffer and kafkajs
 * stops fetching it. Past MAX_BUFFERED messages the batch handler waits (heartbeating), which
 * holds kafkajs' fetch loop (so at most MAX_BUFFERED plus one fetch response is held).
 *
 * Commits go as one OffsetCommit, with metadata, straight to the coordinator in the generation
 * of the current assignment, not through consumer.commitOffsets(): that one silently does
 * nothing while kafkajs' runner is between runs and retries on its own, where the runtime must
 * learn at once that its checkpoint did not count. Partitions not owned are refused before
 * anything is sent.
 *
 * An assigned() that throws is fatal for the member: fetch() and subscribe() reject with it.
 */
import type { Admin, Consumer, EachBatchPayload, Kafka } from 'kafkajs';
import {
  KafkaClientError,
  type ClientLog,
  type CommitOffset,
  type CommittedOffset,
  type ConsumedMessage,
  type FetchOptions,
  type GroupConsumer,
  type GroupConsumerOptions,
  type GroupRebalanceListener,
  type TopicPartition,
  type TopicPartitionOffset,
} from './client.js';
import { isFenced, toClientError, toGroupError } from './kafkajs-errors.js';
import { coPartitionAssigner, type CoordinatorCalls, type MembershipHooks } from './kafkajs-group-gate.js';
import { toConsumed, waitForWake } from './kafkajs-messages.js';

/** Buffered messages over all partitions beyond which kafkajs is held back. */
const MAX_BUFFERED = 10_000;
/** kafkajs crashes in a row (no assignment between) after which the member gives up. */
const MAX_CRASHES = 5;

interface PartitionState {
  topic: string;
  partition: number;
  buffer: ConsumedMessage[];
  /** Next offset wanted; undefined until a seek or the first message. Older messages are dropped. */
  next: bigint | undefined;
  paused: boolean;
}

export interface KafkajsGroupConsumerDeps {
  kafka: Kafka;
  admin: () => Promise<Admin>;
  log: ClientLog | undefined;
  onClose: () => void;
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;
const byTopicPartition = (a: TopicPartition, b: TopicPartition): number =>
  a.topic < b.topic ? -1 : a.topic > b.topic ? 1 : a.partition - b.partition;
const listOf = (tps: readonly TopicPartition[]): string => tps.map((t) => `${t.topic}[${t.partition}]`).join(', ');

function byTopic<T extends TopicPartition>(tps: readonly T[]): Map<string, T[]> {
  const out = new Map<string, T[]>();
  for (const tp of tps) {
    let list = out.get(tp.topic);
    if (!list) out.set(tp.topic, (list = []));
    list.push(tp);
  }
  return out;
}

export function createKafkajsGroupConsumer(deps: KafkajsGroupConsumerDeps, options: GroupConsumerOptions): GroupConsumer {
  const groupId = options.groupId;
  const sessionTimeout = options.sessionTimeoutMs ?? 10_000;
  const rebalanceTimeout = options.rebalanceTimeoutMs ?? 60_000;
  const heartbeatInterval = options.heartbeatIntervalMs ?? Math.max(100, Math.min(3_000, Math.floor(sessionTimeout / 3)));

  let consumer: Consumer | undefined;
  let listener: GroupRebalanceListener | undefined;
  let topics: string[] = [];
  const owned = new Map<string, PartitionState>();
  let generation = -1;
  let memberId = '';
  let memberGeneration = -1;
  let fenced = false;
  let coordinator: CoordinatorCalls | undefined;
  let buffered = 0;
  let closing = false;
  let closed: Promise<void> | undefined;
  let failure: KafkaClientError | undefined;
  let firstAssignment: { resolve: () => void; reject: (err: unknown) => void } | undefined;
  /** Listener calls run one at a time, in order: assigned, revoked and lost never overlap. */
  let serial: Promise<void> = Promise.resolve();
  let wakeFetch: (() => void) | undefined;
  let wakeHandler: (() => void) | undefined;

  const notifyFetch = (): void => { wakeFetch?.(); wakeFetch = undefined; };
  const notifyHandler = (): void => { wakeHandler?.(); wakeHandler = undefined; };

  const inSeries = (fn: () => Promise<void>): Promise<void> => {
    const run = serial.then(fn);
    serial = run.catch(() => {});
    return run;
  };

  /** Keeps the session alive while a listener callback runs and kafkajs' own loop is parked. */
  const withHeartbeats = async (fn: () => Promise<void>): Promise<void> => {
    const timer = setInterval(() => {
      const c = coordinator;
      if (!c || !memberId || memberGeneration < 0) return;
      c.heartbeat({ groupId, groupGenerationId: memberGeneration, memberId }).catch((err: unknown) => {
        if (isFenced(err)) fenced = true;
      });
    }, heartbeatInterval);
    try {
      await fn();
    } finally {
      clearInterval(timer);
    }
  };

  const forget = (): void => {
    const paused = [...owned.values()].filter((s) => s.paused);
    owned.clear();
    buffered = 0;
    notifyHandler();
    // kafkajs keeps pause state across rebalances; ours starts afresh with each assignment.
    if (consumer && paused.length > 0) {
      consumer.resume([...byTopic(paused)].map(([topic, list]) => ({ topic, partitions: list.map((s) => s.partition) })));
    }
  };

  /** Revokes (or, when the generation is gone, loses) everything owned. Idempotent. */
  const giveUpAll = (how: 'revoke' | 'lose'): Promise<void> => inSeries(async () => {
    if (owned.size === 0 || !listener) return;
    const l = listener;
    const partitions = [...owned.values()].map((s) => ({ topic: s.topic, partition: s.partition })).sort(byTopicPartition);
    try {
      if (how === 'lose' || fenced) {
        forget();
        await l.lost?.(partitions);
      } else {
        // Owned stays as it is during revoked(): the runtime commits these partitions there.
        await withHeartbeats(() => l.revoked(partitions));
      }
    } finally {
      forget();
    }
  });

  const hooks: MembershipHooks = {
    async beforeJoin(id) {
      await giveUpAll(id === '' ? 'lose' : 'revoke');
    },
    joined(id, gen) {
      memberId = id;
      memberGeneration = gen;
      fenced = false;
    },
    synced(assignment, gen) {
      return inSeries(async () => {
        if (closing || !listener) return;
        const l = listener;
        const partitions: TopicPartition[] = [];
        for (const [topic, list] of Object.entries(assignment)) {
          if (!topics.includes(topic)) continue;
          for (const partition of list) partitions.push({ topic, partition });
        }
        partitions.sort(byTopicPartition);
        generation = gen;
        for (const { topic, partition } of partitions) {
          owned.set(tpKey(topic, partition), { topic, partition, buffer: [], next: undefined, paused: false });
        }
        try {
          await withHeartbeats(() => l.assigned(partitions, gen));
        } catch (err) {
          // The runtime could not take its tasks: fatal for this member (kafkajs crashes and
          // leaves). They were never taken, so they are not revoked either.
          forget();
          fail(toClientError(`consumer group ${groupId}: assigned() failed`, err));
          throw err;
        }
        crashes = 0;
        firstAssignment?.resolve();
        firstAssignment = undefined;
      });
    },
    async beforeLeave() {
      await giveUpAll('revoke');
    },
    fenced() {
      fenced = true;
    },
    coordinator(broker) {
      coordinator = broker;
    },
  };

  function fail(err: KafkaClientError): void {
    failure ??= err;
    firstAssignment?.reject(failure);
    firstAssignment = undefined;
    notifyFetch();
  }

  function ownedState(tp: TopicPartition, what: string): PartitionState {
    const s = owned.get(tpKey(tp.topic, tp.partition));
    if (!s) {
      throw new KafkaClientError(`kafka ${what}: ${tp.topic}[${tp.partition}] is not owned by this member (generation ${generation})`, false, { rebalance: true });
    }
    return s;
  }

  const onBatch = async (payload: EachBatchPayload): Promise<void> => {
    const { batch, isStale, isRunning, heartbeat } = payload;
    const state = owned.get(tpKey(batch.topic, batch.partition));
    if (!state || closing) return;
    const current = (): boolean => !closing && owned.get(tpKey(batch.topic, batch.partition)) === state;
    for (const m of batch.messages) {
      if (isStale() || !isRunning() || !current()) break;
      const offset = BigInt(m.offset);
      if (state.next !== undefined && offset < state.next) continue;
      state.next = offset + 1n;
      state.buffer.push(toConsumed(batch.topic, batch.partition, m));
      buffered++;
    }
    notifyFetch();
    while (buffered >= MAX_BUFFERED && current()) {
      await waitForWake(heartbeatInterval, undefined, (wake) => { wakeHandler = wake; });
      // A rebalance error here goes to kafkajs, which rejoins through the gate (revoke first).
      await heartbeat();
    }
  };

  const take = (): ConsumedMessage[] => {
    const out: ConsumedMessage[] = [];
    for (const s of owned.values()) {
      if (s.paused || s.buffer.length === 0) continue;
      out.push(...s.buffer);
      buffered -= s.buffer.length;
      s.buffer = [];
    }
    if (out.length > 0) notifyHandler();
    return out;
  };

  /** Consecutive kafkajs crashes without an assignment in between. */
  let crashes = 0;

  /** A kafkajs consumer joined to the group, feeding onBatch; a crash it does not restart from is handled by restartAfterCrash. */
  const startMember = async (): Promise<Consumer> => {
    const c = deps.kafka.consumer({
      groupId,
      partitionAssigners: [coPartitionAssigner(hooks, deps.log)],
      sessionTimeout,
      rebalanceTimeout,
      heartbeatInterval,
      maxWaitTimeInMs: Math.min(heartbeatInterval, 500),
      allowAutoTopicCreation: false,
    });
    consumer = c;
    c.on(c.events.CRASH, (event) => {
      if (event.payload.restart || closing || consumer !== c) return;
      void restartAfterCrash(c, event.payload.error);
    });
    await c.connect();
    await c.subscribe({ topics, fromBeginning: true });
    await c.run({ autoCommit: false, eachBatchAutoResolve: true, eachBatch: onBatch });
    return c;
  };

  /**
   * kafkajs stops for good on a non-retriable error (e.g. UNKNOWN_MEMBER_ID while it rejoins
   * after a session expiry). The member must not sit dead while the worker looks healthy: its
   * partitions are lost, and a fresh kafkajs consumer joins as a new member, with backoff; after
   * MAX_CRASHES crashes in a row without an assignment, the failure is the worker's.
   */
  const restartAfterCrash = async (dead: Consumer, error: unknown): Promise<void> => {
    crashes++;
    const e = toClientError(`consumer group ${groupId}`, error);
    if (crashes > MAX_CRASHES || firstAssignment) {
      fail(e);
      await giveUpAll('lose');
      return;
    }
    deps.log?.warn(`consumer group ${groupId}: the kafkajs consumer stopped (${e.message}); rejoining as a new member`, { groupId, crashes });
    await giveUpAll('lose');
    await dead.disconnect().catch(() => {});
    await new Promise((r) => setTimeout(r, Math.min(10_000, 250 * 2 ** crashes)));
    if (closing || consumer !== dead) return;
    try {
      await startMember();
    } catch (err) {
      await restartAfterCrash(consumer ?? dead, err);
    }
  };

  const api: GroupConsumer = {
    get generation() {
      return generation;
    },

    async subscribe(subscribeTopics, l) {
      if (consumer || closing) throw new KafkaClientError(`consumer group ${groupId}: subscribe() may be called once`, false);
      listener = l;
      topics = [...new Set(subscribeTopics)];
      const assignedOnce = new Promise<void>((resolve, reject) => { firstAssignment = { resolve, reject }; });
      assignedOnce.catch(() => {}); // awaited below; a failure before that must not go unhandled
      let c: Consumer | undefined;
      try {
        c = await startMember();
        await assignedOnce;
      } catch (err) {
        const e = failure ?? toClientError(`consumer group ${groupId}: subscribe`, err);
        await c?.disconnect().catch(() => {});
        throw e;
      }
    },

    assignment() {
      return [...owned.values()].map((s) => ({ topic: s.topic, partition: s.partition })).sort(byTopicPartition);
    },

    seek(position: TopicPartitionOffset) {
      const s = ownedState(position, 'seek');
      if (position.offset < 0n) throw new KafkaClientError(`kafka seek: offset ${position.offset} is negative`, false);
      s.next = position.offset;
      buffered -= s.buffer.length;
      s.buffer = [];
      notifyHandler();
      consumer?.seek({ topic: position.topic, partition: position.partition, offset: position.offset.toString() });
    },

    async fetch(fetchOptions: FetchOptions = {}) {
      if (failure) throw failure;
      const ready = take();
      if (ready.length > 0 || closing || fetchOptions.signal?.aborted) return ready;
      await waitForWake(fetchOptions.maxWaitMs ?? 500, fetchOptions.signal, (wake) => { wakeFetch = wake; });
      if (failure) throw failure;
      return take();
    },

    pause(partitions) {
      const states = partitions.map((tp) => ownedState(tp, 'pause'));
      for (const s of states) s.paused = true;
      consumer?.pause([...byTopic(states)].map(([topic, list]) => ({ topic, partitions: list.map((s) => s.partition) })));
    },

    resume(partitions) {
      const states = partitions.map((tp) => ownedState(tp, 'resume'));
      for (const s of states) s.paused = false;
      consumer?.resume([...byTopic(states)].map(([topic, list]) => ({ topic, partitions: list.map((s) => s.partition) })));
      notifyFetch();
    },

    async committed(partitions) {
      if (partitions.length === 0) return [];
      const admin = await deps.admin();
      const wanted = [...new Set(partitions.map((p) => p.topic))];
      let response: Awaited<ReturnType<Admin['fetchOffsets']>>;
      try {
        response = await admin.fetchOffsets({ groupId, topics: wanted });
      } catch (err) {
        throw toClientError(`kafka committed offsets of group ${groupId}`, err);
      }
      const found = new Map<string, { offset: string; metadata: string | null }>();
      for (const t of response) for (const p of t.partitions) found.set(tpKey(t.topic, p.partition), p);
      return partitions.map((tp): CommittedOffset => {
        const c = found.get(tpKey(tp.topic, tp.partition));
        const offset = c === undefined || BigInt(c.offset) < 0n ? null : BigInt(c.offset);
        return { topic: tp.topic, partition: tp.partition, offset, metadata: c?.metadata ?? '' };
      });
    },

    async commit(offsets: CommitOffset[]) {
      if (offsets.length === 0) return;
      const notOwned = offsets.filter((o) => !owned.has(tpKey(o.topic, o.partition)));
      if (notOwned.length > 0) {
        throw new KafkaClientError(
          `kafka commit refused: ${listOf(notOwned)} not owned by this member in generation ${generation}`,
          false,
          { rebalance: true },
        );
      }
      const c = coordinator;
      if (!c || !memberId) throw new KafkaClientError(`kafka commit refused: not a member of group ${groupId}`, false, { rebalance: true });
      try {
        if (!c.isConnected()) await c.connect();
        await c.offsetCommit({
          groupId,
          memberId,
          groupGenerationId: generation,
          topics: [...byTopic(offsets)].map(([topic, list]) => ({
            topic,
            partitions: list.map((o) => ({ partition: o.partition, offset: o.offset.toString(), metadata: o.metadata ?? null })),
          })),
        });
      } catch (err) {
        if (isFenced(err)) fenced = true;
        throw toGroupError(`kafka commit to group ${groupId} (generation ${generation})`, err);
      }
    },

    close() {
      closed ??= (async () => {
        closing = true;
        firstAssignment?.reject(new KafkaClientError(`consumer group ${groupId}: closed before the first assignment`, false));
        firstAssignment = undefined;
        notifyHandler();
        notifyFetch();
        try {
          await giveUpAll('revoke');
          await consumer?.disconnect();
        } finally {
          consumer = undefined;
          deps.onClose();
        }
      })();
      return closed;
    },
  };
  return api;
}
