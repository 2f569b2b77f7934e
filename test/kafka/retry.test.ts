import { describe, expect, it } from 'vitest';
import { KafkaClientError } from '../../src/kafka/client.js';
import { KafkaRetrier, kafkaRetryStats } from '../../src/kafka/retry.js';

interface Line { level: string; msg: string; fields?: Record<string, unknown> }

function retrier(timeoutMs: number): { r: KafkaRetrier; lines: Line[] } {
  const lines: Line[] = [];
  const log = {
    info: (msg: string, fields?: Record<string, unknown>) => { lines.push({ level: 'info', msg, fields }); },
    warn: (msg: string, fields?: Record<string, unknown>) => { lines.push({ level: 'warn', msg, fields }); },
    error: (msg: string, fields?: Record<string, unknown>) => { lines.push({ level: 'error', msg, fields }); },
  };
  return { r: new KafkaRetrier({ timeoutMs, brokers: ['b1:9092', 'b2:9092'], log, backoffMs: 5, maxBackoffMs: 20 }), lines };
}

const down = (): KafkaClientError => new KafkaClientError('kafka produce to t: connect ECONNREFUSED b1:9092', true);

/** fn that fails with `err()` `times` times, then answers `value`. */
function flaky<T>(times: number, value: T, err: () => Error = down): () => Promise<T> {
  let n = 0;
  return async () => {
    if (n++ < times) throw err();
    return value;
  };
}

describe('KafkaRetrier (riding out broker faults)', () => {
  it('retries retriable failures until the call succeeds: one warning when the outage starts, one line when it ends', async () => {
    const { r, lines } = retrier(10_000);
    const before = { ...kafkaRetryStats };
    expect(await r.run('kafka produce to t', flaky(3, 'ok'))).toBe('ok');
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual(['warn kafka unavailable; retrying', 'info kafka available again']);
    expect(lines[0]!.fields).toMatchObject({ operation: 'kafka produce to t', brokers: 'b1:9092,b2:9092', retryTimeoutMs: 10_000 });
    expect(lines[1]!.fields).toMatchObject({ retries: 3 });
    expect(kafkaRetryStats.outages - before.outages).toBe(1);
    expect(kafkaRetryStats.retries - before.retries).toBe(3);
  });

  it('one outage seen by several calls is one warning; a call that succeeds meanwhile does not end it', async () => {
    const { r, lines } = retrier(10_000);
    const slow = r.run('kafka commit', flaky(8, 'committed'));
    const other = r.run('kafka fetch', flaky(2, 'fetched'));
    await new Promise((res) => setTimeout(res, 5));
    expect(await r.run('kafka fetch (nothing to ask the broker)', async () => 'idle')).toBe('idle');
    expect(await Promise.all([slow, other])).toEqual(['committed', 'fetched']);
    expect(lines.map((l) => `${l.level} ${l.msg}`)).toEqual(['warn kafka unavailable; retrying', 'info kafka available again']);
  });

  it('fails past the bound, not retriable, naming the brokers, the bound and the error', async () => {
    const { r } = retrier(60);
    const before = kafkaRetryStats.exhausted;
    const err = await r.run('kafka commit', flaky(Infinity, 'never')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(KafkaClientError);
    expect(err).toMatchObject({ retriable: false });
    expect((err as Error).message).toMatch(/^kafka commit: Kafka at b1:9092,b2:9092 still failing after \d+ s \(--kafka-retry-timeout 0 s\): kafka produce to t: connect ECONNREFUSED/);
    expect(kafkaRetryStats.exhausted - before).toBe(1);
  });

  it('passes errors that retrying cannot fix through at once: not retriable, or a rebalance', async () => {
    const { r, lines } = retrier(10_000);
    const bad = new KafkaClientError('kafka produce to t: partition 9 does not exist', false);
    const moved = new KafkaClientError('kafka commit: the group rebalanced', false, { rebalance: true });
    let calls = 0;
    await expect(r.run('x', async () => { calls++; throw bad; })).rejects.toBe(bad);
    await expect(r.run('x', async () => { calls++; throw moved; })).rejects.toBe(moved);
    await expect(r.run('x', async () => { calls++; throw new Error('a bug'); })).rejects.toThrow('a bug');
    expect(calls).toBe(3);
    expect(lines).toEqual([]);
  });
});
