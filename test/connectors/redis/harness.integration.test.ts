import { describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { startRedis } from '../../helpers/redis.js';

describe('test/helpers/redis', () => {
  it('keeps port, dir and AOF data across stop/start and kill/start', async () => {
    const redis = await startRedis({ aof: true });
    const client = new Redis({ host: redis.host, port: redis.port, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => 50 });
    client.on('error', () => {});
    try {
      expect(redis.port).not.toBe(6379);
      expect(redis.url).toBe(`redis://127.0.0.1:${redis.port}`);
      await client.connect();
      await client.set('a', '1');
      await redis.stop();
      await redis.start();
      await redis.kill();
      await redis.start();
      const fresh = new Redis(redis.url);
      try {
        expect(await fresh.get('a')).toBe('1');
      } finally {
        fresh.disconnect();
      }
    } finally {
      client.disconnect();
      await redis.close();
      await redis.close();
    }
  });
});
