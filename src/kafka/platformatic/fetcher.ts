/**
 * Pull-style fetching of chosen partitions at chosen offsets over a platformatic client: one
 * Fetch request per partition leader per round. Shared by the assigned and the group consumer.
 *
 * While the caller works on a batch, the next round is already in flight (one round ahead, so
 * memory stays bounded by one response per leader). Every position carries a version bumped by
 * seek/assign: a round's records for a partition whose version moved, or that is paused or
 * gone, are dropped and the partition is fetched again from its current position.
 */
import { protocolErrorsCodesById, type Consumer } from '@platformatic/kafka';
import { KafkaClientError, type ConsumedMessage, type FetchOptions, type TopicPartition } from '../client.js';
import { toClientError } from './errors.js';
import { fetch, fetchVersion, inflate, type FetchResponse } from './fetch.js';
import { connectionTo } from './wire.js';
import { decodeRecordBatches } from '../record-batch.js';
/** Errors after which the partition is simply fetched again once metadata is refreshed. */
const STALE_LEADER = new Set(['NOT_LEADER_OR_FOLLOWER', 'LEADER_NOT_AVAILABLE', 'FENCED_LEADER_EPOCH', 'UNKNOWN_LEADER_EPOCH', 'UNKNOWN_TOPIC_OR_PARTITION', 'REPLICA_NOT_AVAILABLE', 'KAFKA_STORAGE_ERROR', 'OFFSET_NOT_AVAILABLE']);

export interface FetcherOptions {
  maxBytes?: number;
  maxBytesPerPartition?: number;
}

interface Position extends TopicPartition {
  next: bigint;
  version: number;
  paused: boolean;
}

/** One partition's share of a round, applied by deliver() if its position is still the one fetched. */
interface Delivery {
  key: string;
  version: number;
  next: bigint;
  messages: ConsumedMessage[];
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}

export class PartitionFetcher {
  private readonly positions = new Map<string, Position>();
  private versions = 0;
  private ahead: Promise<Delivery[]> | undefined;
  private closed = false;

  constructor(private readonly client: Consumer, private readonly options: FetcherOptions = {}) {}

  has(topic: string, partition: number): boolean {
    return this.positions.has(tpKey(topic, partition));
  }

  /** Sets (or adds) a partition's next offset; records fetched before for it are dropped. */
  set(topic: string, partition: number, offset: bigint): void {
    const existing = this.positions.get(tpKey(topic, partition));
    this.positions.set(tpKey(topic, partition), { topic, partition, next: offset, version: ++this.versions, paused: existing?.paused ?? false });
  }

  remove(topic: string, partition: number): void {
    this.positions.delete(tpKey(topic, partition));
  }

  clear(): void {
    this.positions.clear();
  }

  setPaused(topic: string, partition: number, paused: boolean): void {
    const p = this.positions.get(tpKey(topic, partition));
    if (p) p.paused = paused;
  }

  close(): void {
    this.closed = true;
    this.positions.clear();
    this.ahead = undefined;
  }

  async fetch(options: FetchOptions = {}): Promise<ConsumedMessage[]> {
    const maxWaitMs = options.maxWaitMs ?? 500;
    const pending = this.ahead ?? this.round(maxWaitMs, options.signal);
    this.ahead = undefined;
    const out = this.deliver(await pending);
    // A stream is flowing: fetch the next round while the caller processes this one.
    if (out.length > 0 && !this.closed) {
      const next = this.round(maxWaitMs);
      next.catch(() => {}); // surfaced by the fetch() that awaits it
      this.ahead = next;
    }
    return out;
  }

  /**
   * Positions move when records are handed out, not when they arrive: a seek, pause or
   * revoke between the two drops them, and the partition is fetched again from where it is.
   */
  private deliver(parts: Delivery[]): ConsumedMessage[] {
    const out: ConsumedMessage[] = [];
    for (const d of parts) {
      const current = this.positions.get(d.key);
      if (!current || current.version !== d.version || current.paused) continue;
      current.next = d.next;
      for (const m of d.messages) out.push(m);
    }
    return out;
  }

  private async round(maxWaitMs: number, signal?: AbortSignal): Promise<Delivery[]> {
    const active = [...this.positions.values()].filter((p) => !p.paused);
    if (active.length === 0 || this.closed) {
      await sleep(maxWaitMs, signal);
      return [];
    }
    const topics = [...new Set(active.map((p) => p.topic))];
    let metadata;
    try {
      metadata = await this.client.metadata({ topics });
    } catch (err) {
      throw toClientError('kafka fetch (metadata)', err);
    }
    const byLeader = new Map<number, Position[]>();
    for (const p of active) {
      const leader = metadata.topics.get(p.topic)?.partitions[p.partition]?.leader;
      if (leader === undefined || leader < 0) continue;
      let list = byLeader.get(leader);
      if (!list) byLeader.set(leader, (list = []));
      list.push({ ...p }); // the snapshot this request was made for
    }
    const results = await Promise.all([...byLeader].map(([leader, wanted]) => this.fetchFrom(leader, wanted, metadata, maxWaitMs)));
    return results.flat();
  }

  private async fetchFrom(leader: number, wanted: Position[], metadata: Awaited<ReturnType<Consumer['metadata']>>, maxWaitMs: number): Promise<Delivery[]> {
    const perPartition = this.options.maxBytesPerPartition ?? 4 * 1024 * 1024;
    const grouped = new Map<string, Position[]>();
    for (const p of wanted) {
      let list = grouped.get(p.topic);
      if (!list) grouped.set(p.topic, (list = []));
      list.push(p);
    }
    let response: FetchResponse;
    let byId: boolean;
    try {
      const connection = await connectionTo(this.client, leader);
      const version = await fetchVersion(this.client);
      // Fetch v13+ names topics by id, older versions by name.
      byId = version >= 13;
      const request = [...grouped].map(([topic, list]) => ({
        topicId: byId ? metadata.topics.get(topic)!.id : topic,
        partitions: list.map((p) => ({ partition: p.partition, currentLeaderEpoch: -1, fetchOffset: p.next, lastFetchedEpoch: -1, partitionMaxBytes: perPartition })),
      }));
      // Session id 0 / epoch -1: a full fetch that opens no fetch session on the broker.
      response = await fetch(connection, version, [maxWaitMs, 1, this.options.maxBytes ?? 16 * 1024 * 1024, 0, 0, -1, request, [], '']);
    } catch (err) {
      throw toClientError('kafka fetch', err);
    }
    if (response.errorCode !== 0) throw toClientError('kafka fetch', new KafkaClientError(`fetch failed with error code ${response.errorCode}`, true));
    const idToTopic = new Map([...grouped.keys()].map((t) => [byId ? metadata.topics.get(t)!.id : t, t]));
    const asked = new Map(wanted.map((p) => [tpKey(p.topic, p.partition), p]));
    const out: Delivery[] = [];
    for (const t of response.responses) {
      const topic = idToTopic.get(t.topicId);
      if (topic === undefined) continue;
      for (const part of t.partitions) {
        const key = tpKey(topic, part.partitionIndex);
        const snapshot = asked.get(key);
        const current = this.positions.get(key);
        if (!snapshot || !current || current.version !== snapshot.version || current.paused) continue;
        if (part.errorCode !== 0) {
          this.partitionError(topic, part.partitionIndex, part.errorCode, snapshot.next);
          continue;
        }
        const messages: ConsumedMessage[] = [];
        let next = snapshot.next;
        if (part.records !== undefined) {
          try {
            next = decodeRecordBatches(part.records, topic, part.partitionIndex, snapshot.next, messages, inflate);
          } catch (err) {
            throw toClientError(`kafka fetch ${topic}[${part.partitionIndex}] at offset ${snapshot.next}: bad record batch`, err);
          }
        }
        out.push({ key, version: snapshot.version, next, messages });
      }
    }
    return out;
  }

  private partitionError(topic: string, partition: number, errorCode: number, offset: bigint): void {
    const id: string | undefined = protocolErrorsCodesById[errorCode];
    if (id !== undefined && STALE_LEADER.has(id)) {
      this.client.clearMetadata();
      return;
    }
    const where = `${topic}[${partition}] at offset ${offset}`;
    if (id === 'OFFSET_OUT_OF_RANGE') {
      throw new KafkaClientError(`kafka fetch: offset ${offset} of ${topic}[${partition}] is out of range (deleted by retention, or beyond the end)`, false);
    }
    throw new KafkaClientError(`kafka fetch ${where}: ${id ?? `error code ${errorCode}`}`, false);
  }
}
