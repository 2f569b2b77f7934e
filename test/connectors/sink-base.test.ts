import { describe, expect, it } from 'vitest';
import { BatchingSink, type BatchingSinkOptions } from '../../src/connectors/sink-base.js';
import type { SinkContext, SinkRecord } from '../../src/connectors/types.js';
import { SinkBackpressureError, TributaryError } from '../../src/errors.js';
import { silentLogger } from '../../src/runtime/logger.js';

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
