import { Redis } from 'ioredis';
import { afterAll, describe, expect, it } from 'vitest';
import { RedisSink } from '../../../src/connectors/redis/sink.js';
import type { RedisSinkConfig } from '../../../src/connectors/redis/spec.js';
import { SinkBackpressureError } from '../../../src/core/errors.js';
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
    let blocked = 0;
    let restarted: Promise<void> | undefined;
    let writtenWhenStopped = 0;
    let writtenWhenRestarted = -1;
    try {
      for (let i = 0; i < 600; i++) {
        if (i === 150) {
          await sink.flush();
          await server.stop();
          writtenWhenStopped = sink.written;
          restarted = (async () => {
            await new Promise((r) => setTimeout(r, 3_000));
            writtenWhenRestarted = sink.written;
            await server.start();
          })();
        }
        if (i === 400) {
          // No flush first: a pipeline may be in flight when the server dies (AOF fsyncs every write).
          await restarted;
          await server.kill();
          restarted = (async () => {
            await new Promise((r) => setTimeout(r, 1_000));
            await server.start();
          })();
        }
        const key = `k${i % 40}`;
        expected.set(key, i);
        const pending = sink.add({ key, value: { n: i }, timestamp: T0 + i });
        if (pending) {
          blocked++;
          await pending;
        }
      }
      await sink.flush();
      await restarted;
    } catch (err) {
      // Only typed backpressure may reach a caller; anything else fails the test with its message.
      expect(err).toBeInstanceOf(SinkBackpressureError);
      throw err;
    } finally {
      await sink.close();
    }

    expect(blocked).toBeGreaterThan(0);
    expect(writtenWhenRestarted).toBe(writtenWhenStopped);
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
