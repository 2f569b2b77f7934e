/**
 * State changelogs: a task's state changes produced to one compacted topic per stateful step,
 * `<app>.<step>.changelog`, partition p = the task's partition, and replayed from there into
 * LevelDB when the task moves to another worker.
 *
 * Record key   the step-neutral state key (changelog-keys.ts): compaction keeps the latest
 *              value of each entry; a delete is a tombstone (null value).
 * Headers      trib-gen: decimal epoch of the writer: its group generation, raised above every
 *                        generation the partition already holds (runtime/task-restore.ts);
 *              trib-pos: JSON of the source position the state reflects, for people and tools
 *                        reading the topic: on the first record of each produce request only
 *                        (before, on every record: ~40% of a checkpoint's changelog bytes).
 *                        Restore never reads it: positions come from the group commit.
 * Fence        key 0x00 'fence' (no state kind is 0x00), a small non-null value (a null one
 *              would be a tombstone, and compaction would delete the fence): generation
 *              `trib-gen` owns the partition from this offset on.
 *
 * Fencing rule on restore: a record whose generation is lower than the highest seen so far in
 * the scan was written by a zombie (an owner that lost the partition but kept writing) and is
 * skipped. Records without a readable trib-gen count as generation -1.
 */
import { TributaryError, errorMessage } from '../core/errors.js';
import type { AssignedConsumer, ConsumedMessage, KafkaHeaders, KafkaProducer, ProduceMessage } from '../kafka/client.js';
import type { StateBackend, StateChange } from './backend.js';

export const changelogTopic = (app: string, stepId: string): string => `${app}.${stepId}.changelog`;

/** Tags every changelog record (as headers `trib-gen` and `trib-pos`). */
export interface ChangelogTag {
  generation: number;
  position: string;
}

export interface RestoreProgress {
  stepId: string;
  partition: number;
  /** Offsets of the range read so far (compaction leaves gaps, so not a record count). */
  restored: number;
  /** Offsets in the range, until - from. */
  total: number;
}

export interface RestoreArgs {
  app: string;
  stepId: string;
  partition: number;
  /** First offset to read. */
  from: bigint;
  /** End of the range, exclusive (e.g. the changelog end offset the checkpoint recorded). */
  until: bigint;
  onProgress?: (p: RestoreProgress) => void;
  signal?: AbortSignal;
  /**
   * The highest generation known to own the partition before `from` (e.g. the writer of the
   * local checkpoint an incremental restore starts after): the scan starts with it, so a
   * zombie's records early in the range are skipped too. Default -1.
   */
  minGeneration?: number;
  /**
   * Fail (TRIB_STATE_IO, retriable) when no record arrives for this long before `until` is
   * reached: `until` lies beyond the log end, or the broker is unreachable. Default 30 000.
   */
  idleTimeoutMs?: number;
}

export const GEN_HEADER = 'trib-gen';
export const POS_HEADER = 'trib-pos';
const FENCE_KEY = Buffer.from([0x00, ...Buffer.from('fence')]);
/** Bytes per produce request: Kafka's default max.request.size is 1 MiB. */
const MAX_REQUEST_BYTES = 900_000;
/** Rough per-record overhead in a record batch (length, attributes, deltas, header names). */
const RECORD_OVERHEAD = 40;
const APPLY_BATCH = 1000;
const PROGRESS_RECORDS = 1000;
const PROGRESS_MS = 500;

export class ChangelogWriter {
  constructor(
    private readonly producer: KafkaProducer,
    private readonly app: string,
  ) {}

  /**
   * Produces every change (acks=all) to `<app>.<step>.changelog` partition `partition`, tagged;
   * resolves with the end offset (next offset after the last record written) of each step
   * topic written to. Steps are written in parallel, each in order, in requests of ≤ ~1 MB.
   * Throws TRIB_CHECKPOINT (retriable as the client error was) when a produce fails: the
   * checkpoint did not happen, and re-producing the same changes later is harmless.
   */
  async write(partition: number, changes: readonly StateChange[], tag: ChangelogTag): Promise<Map<string, bigint>> {
    const gen = Buffer.from(String(tag.generation));
    // Every record carries its generation (the fencing rule reads it per record); the position
    // goes once per request, on its first record.
    const headers: KafkaHeaders = { [GEN_HEADER]: gen };
    const tagged: KafkaHeaders = { [GEN_HEADER]: gen, [POS_HEADER]: Buffer.from(tag.position) };
    const headerBytes = GEN_HEADER.length + gen.length;
    // The changes go out as they are, as messages (key, value, partition), tagged through the
    // send's default headers: no message object per change (a checkpoint writes tens of
    // thousands), but one per request for the first record, which has its own.
    const byStep = new Map<string, { chunks: ProduceMessage[][]; used: number }>();
    // Changes come grouped per step (changesOf): look the step up once per run.
    let runStep: string | undefined;
    let run: { chunks: ProduceMessage[][]; used: number } | undefined;
    for (const c of changes) {
      if (c.partition !== partition) {
        throw new TributaryError('TRIB_INTERNAL', `changelog write for partition ${partition} got a change of partition ${c.partition}`);
      }
      if (c.stepId !== runStep || run === undefined) {
        runStep = c.stepId;
        run = byStep.get(c.stepId);
        if (!run) byStep.set(c.stepId, (run = { chunks: [[]], used: 0 }));
      }
      const size = c.key.length + (c.value?.length ?? 0) + headerBytes + RECORD_OVERHEAD;
      if (run.used + size > MAX_REQUEST_BYTES && run.chunks[run.chunks.length - 1]!.length > 0) {
        run.chunks.push([]);
        run.used = 0;
      }
      const chunk = run.chunks[run.chunks.length - 1]!;
      run.used += size;
      // Keys and values go to the record batch as they are (any Uint8Array): no Buffer views.
      // A request's first record carries the position too.
      if (chunk.length === 0) {
        run.used += POS_HEADER.length + tagged[POS_HEADER]!.length;
        chunk.push({ key: c.key, value: c.value, partition, headers: tagged });
      } else chunk.push(c);
    }
    const ends = new Map<string, bigint>();
    await Promise.all(
      [...byStep].map(async ([stepId, { chunks }]) => {
        const topic = changelogTopic(this.app, stepId);
        let end = -1n;
        for (const chunk of chunks) end = await this.send(topic, partition, chunk, headers);
        ends.set(stepId, end);
      }),
    );
    return ends;
  }

  /** Marks that generation `generation` owns the partition from here on; returns the fence's offset + 1. */
  async fence(stepId: string, partition: number, generation: number): Promise<bigint> {
    const gen = Buffer.from(String(generation));
    return this.send(changelogTopic(this.app, stepId), partition, [{ key: FENCE_KEY, value: gen, headers: { [GEN_HEADER]: gen }, partition }]);
  }

  /** Sends one request (`headers` on messages without their own); resolves with the offset after its last record. */
  private async send(topic: string, partition: number, messages: readonly ProduceMessage[], headers?: KafkaHeaders): Promise<bigint> {
    let batches;
    try {
      batches = await this.producer.send(topic, messages, headers === undefined ? { acks: 'all' } : { acks: 'all', headers });
    } catch (err) {
      const retriable = (err as { retriable?: unknown }).retriable === true;
      throw new TributaryError('TRIB_CHECKPOINT', `changelog write to ${topic}[${partition}] failed: ${errorMessage(err)}`, { cause: err, retriable });
    }
    const b = batches.find((x) => x.topic === topic && x.partition === partition);
    if (!b || b.baseOffset < 0n) {
      throw new TributaryError('TRIB_CHECKPOINT', `changelog write to ${topic}[${partition}]: the broker reported no offset`);
    }
    return b.baseOffset + BigInt(messages.length);
  }
}

/**
 * Replays `<app>.<step>.changelog` partition p, offsets [from, until), into the backend
 * (applyChanges in batches of 1000), with the fencing rule above; fence records are not state
 * and count as neither applied nor skipped. Records at or past `until` are ignored. Reports
 * progress about every 1000 records or 500 ms, and once at the end. Leaves the consumer
 * unassigned. The partition must have been dropped or wiped in the backend first.
 */
export async function restoreChangelog(consumer: AssignedConsumer, backend: StateBackend, args: RestoreArgs): Promise<{ applied: number; skipped: number }> {
  const { stepId, partition, from, until, onProgress } = args;
  const total = until > from ? Number(until - from) : 0;
  let applied = 0;
  let skipped = 0;
  let maxGen = args.minGeneration ?? -1;
  let pending: Array<{ key: Uint8Array; value: Uint8Array | null }> = [];
  const flush = async (): Promise<void> => {
    if (pending.length === 0) return;
    const batch = pending;
    pending = [];
    await backend.applyChanges(stepId, partition, batch);
  };
  await scanChangelog(consumer, args, {
    onMessage: async (m) => {
      const gen = generationOf(m);
      if (gen > maxGen) maxGen = gen;
      if (isFence(m)) return;
      if (gen < maxGen) {
        skipped++;
        return;
      }
      pending.push({ key: m.key ?? new Uint8Array(0), value: m.value });
      applied++;
      if (pending.length >= APPLY_BATCH) await flush();
    },
    onProgress: async (next) => {
      await flush();
      onProgress?.({ stepId, partition, restored: Number(next - from), total });
    },
  });
  return { applied, skipped };
}

/**
 * The distinct state keys (neutral, fences left out) written to `<app>.<step>.changelog`
 * partition p in offsets [from, until), and the highest generation any record there (fences
 * included) carries (-1 when none does): e.g. what an owner wrote after its last committed
 * checkpoint, which a new owner must overwrite and must fence above (task-restore.ts).
 */
export async function changelogKeys(
  consumer: AssignedConsumer,
  args: Omit<RestoreArgs, 'onProgress' | 'minGeneration'>,
): Promise<{ keys: Uint8Array[]; maxGeneration: number }> {
  const seen = new Map<string, Uint8Array>();
  let maxGeneration = -1;
  await scanChangelog(consumer, args, {
    onMessage: (m) => {
      maxGeneration = Math.max(maxGeneration, generationOf(m));
      if (isFence(m) || m.key === null) return;
      seen.set(m.key.toString('hex'), m.key);
    },
  });
  return { keys: [...seen.values()], maxGeneration };
}

/**
 * Reads offsets [from, until) of one changelog partition in order, calling onMessage for each
 * record, and onProgress (awaited) about every 1000 records or 500 ms and once at the end.
 * Fails (TRIB_STATE_IO, retriable) when nothing arrives for idleTimeoutMs before `until`.
 * Leaves the consumer unassigned.
 */
async function scanChangelog(
  consumer: AssignedConsumer,
  args: Pick<RestoreArgs, 'app' | 'stepId' | 'partition' | 'from' | 'until' | 'signal' | 'idleTimeoutMs'>,
  on: { onMessage: (m: ConsumedMessage) => void | Promise<void>; onProgress?: (next: bigint) => Promise<void> },
): Promise<void> {
  const { app, stepId, partition, from, until, signal } = args;
  const idleTimeoutMs = args.idleTimeoutMs ?? 30_000;
  const topic = changelogTopic(app, stepId);
  if (until <= from) {
    await on.onProgress?.(from);
    return;
  }
  let next = from;
  let sinceReport = 0;
  let lastReport = Date.now();
  let lastRecord = Date.now();
  await consumer.assign([{ topic, partition, offset: from }]);
  try {
    while (next < until) {
      if (signal?.aborted) throw abortError(topic, partition, signal);
      const messages = await consumer.fetch({ maxWaitMs: 500, ...(signal ? { signal } : {}) });
      const now = Date.now();
      let got = false;
      for (const m of messages) {
        if (m.topic !== topic || m.partition !== partition || m.offset < next) continue;
        got = true;
        if (m.offset >= until) {
          next = until;
          break;
        }
        next = m.offset + 1n;
        sinceReport++;
        await on.onMessage(m);
      }
      if (got) lastRecord = now;
      else if (now - lastRecord > idleTimeoutMs) {
        throw new TributaryError(
          'TRIB_STATE_IO',
          `reading ${topic}[${partition}]: no record for ${idleTimeoutMs} ms at offset ${next}, before the end of the range [${from}, ${until}) (is the range beyond the log end?)`,
          { retriable: true },
        );
      }
      if (sinceReport >= PROGRESS_RECORDS || (sinceReport > 0 && now - lastReport >= PROGRESS_MS)) {
        await on.onProgress?.(next);
        sinceReport = 0;
        lastReport = now;
      }
    }
    await on.onProgress?.(until);
  } finally {
    await consumer.assign([]).catch(() => {});
  }
}

function generationOf(m: ConsumedMessage): number {
  const h = m.headers[GEN_HEADER];
  if (h === undefined) return -1;
  const n = Number(h.toString());
  return Number.isSafeInteger(n) ? n : -1;
}

function isFence(m: ConsumedMessage): boolean {
  return m.key !== null && m.key.equals(FENCE_KEY);
}

function abortError(topic: string, partition: number, signal: AbortSignal): TributaryError {
  return new TributaryError('TRIB_STATE_IO', `restoring ${topic}[${partition}] was aborted`, { cause: signal.reason });
}
