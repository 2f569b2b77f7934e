import { afterEach, describe, expect, it, vi } from 'vitest';
import { rng } from '../../src/connectors/generator/prng.js';
import { BatchingSink, type BatchingSinkOptions } from '../../src/connectors/sink-base.js';
import type { SinkContext, SinkRecord } from '../../src/connectors/types.js';
import { SinkBackpressureError, TributaryError } from '../../src/core/errors.js';
import { silentLogger } from '../../src/core/logger.js';

type Behaviour = (batch: SinkRecord[], attempt: number, sink: FakeSink) => Promise<void> | void;

/** A sink whose writes do what the test says; it records what reached the "target". */
class FakeSink extends BatchingSink {
  readonly batches: number[][] = [];
  readonly attemptTimes: number[] = [];
  attempts = 0;
  concurrent = 0;
  maxConcurrent = 0;
  syncs = 0;
  connected = false;

  constructor(private behaviour: Behaviour = () => {}, options: BatchingSinkOptions = {}) {
    super('fake', { random: () => 0, ...options });
  }

  setBehaviour(b: Behaviour): void {
    this.behaviour = b;
  }

  reject(record: SinkRecord, reason: string): void {
    this.rejectRecord(record, reason);
  }

  protected override async connect(): Promise<void> {
    this.connected = true;
  }

  protected override async sync(): Promise<void> {
    this.syncs++;
  }

  protected async writeBatch(batch: SinkRecord[]): Promise<void> {
    this.attempts++;
    this.attemptTimes.push(performance.now());
    this.concurrent++;
    this.maxConcurrent = Math.max(this.maxConcurrent, this.concurrent);
    try {
      await this.behaviour(batch, this.attempts, this);
      this.batches.push(batch.map((r) => r.value.n as number));
    } finally {
      this.concurrent--;
    }
  }
}

function rec(n: number): SinkRecord {
  return { key: `k${n % 3}`, value: { n }, timestamp: 1000 + n };
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}

const tick = (ms = 5): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function opened(sink: FakeSink, deadLetters?: Array<{ record: SinkRecord; reason: string }>): Promise<FakeSink> {
  const ctx: SinkContext = { logger: silentLogger };
  if (deadLetters) ctx.deadLetter = (record, reason) => deadLetters.push({ record, reason });
  await sink.open(ctx);
  return sink;
}

describe('BatchingSink', () => {
  it('connects in open(), not in the constructor', async () => {
    const sink = new FakeSink();
    expect(sink.connected).toBe(false);
    await opened(sink);
    expect(sink.connected).toBe(true);
  });

  it('writes full batches in the background, in order, one write at a time', async () => {
    const sink = await opened(new FakeSink(() => tick(3), { batchSize: 3 }));
    for (let n = 1; n <= 10; n++) sink.add(rec(n));
    await tick(40);
    // Full batches went out without a flush; the partial one waits for it.
    expect(sink.batches).toEqual([[1, 2, 3], [4, 5, 6], [7, 8, 9]]);
    expect(sink.buffered).toBe(1);
    await sink.flush();
    expect(sink.batches.flat()).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(sink.maxConcurrent).toBe(1);
    expect(sink.written).toBe(10);
    expect(sink.stats).toMatchObject({ written: 10, batches: 4, retries: 0, failures: 0 });
    expect(sink.syncs).toBe(1);
  });

  it('flush waits for the write in flight before it resolves', async () => {
    const gate = deferred();
    const sink = await opened(new FakeSink(() => gate.promise, { batchSize: 2 }));
    sink.add(rec(1));
    sink.add(rec(2));
    let flushed = false;
    const flushing = sink.flush().then(() => (flushed = true));
    await tick(20);
    expect(flushed).toBe(false);
    expect(sink.written).toBe(0);
    gate.resolve();
    await flushing;
    expect(flushed).toBe(true);
    expect(sink.written).toBe(2);
  });

  it('retries retriable failures with growing backoff, then writes the batch once', async () => {
    const sink = await opened(new FakeSink((_b, attempt) => {
      if (attempt <= 3) throw new TributaryError('TRIB_SINK', 'connection reset', { retriable: true });
    }, { batchSize: 10, backoffMs: 20 }));
    sink.add(rec(1));
    await sink.flush();
    expect(sink.batches).toEqual([[1]]);
    expect(sink.stats.retries).toBe(3);
    // random() = 0 → half the ceiling: 10, 20, 40 ms.
    const gaps = sink.attemptTimes.slice(1).map((t, k) => t - sink.attemptTimes[k]);
    expect(gaps[0]).toBeGreaterThanOrEqual(9);
    expect(gaps[1]).toBeGreaterThanOrEqual(19);
    expect(gaps[2]).toBeGreaterThanOrEqual(39);
  });

  it('throws from flush once retries run out, keeps the records, and a later flush writes them', async () => {
    const sink = await opened(new FakeSink(() => {
      throw new TributaryError('TRIB_SINK', 'redis down', { retriable: true });
    }, { batchSize: 10, backoffMs: 1, maxRetries: 2 }));
    sink.add(rec(1));
    sink.add(rec(2));
    const err = await sink.flush().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_SINK');
    expect((err as Error).message).toMatch(/fake.*2 record\(s\) failed after 3 attempt\(s\): redis down/);
    expect(sink.attempts).toBe(3);
    expect(sink.written).toBe(0);
    expect(sink.buffered).toBe(2);

    sink.setBehaviour(() => {});
    await sink.flush();
    expect(sink.batches).toEqual([[1, 2]]);
    expect(sink.written).toBe(2);
  });

  it('does not retry an error that is not retriable', async () => {
    const sink = await opened(new FakeSink(() => {
      throw new Error('WRONGTYPE Operation against a key holding the wrong kind of value');
    }, { batchSize: 10, backoffMs: 1 }));
    sink.add(rec(1));
    await expect(sink.flush()).rejects.toThrow(/after 1 attempt\(s\): WRONGTYPE/);
    expect(sink.attempts).toBe(1);
    expect(sink.stats.retries).toBe(0);
  });

  it('keeps later batches behind a failed one (no reordering, no loss)', async () => {
    let fail = true;
    const sink = await opened(new FakeSink(() => {
      if (fail) throw new Error('boom');
    }, { batchSize: 2, backoffMs: 1 }));
    for (let n = 1; n <= 5; n++) sink.add(rec(n));
    await expect(sink.flush()).rejects.toThrow(/boom/);
    fail = false;
    await sink.flush();
    expect(sink.batches.flat()).toEqual([1, 2, 3, 4, 5]);
  });

  it('waits at least retryAfterMs on backpressure', async () => {
    const sink = await opened(new FakeSink((_b, attempt) => {
      if (attempt === 1) throw new SinkBackpressureError('too many pending writes', 80);
    }, { batchSize: 10, backoffMs: 1 }));
    sink.add(rec(1));
    await sink.flush();
    expect(sink.attempts).toBe(2);
    expect(sink.attemptTimes[1] - sink.attemptTimes[0]).toBeGreaterThanOrEqual(79);
    expect(sink.written).toBe(1);
  });

  it('gives up on backpressure that lasts longer than maxBackpressureMs', async () => {
    const sink = await opened(new FakeSink(() => {
      throw new SinkBackpressureError('busy', 10);
    }, { batchSize: 10, maxBackpressureMs: 30 }));
    sink.add(rec(1));
    await expect(sink.flush()).rejects.toThrow(/busy/);
    expect(sink.attempts).toBeGreaterThanOrEqual(3);
    expect(sink.attempts).toBeLessThanOrEqual(5);
  });

  it('sends records rejected for good to the dead-letter callback, once, after the batch succeeds', async () => {
    const dead: Array<{ record: SinkRecord; reason: string }> = [];
    const sink = await opened(new FakeSink((batch, attempt, self) => {
      for (const r of batch) if (r.value.n === 2) self.reject(r, 'value too large for column amount');
      if (attempt === 1) throw new TributaryError('TRIB_SINK', 'timeout', { retriable: true });
    }, { batchSize: 10, backoffMs: 1 }), dead);
    for (let n = 1; n <= 3; n++) sink.add(rec(n));
    await sink.flush();
    expect(dead).toEqual([{ record: rec(2), reason: 'value too large for column amount' }]);
    expect(sink.stats).toMatchObject({ written: 2, failures: 1, batches: 1, retries: 1 });
  });

  it('logs a rejected record when no dead-letter output exists', async () => {
    const lines: string[] = [];
    const logger = { ...silentLogger, error: (msg: string) => lines.push(msg) };
    const sink = new FakeSink((batch, _a, self) => self.reject(batch[0], 'bad'), { batchSize: 10 });
    await sink.open({ logger });
    sink.add(rec(1));
    await sink.flush();
    expect(lines).toEqual(['sink rejected a record and no dead-letter output is configured']);
    expect(sink.stats.failures).toBe(1);
  });

  it('returns a promise from add() when the buffer is over its bound, resolved when the write completes', async () => {
    const gate = deferred();
    const sink = await opened(new FakeSink(() => gate.promise, { batchSize: 2, maxBuffered: 4 }));
    const results = [1, 2, 3, 4, 5, 6].map((n) => sink.add(rec(n)));
    expect(results.slice(0, 5).every((r) => r === undefined)).toBe(true);
    expect(results[5]).toBeInstanceOf(Promise);
    let released = false;
    void (results[5] as Promise<void>).then(() => (released = true));
    await tick(10);
    expect(released).toBe(false);
    gate.resolve();
    await sink.flush();
    expect(released).toBe(true);
    expect(sink.batches.flat()).toEqual([1, 2, 3, 4, 5, 6]);
  });

  it('refuses add() before open()', () => {
    expect(() => new FakeSink().add(rec(1))).toThrow(/before open/);
  });
});

describe('BatchingSink linger', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  /** Fake timers and a fake clock: the linger timer fires exactly when the test moves time. */
  function fakeClock(): { now: () => number } {
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout', 'Date'] });
    return { now: () => Date.now() };
  }

  it('writes a partial batch once its oldest record has waited lingerMs, without a flush', async () => {
    const { now } = fakeClock();
    const sink = await opened(new FakeSink(() => {}, { batchSize: 10, lingerMs: 50, now }));
    sink.add(rec(1));
    await vi.advanceTimersByTimeAsync(30);
    sink.add(rec(2));
    await vi.advanceTimersByTimeAsync(19);
    expect(sink.batches).toEqual([]);
    await vi.advanceTimersByTimeAsync(1);
    // Timed from the oldest record: record 2 had waited only 20 ms and goes along.
    expect(sink.batches).toEqual([[1, 2]]);
    expect(sink.written).toBe(2);
    expect(sink.syncs).toBe(0);

    sink.add(rec(3));
    await vi.advanceTimersByTimeAsync(49);
    expect(sink.batches).toEqual([[1, 2]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.batches).toEqual([[1, 2], [3]]);
    expect(sink.buffered).toBe(0);
  });

  it('without lingerMs a partial batch waits for the flush', async () => {
    const { now } = fakeClock();
    const sink = await opened(new FakeSink(() => {}, { batchSize: 10, now }));
    sink.add(rec(1));
    await vi.advanceTimersByTimeAsync(3_600_000);
    expect(sink.attempts).toBe(0);
    expect(sink.buffered).toBe(1);
    await sink.flush();
    expect(sink.batches).toEqual([[1]]);
  });

  it('lingerMs 0 writes on the next turn of the event loop', async () => {
    const { now } = fakeClock();
    const sink = await opened(new FakeSink(() => {}, { batchSize: 10, lingerMs: 0, now }));
    sink.add(rec(1));
    sink.add(rec(2));
    expect(sink.attempts).toBe(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.batches).toEqual([[1, 2]]);
  });

  it('lingerMs 0 sends what arrives while a write is in flight together, right after it (no timer)', async () => {
    const { now } = fakeClock();
    const sink = await opened(new FakeSink(() => new Promise<void>((r) => setTimeout(r, 20)), { batchSize: 100, lingerMs: 0, now }));
    sink.add(rec(1));
    await vi.advanceTimersByTimeAsync(0);
    expect(sink.attempts).toBe(1);
    for (let n = 2; n <= 5; n++) sink.add(rec(n));
    await vi.advanceTimersByTimeAsync(19);
    expect(sink.attempts).toBe(1); // one write at a time
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.batches).toEqual([[1]]);
    await vi.advanceTimersByTimeAsync(1);
    expect(sink.attempts).toBe(2); // the next starts as the first ends, with everything that waited
    await vi.advanceTimersByTimeAsync(20);
    expect(sink.batches).toEqual([[1], [2, 3, 4, 5]]);
    expect(sink.maxConcurrent).toBe(1);
  });

  it('times linger from the oldest record still buffered, not from one that left in a full batch', async () => {
    const { now } = fakeClock();
    const sink = await opened(new FakeSink(() => {}, { batchSize: 2, lingerMs: 50, now }));
    sink.add(rec(1));
    sink.add(rec(2));
    await vi.advanceTimersByTimeAsync(40);
    expect(sink.batches).toEqual([[1, 2]]);
    sink.add(rec(3));
    await vi.advanceTimersByTimeAsync(20); // 50 ms after record 1, 20 ms after record 3
    expect(sink.batches).toEqual([[1, 2]]);
    await vi.advanceTimersByTimeAsync(30);
    expect(sink.batches).toEqual([[1, 2], [3]]);
  });

  it('writes what arrived during a write as soon as that write ends, if it is due by then', async () => {
    const { now } = fakeClock();
    const sink = await opened(new FakeSink(() => new Promise<void>((r) => setTimeout(r, 100)), { batchSize: 10, lingerMs: 10, now }));
    sink.add(rec(1));
    await vi.advanceTimersByTimeAsync(10); // the linger write of [1] starts and takes 100 ms
    expect(sink.attempts).toBe(1);
    sink.add(rec(2));
    sink.add(rec(3));
    await vi.advanceTimersByTimeAsync(99);
    expect(sink.batches).toEqual([]);
    expect(sink.attempts).toBe(1); // one write at a time: [2, 3] waits although due
    await vi.advanceTimersByTimeAsync(2);
    expect(sink.batches).toEqual([[1]]);
    expect(sink.attempts).toBe(2);
    await vi.advanceTimersByTimeAsync(100);
    expect(sink.batches).toEqual([[1], [2, 3]]);
    expect(sink.maxConcurrent).toBe(1);
  });

  it('a flush waits for the linger write in flight, then writes the rest and acks every record', async () => {
    const { now } = fakeClock();
    const gate = deferred();
    const sink = await opened(new FakeSink((batch) => (batch[0]!.value.n === 1 ? gate.promise : undefined), { batchSize: 10, lingerMs: 10, now }));
    sink.add(rec(1));
    sink.add(rec(2));
    await vi.advanceTimersByTimeAsync(10);
    expect(sink.attempts).toBe(1);
    sink.add(rec(3));
    let flushed = false;
    const flushing = sink.flush().then(() => (flushed = true));
    await vi.advanceTimersByTimeAsync(1_000);
    expect(flushed).toBe(false);
    expect(sink.written).toBe(0);
    gate.resolve();
    await flushing;
    expect(sink.batches).toEqual([[1, 2], [3]]);
    expect(sink.written).toBe(3);
    expect(sink.syncs).toBe(1);
    expect(sink.maxConcurrent).toBe(1);
  });

  it('keeps per-key order across linger writes, full batches and flushes (randomized)', async () => {
    const seed = Number(process.env.SINK_LINGER_SEED ?? Date.now() % 1_000_000);
    const random = rng(seed);
    const { now } = fakeClock();
    const sink = await opened(new FakeSink(
      () => new Promise<void>((r) => setTimeout(r, random.int(30))),
      { batchSize: 1 + random.int(8), lingerMs: random.int(20), maxBuffered: 1_000, now },
    ));
    const added: SinkRecord[] = [];
    const flushes: Array<Promise<void>> = [];
    for (let n = 1; n <= 400; n++) {
      const record: SinkRecord = { key: `k${random.int(5)}`, value: { n }, timestamp: n };
      added.push(record);
      await sink.add(record);
      const r = random.next();
      if (r < 0.3) await vi.advanceTimersByTimeAsync(random.int(25));
      else if (r < 0.33) flushes.push(sink.flush());
    }
    flushes.push(sink.flush());
    await vi.advanceTimersByTimeAsync(60_000);
    await Promise.all(flushes);
    const written = sink.batches.flat();
    const byKey = (ns: number[]): Record<string, number[]> => {
      const out: Record<string, number[]> = {};
      for (const n of ns) (out[String(added[n - 1]!.key)] ??= []).push(n);
      return out;
    };
    const context = `seed ${seed} (replay: SINK_LINGER_SEED=${seed})`;
    expect(byKey(written), context).toEqual(byKey(added.map((r) => r.value.n as number)));
    expect(written, context).toEqual(added.map((r) => r.value.n));
    expect(sink.maxConcurrent, context).toBe(1);
  });

  it('close() cancels the linger timer: unflushed records are not written after close', async () => {
    const { now } = fakeClock();
    const sink = await opened(new FakeSink(() => {}, { batchSize: 10, lingerMs: 10, now }));
    sink.add(rec(1));
    await sink.close();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(sink.attempts).toBe(0);
  });

  // Retry sleeps use node:timers/promises, which fake timers do not drive: real timers, tiny delays.
  it('retries a linger write that failed retriably, with backoff, and writes it once', async () => {
    const sink = await opened(new FakeSink((_b, attempt) => {
      if (attempt <= 2) throw new TributaryError('TRIB_SINK', 'connection reset', { retriable: true });
    }, { batchSize: 10, lingerMs: 1, backoffMs: 2 }));
    sink.add(rec(1));
    sink.add(rec(2));
    await vi.waitFor(() => expect(sink.written).toBe(2));
    expect(sink.batches).toEqual([[1, 2]]);
    expect(sink.stats).toMatchObject({ written: 2, batches: 1, retries: 2 });
    expect(sink.syncs).toBe(0);
  });

  it('holds add() back while a linger write waits out backpressure, and sends rejected records to the dead letters', async () => {
    const dead: Array<{ record: SinkRecord; reason: string }> = [];
    let busy = true;
    const sink = await opened(new FakeSink((batch, _attempt, self) => {
      if (busy) throw new SinkBackpressureError('too many pending writes', 5);
      for (const r of batch) if (r.value.n === 2) self.reject(r, 'bad value');
    }, { batchSize: 2, maxBuffered: 2, lingerMs: 1, backoffMs: 1 }), dead);
    expect(sink.add(rec(1))).toBeUndefined();
    await vi.waitFor(() => expect(sink.stats.retries).toBeGreaterThan(0));
    // The linger write of [1] is in flight, retrying; the buffer reaches its bound.
    expect(sink.add(rec(2))).toBeUndefined();
    const held = sink.add(rec(3));
    expect(held).toBeInstanceOf(Promise);
    let released = false;
    void (held as Promise<void>).then(() => (released = true));
    await tick(20);
    expect(released).toBe(false);
    expect(sink.written).toBe(0);
    busy = false;
    await held;
    await vi.waitFor(() => expect(sink.buffered).toBe(0));
    await sink.flush();
    expect(sink.batches.flat()).toEqual([1, 2, 3]);
    expect(dead).toEqual([{ record: rec(2), reason: 'bad value' }]);
    expect(sink.stats).toMatchObject({ written: 2, failures: 1 });
  });

  it('a linger write that fails for good stops the linger writes; the next flush throws and keeps the records', async () => {
    let broken = true;
    const sink = await opened(new FakeSink(() => {
      if (broken) throw new Error('WRONGPASS invalid password');
    }, { batchSize: 10, lingerMs: 1, backoffMs: 1 }));
    sink.add(rec(1));
    await vi.waitFor(() => expect(sink.attempts).toBe(1));
    sink.add(rec(2));
    await tick(20);
    // No retry by the timer until flush() has reported the failure.
    expect(sink.attempts).toBe(1);
    expect(sink.buffered).toBe(2);
    await expect(sink.flush()).rejects.toThrow(/after 1 attempt\(s\): WRONGPASS/);
    expect(sink.buffered).toBe(2);
    broken = false;
    await sink.flush();
    expect(sink.batches).toEqual([[1, 2]]);
    expect(sink.written).toBe(2);
  });
});
