/**
 * A group-less, pull-style consumer on kafkajs. kafkajs only consumes through a consumer group
 * and pushes batches; so each assignment joins a throwaway group alone, with an assigner that
 * hands this member exactly the partitions asked for, never commits, and buffers what
 * kafkajs pushes until fetch() takes it. Good enough for replay and changelog restore, where
 * the caller owns positions; the fleet uses the group consumer instead.
 */
import { randomBytes } from 'node:crypto';
import { AssignerProtocol, type Consumer, type IHeaders, type Kafka, type PartitionAssigner } from 'kafkajs';
import type { AssignedConsumer, ConsumedMessage, FetchOptions, KafkaHeaders, TopicPartitionOffset } from './client.js';
import { toClientError } from './kafkajs-errors.js';

/** kafkajs keeps fetching while eachBatch runs; beyond this many buffered messages it waits. */
const MAX_BUFFERED = 10_000;

function fixedAssigner(partitions: readonly TopicPartitionOffset[]): PartitionAssigner {
  const assignment: Record<string, number[]> = {};
  for (const p of partitions) (assignment[p.topic] ??= []).push(p.partition);
  return () => ({
    name: 'tributary-fixed',
    version: 1,
    async assign({ members }) {
      // Alone in a group of our own: every member (normally one) gets the whole assignment.
      return members.map((m) => ({
        memberId: m.memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({ version: 1, assignment, userData: Buffer.alloc(0) }),
      }));
    },
    protocol({ topics }) {
      return { name: 'tributary-fixed', metadata: AssignerProtocol.MemberMetadata.encode({ version: 1, topics, userData: Buffer.alloc(0) }) };
    },
  });
}

function toHeaders(headers: IHeaders | undefined): KafkaHeaders {
  const out: KafkaHeaders = {};
  for (const [name, v] of Object.entries(headers ?? {})) {
    const first = Array.isArray(v) ? v[0] : v;
    if (first !== undefined) out[name] = Buffer.isBuffer(first) ? first : Buffer.from(first);
  }
  return out;
}

const tp = (topic: string, partition: number): string => `${topic}\u0000${partition}`;

export function createKafkajsAssignedConsumer(kafka: Kafka, onClose: () => void): AssignedConsumer {
  let consumer: Consumer | undefined;
  let queue: ConsumedMessage[] = [];
  /** Next offset wanted per partition: anything older is from before a seek and dropped. */
  const next = new Map<string, bigint>();
  let wake: (() => void) | undefined;
  let drained: (() => void) | undefined;

  const notify = (): void => {
    wake?.();
    wake = undefined;
  };

  const stop = async (): Promise<void> => {
    const c = consumer;
    consumer = undefined;
    queue = [];
    next.clear();
    drained?.();
    if (c) await c.disconnect();
  };

  const api: AssignedConsumer = {
    async assign(partitions) {
      await stop();
      if (partitions.length === 0) return;
      const c = kafka.consumer({
        groupId: `tributary-assigned-${randomBytes(6).toString('hex')}`,
        partitionAssigners: [fixedAssigner(partitions)],
        maxWaitTimeInMs: 200,
      });
      consumer = c;
      try {
        await c.connect();
        await c.subscribe({ topics: [...new Set(partitions.map((p) => p.topic))], fromBeginning: true });
        for (const p of partitions) next.set(tp(p.topic, p.partition), p.offset);
        await c.run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, isStale, isRunning, heartbeat, resolveOffset }) => {
            const key = tp(batch.topic, batch.partition);
            for (const m of batch.messages) {
              if (isStale() || !isRunning() || consumer !== c) return;
              const offset = BigInt(m.offset);
              const want = next.get(key);
              // Resolved offsets are kafkajs' fetch position: without this it fetches the same data again.
              resolveOffset(m.offset);
              if (want === undefined || offset < want) continue;
              next.set(key, offset + 1n);
              queue.push({
                topic: batch.topic,
                partition: batch.partition,
                offset,
                key: m.key,
                value: m.value,
                headers: toHeaders(m.headers),
                timestamp: Number(m.timestamp),
              });
            }
            notify();
            while (queue.length >= MAX_BUFFERED && consumer === c) {
              await new Promise<void>((resolve) => {
                drained = resolve;
                setTimeout(resolve, 1_000);
              });
              await heartbeat();
            }
          },
        });
        for (const p of partitions) c.seek({ topic: p.topic, partition: p.partition, offset: String(p.offset) });
      } catch (err) {
        await stop();
        throw toClientError('kafka assign', err);
      }
    },
    seek(position) {
      const c = consumer;
      const key = tp(position.topic, position.partition);
      if (!c || !next.has(key)) throw toClientError('kafka seek', new Error(`${position.topic}[${position.partition}] is not assigned`));
      next.set(key, position.offset);
      queue = queue.filter((m) => tp(m.topic, m.partition) !== key);
      c.seek({ topic: position.topic, partition: position.partition, offset: String(position.offset) });
    },
    async fetch(options: FetchOptions = {}) {
      if (queue.length === 0 && consumer) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(done, options.maxWaitMs ?? 500);
          options.signal?.addEventListener('abort', done, { once: true });
          wake = done;
          function done(): void {
            clearTimeout(timer);
            options.signal?.removeEventListener('abort', done);
            resolve();
          }
        });
      }
      const out = queue;
      queue = [];
      drained?.();
      drained = undefined;
      return out;
    },
    async close() {
      await stop();
      onClose();
    },
  };
  return api;
}
