import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisSink } from '../../../src/connectors/redis/sink.js';
import type { RedisSinkConfig } from '../../../src/connectors/redis/spec.js';
import { writeThroughOutages } from '../../helpers/sink-outage.js';
import { createLogger } from '../../../src/core/logger.js';
import { startRedis, type TestRedis } from '../../helpers/redis.js';

const T0 = 1_700_000_000_000;

describe('redis sink while redis-server is down', () => {
  let redis: TestRedis | undefined;
  afterAll(async () => { await redis?.close(); });

  it('backs off, pauses the producer, and writes everything once the server is back (stop for 3 s, then kill -9)', async () => {
    redis = await startRedis({ aof: true });
    const server = redis;
    const password = 'pw-never-printed-42';
    const logs: string[] = [];
    const logger = createLogger({ level: 'debug', json: true, write: (line) => logs.push(line) });
    const config = {
      // The server has no password: ioredis carries on after the refused AUTH; the URL still holds one.
      url: `redis://:${password}@127.0.0.1:${server.port}`,
      mode: 'standalone', tls: false, layout: 'hash', key: 'o:{key}', batchSize: 20,
    } as RedisSinkConfig;
    // maxRetries 2: an outage must not use up the retry budget (it is backpressure, not failure).
    const sink = new RedisSink('outage', config, { maxBuffered: 60, maxRetries: 2, connection: { maxReconnectDelayMs: 300 } });
    const dead: string[] = [];
    await sink.open({ logger, deadLetter: (_r, reason) => dead.push(reason) });

    const expected = new Map<string, number>();
    const { blocked, writtenAround } = await writeThroughOutages(sink, 600, (i) => {
      const key = `k${i % 40}`;
      expected.set(key, i);
      return { key, value: { n: i }, timestamp: T0 + i };
    }, [
      { at: 150, flushFirst: true, down: async () => { await server.stop(); return () => server.start(); }, forMs: 3_000 },
      // No flush first: a pipeline may be in flight when the server dies (AOF fsyncs every write).
      { at: 400, flushFirst: false, down: async () => { await server.kill(); return () => server.start(); }, forMs: 1_000 },
    ]);

    expect(blocked).toBeGreaterThan(0);
    expect(writtenAround).toHaveLength(1);
    for (const [whenDown, beforeBack] of writtenAround) expect(beforeBack).toBe(whenDown);
    expect(sink.stats).toMatchObject({ written: 600, failures: 0 });
    expect(sink.stats.retries).toBeGreaterThan(0);
    expect(dead).toEqual([]);

    const reader = new Redis(server.url);
    try {
      const keys = [...expected.keys()];
      const values = await Promise.all(keys.map((k) => reader.hgetall(`o:${k}`)));
      expect(Object.fromEntries(keys.map((k, j) => [k, values[j]]))).toEqual(
        Object.fromEntries(keys.map((k) => [k, { n: String(expected.get(k)), _v: String(T0 + expected.get(k)!) }])),
      );
    } finally {
      reader.disconnect();
    }
    expect(logs.some((l) => l.includes('redis connection lost'))).toBe(true);
    expect(logs.join('\n')).not.toContain(password);
  });
});
