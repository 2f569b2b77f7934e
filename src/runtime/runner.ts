/**
 * The run loop of one worker: poll sources round-robin, process each batch synchronously,
 * advance the watermark, checkpoint every interval, and stop cleanly on end of input or signal.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import type { Engine } from './engine.js';
import { kafkaRetryStats } from '../kafka/retry.js';

export interface Progress {
  elapsedMs: number;
  recordsIn: number;
  ratePerSec: number;
  out: number;
  late: number;
  deadLettered: number;
  watermark: number;
  /** 0..1 when the inputs are bounded and know how much is left. */
  done: number | undefined;
  checkpoints: number;
}

export interface RunOptions {
  signal?: AbortSignal;
  /** Max records per poll. */
  batchSize?: number;
  /** Called about once a second. */
  onProgress?: (p: Progress) => void;
  progressIntervalMs?: number;
  /**
   * Stop (reason 'idle') when no source returned a record for this long (replays of endless topics).
   * Time spent changing tasks or riding out a Kafka outage does not count: no input can arrive then.
   */
  exitWhenIdleMs?: number;
}

export interface RunResult {
  reason: 'end-of-input' | 'stopped' | 'idle';
  elapsedMs: number;
  recordsIn: number;
}

/** Resolves when `signal` aborts (never without one). */
function aborted(signal: AbortSignal | undefined): Promise<void> {
  if (!signal) return new Promise<void>(() => {});
  if (signal.aborted) return Promise.resolve();
  return new Promise<void>((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

/**
 * The longest the runner keeps the event loop to itself while records are buffered. Outputs
 * leave at a yield (the repartition writer and the Redis sink send on setImmediate) and fetch
 * responses are read only then: with a backlog (after a GC pause or a descheduled moment on a
 * busy machine), the first records of a chunk waited for the whole chunk. 20 ms cost them up to
 * 20 ms per hop. At 5 ms a yield (one turn of the event loop, a few µs on an idle machine) is
 * still small against the chunk of work between two.
 */
const YIELD_EVERY_MS = 5;
/** The longest an idle run loop waits before it polls its sources again. */
const IDLE_WAIT_MS = 5;

export async function runEngine(engine: Engine, options: RunOptions = {}): Promise<RunResult> {
  const batchSize = options.batchSize ?? 500;
  const interval = engine.plan.checkpointIntervalMs;
  const started = Date.now();
  const startIn = engine.counters.get('in');
  let lastCheckpoint = started;
  let lastProgress = started;
  let lastProgressIn = startIn;
  const total = totalRemaining(engine);
  const progressEvery = options.progressIntervalMs ?? 1000;
  const exhausted = new Set<number>();

  const report = (now: number): void => {
    if (!options.onProgress) return;
    const recordsIn = engine.counters.get('in') - startIn;
    const rate = ((engine.counters.get('in') - lastProgressIn) * 1000) / Math.max(1, now - lastProgress);
    lastProgress = now;
    lastProgressIn = engine.counters.get('in');
    const left = totalRemaining(engine);
    let out = 0;
    for (const s of engine.sinks.values()) out += s.emitted;
    options.onProgress({
      elapsedMs: now - started,
      recordsIn,
      ratePerSec: rate,
      out,
      late: engine.counters.get('late'),
      deadLettered: engine.counters.get('deadLettered'),
      watermark: engine.watermark,
      done: total !== undefined && left !== undefined && total > 0 ? 1 - left / total : undefined,
      checkpoints: engine.checkpointCount,
    });
  };

  let reason: RunResult['reason'] = 'stopped';
  let lastRecord = Date.now();
  // Checkpoints complete in the background while records keep flowing; a failure stops the run.
  let inflight: Promise<void> | undefined;
  let failure: unknown;
  // Sources whose data is already buffered resolve poll() at once: without a turn of the event
  // loop now and then, timers and sockets starve (a consumer group's heartbeats, a sink's acks).
  let lastYield = Date.now();
  const stopped = aborted(options.signal);
  while (!options.signal?.aborted) {
    if (failure !== undefined) throw failure;
    if (Date.now() - lastYield >= YIELD_EVERY_MS) {
      await new Promise<void>((r) => setImmediate(r));
      lastYield = Date.now();
    }
    let gotAny = false;
    for (let i = 0; i < engine.sources.length; i++) {
      if (exhausted.has(i)) continue;
      const src = engine.sources[i]!;
      const batch = await src.source.poll(batchSize);
      if (batch === null) {
        exhausted.add(i);
        src.exhausted = true;
        continue;
      }
      if (batch.records.length === 0) continue;
      if (!(await src.prepare(batch.records, { signal: options.signal, logger: engine.log }))) continue;
      gotAny = true;
      const now = Date.now();
      for (const raw of batch.records) engine.processRaw(src, batch.partition, raw, now);
    }
    const now = Date.now();
    // Assigning, restoring or revoking tasks is not idleness: no input arrives meanwhile. Nor is
    // a Kafka outage being ridden out (kafka/retry.ts): a fetch retried through a leader's
    // restart returned nothing for as long, and a fleet with --exit-when-idle left its input
    // unread (the cluster fault test: an 11 s outage, a 10 s idle bound).
    if (gotAny || engine.settling || kafkaRetryStats.retrying > 0) lastRecord = now;
    engine.updateWatermark(now);
    if (options.exitWhenIdleMs !== undefined && now - lastRecord >= options.exitWhenIdleMs) {
      reason = 'idle';
      break;
    }
    if (exhausted.size === engine.sources.length) {
      reason = 'end-of-input';
      break;
    }
    // (a rebalance may have started one of its own: one checkpoint in flight at a time)
    // Early when dirty state fills half the state cache: only a checkpoint makes it evictable.
    if (!inflight && !engine.checkpointInFlight && !engine.checkpointsHeld && (now - lastCheckpoint >= interval || engine.stateBackend.wantsCheckpoint)) {
      lastCheckpoint = now;
      inflight = engine.beginCheckpoint().then(
        () => {
          inflight = undefined;
        },
        (err: unknown) => {
          failure = err;
          inflight = undefined;
        },
      );
    }
    if (now - lastProgress >= progressEvery) report(now);
    // A sink that cannot keep up holds the sources back instead of buffering without bound (a
    // replay of days into a slow sink would otherwise grow until the process runs out of memory).
    for (const sink of engine.sinks.values()) {
      if (!sink.backpressure) continue;
      await Promise.race([sink.relieved(), stopped]);
      lastYield = Date.now();
    }
    // And state: dirty entries past the cache's budget wait for the checkpoint that makes them evictable.
    if (inflight && engine.stateBackend.overBudget) {
      await Promise.race([inflight, stopped]);
      lastYield = Date.now();
    }
    // So does a repartition topic whose producer falls behind.
    for (let held = engine.inputs?.backpressure(); held; held = engine.inputs?.backpressure()) {
      await Promise.race([held, stopped]);
      lastYield = Date.now();
      if (options.signal?.aborted) break;
    }
    if (!gotAny) {
      await idle(engine, exhausted);
      lastYield = Date.now();
    }
  }
  if (inflight) await inflight;
  if (failure !== undefined) throw failure;
  if (reason === 'end-of-input') engine.endOfInput();
  report(Date.now());
  return { reason, elapsedMs: Date.now() - started, recordsIn: engine.counters.get('in') - startIn };
}

/**
 * Nothing to process: wait until a source may have records (Kafka inputs wake the loop when a
 * fetch queued messages), at most IDLE_WAIT_MS. A fixed sleep here cost each record that
 * arrived while the worker was idle up to its length, once per hop (source, repartition topic).
 */
function idle(engine: Engine, exhausted: ReadonlySet<number>): Promise<void> {
  const waits: Array<Promise<void>> = [];
  for (let i = 0; i < engine.sources.length; i++) {
    if (exhausted.has(i)) continue;
    const source = engine.sources[i]!.source;
    if (!source.waitReadable) return sleep(IDLE_WAIT_MS);
    waits.push(source.waitReadable(IDLE_WAIT_MS));
  }
  return waits.length === 0 ? sleep(IDLE_WAIT_MS) : waits.length === 1 ? waits[0]! : Promise.race(waits).then(() => undefined);
}

function totalRemaining(engine: Engine): number | undefined {
  let sum = 0;
  for (const src of engine.sources) {
    const r = src.source.remaining?.();
    if (r === undefined) return undefined;
    sum += r;
  }
  return sum;
}
