/**
 * One consumer-group membership shared by every Kafka input of a worker (its source topics and
 * its repartition topics). The co-partitioning assignor hands this member partition p of EVERY
 * topic, so a task — partition number p — moves as a whole, with all its inputs, as in Kafka
 * Streams. A background loop fetches into bounded per-partition queues (pausing partitions whose
 * queue is full) and each input polls its own topic from them.
 */
import type { ConsumedMessage, GroupConsumer, GroupRebalanceListener, KafkaClient, TopicPartition } from './client.js';
import type { Logger } from '../core/logger.js';
import { errorMessage } from '../core/errors.js';

const MAX_QUEUED = 5_000;

export interface InputBatch {
  partition: number;
  messages: ConsumedMessage[];
}

const tpKey = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export class KafkaGroupInput {
  private consumer: GroupConsumer | undefined;
  private readonly topics = new Set<string>();
  private readonly queues = new Map<string, ConsumedMessage[]>();
  private readonly paused = new Set<string>();
  /** Partition numbers (tasks) owned now. */
  private owned: number[] = [];
  private readonly cursor = new Map<string, number>();
  private running = false;
  private loop: Promise<void> | undefined;
  private failure: unknown;
  /** Run loops waiting for messages (waitReadable): woken when a fetch queued some. */
  private readonly waiters = new Set<() => void>();
  /** A fetch queued messages since the last waitReadable(). */
  private arrived = false;

  constructor(
    private readonly client: KafkaClient,
    readonly groupId: string,
    private readonly options: { sessionTimeoutMs?: number; logger: Logger },
  ) {}

  addTopic(topic: string): void {
    if (this.consumer) throw new Error('internal: topics must be added before the group input starts');
    this.topics.add(topic);
  }

  get generation(): number {
    return this.consumer?.generation ?? -1;
  }

  /** Task partitions owned now (ascending). */
  partitions(): readonly number[] {
    return this.owned;
  }

  /** Join the group; the listener opens and closes tasks (partition numbers). */
  async start(listener: GroupRebalanceListener): Promise<void> {
    const consumer = await this.client.groupConsumer({ groupId: this.groupId, sessionTimeoutMs: this.options.sessionTimeoutMs });
    this.consumer = consumer;
    const numbers = (tps: TopicPartition[]): number[] => [...new Set(tps.map((t) => t.partition))].sort((a, b) => a - b);
    // A listener that throws leaves tasks half opened or closed: that is fatal for this worker
    // (poll() rethrows it, the run fails, and a restart resumes from the last checkpoint).
    const fatal = async (fn: () => Promise<void>): Promise<void> => {
      try {
        await fn();
      } catch (err) {
        this.failure ??= err;
        throw err;
      }
    };
    await consumer.subscribe([...this.topics], {
      assigned: (tps, generation) =>
        fatal(async () => {
          const added = numbers(tps);
          this.owned = [...new Set([...this.owned, ...added])].sort((a, b) => a - b);
          await listener.assigned(tps, generation);
        }),
      revoked: (tps) =>
        fatal(async () => {
          await listener.revoked(tps);
          this.forget(numbers(tps));
        }),
      lost: (tps) =>
        fatal(async () => {
          this.forget(numbers(tps));
          await listener.lost?.(tps);
        }),
    });
    this.running = true;
    this.loop = this.fetchLoop();
  }

  private forget(partitions: number[]): void {
    const gone = new Set(partitions);
    this.owned = this.owned.filter((p) => !gone.has(p));
    for (const topic of this.topics) {
      for (const p of partitions) {
        this.queues.delete(tpKey(topic, p));
        this.paused.delete(tpKey(topic, p));
      }
    }
  }

  private async fetchLoop(): Promise<void> {
    const consumer = this.consumer!;
    while (this.running) {
      let messages: ConsumedMessage[];
      const asked = Date.now();
      try {
        messages = await consumer.fetch({ maxWaitMs: 100 });
      } catch (err) {
        if (!this.running || this.failure !== undefined) return;
        // A member that cannot go on (its client gave up) fails the worker: a restart resumes
        // from the last checkpoint, where spinning here would look healthy and process nothing.
        if ((err as { retriable?: unknown }).retriable === false) {
          this.failure = err;
          this.options.logger.error('kafka consumer group member failed; stopping', { error: errorMessage(err) });
          return;
        }
        this.options.logger.warn('kafka fetch failed; retrying', { error: errorMessage(err) });
        await new Promise((r) => setTimeout(r, 500));
        continue;
      }
      // A fetch can return at once with nothing (closing, rebalancing): yield to timers and I/O.
      // One that waited its long poll out fetches again at once: a pause here would delay the
      // next record by up to that long (it cost up to 10 ms per hop when a stream restarts).
      if (messages.length === 0 && Date.now() - asked < 50) await new Promise((r) => setTimeout(r, 10));
      const full: TopicPartition[] = [];
      // A fetch returns each partition's messages as one run: look its queue up once per run.
      let q: ConsumedMessage[] | undefined;
      let key = '';
      let runTopic: string | undefined;
      let runPartition = -1;
      for (const m of messages) {
        if (m.topic !== runTopic || m.partition !== runPartition) {
          runTopic = m.topic;
          runPartition = m.partition;
          key = tpKey(m.topic, m.partition);
          q = undefined;
          if (this.owned.includes(m.partition)) {
            q = this.queues.get(key);
            if (!q) this.queues.set(key, (q = []));
          }
        }
        if (q === undefined) continue;
        q.push(m);
        if (q.length >= MAX_QUEUED && !this.paused.has(key)) {
          this.paused.add(key);
          full.push({ topic: m.topic, partition: m.partition });
        }
      }
      if (full.length > 0) consumer.pause(full);
      if (messages.length > 0) {
        this.arrived = true;
        for (const wake of [...this.waiters]) wake();
      }
    }
  }

  /**
   * Resolves once a fetch queued messages (for any topic), or after `ms`; at once when some were
   * queued since the last call (they may have arrived after the caller's poll) or the input failed.
   */
  waitReadable(ms: number): Promise<void> {
    if (this.failure !== undefined || this.arrived) {
      this.arrived = false;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, ms);
      this.waiters.add(wake);
    });
  }

  /** Up to `max` queued messages of one partition of `topic` (round robin over partitions). */
  poll(topic: string, max: number): InputBatch | undefined {
    if (this.failure !== undefined) throw this.failure;
    const n = this.owned.length;
    if (n === 0) return undefined;
    const start = this.cursor.get(topic) ?? 0;
    for (let i = 0; i < n; i++) {
      const partition = this.owned[(start + i) % n]!;
      const key = tpKey(topic, partition);
      const q = this.queues.get(key);
      if (!q || q.length === 0) continue;
      this.cursor.set(topic, (start + i + 1) % n);
      // The whole queue, or its first `max` taken off its front (one array: copying the rest
      // on every poll cost an array of up to MAX_QUEUED per 500 records).
      let messages: ConsumedMessage[];
      if (q.length <= max) {
        messages = q;
        this.queues.set(key, []);
      } else messages = q.splice(0, max);
      if (this.paused.has(key) && (this.queues.get(key)?.length ?? 0) < MAX_QUEUED / 2) {
        this.paused.delete(key);
        this.consumer?.resume([{ topic, partition }]);
      }
      return { partition, messages };
    }
    return undefined;
  }

  /** Messages queued for a topic's owned partitions (lag inside the worker). */
  queued(topic: string): number {
    let n = 0;
    for (const p of this.owned) n += this.queues.get(tpKey(topic, p))?.length ?? 0;
    return n;
  }

  /**
   * Next offset to fetch; drops what was queued before. A fetch already out when the seek comes
   * returns nothing of the partition's old position (GroupConsumer.seek's contract: the fetcher
   * versions positions, test/kafka/group-consumer.integration.test.ts); what it returns is queued
   * as is. It must not be dropped here: behind the retrying client a fetch that failed is asked
   * again after the seek, and its records, from the new position, would be skipped.
   * A partition paused because its queue was full resumes: its queue is empty now, and poll()
   * (which resumes partitions) never looks at a partition with nothing queued.
   */
  seek(topic: string, partition: number, offset: bigint): void {
    const key = tpKey(topic, partition);
    this.queues.delete(key);
    this.consumer?.seek({ topic, partition, offset });
    if (this.paused.delete(key)) this.consumer?.resume([{ topic, partition }]);
  }

  get group(): GroupConsumer {
    if (!this.consumer) throw new Error('internal: the group input has not started');
    return this.consumer;
  }

  async close(): Promise<void> {
    // Leaving the group revokes every task first (the listener checkpoints them).
    const consumer = this.consumer;
    this.running = false;
    if (consumer) await consumer.close();
    await this.loop?.catch(() => undefined);
  }
}
