import { describe, expect, it } from 'vitest';
import { startAll } from './start-all.js';

describe('startAll', () => {
  it('hands back every service when all start', async () => {
    const [a, b] = await startAll(Promise.resolve(1), Promise.resolve('two'));
    expect([a, b]).toEqual([1, 'two']);
  });

  it('stops the services that started when another fails, then throws its error', async () => {
    const stopped: string[] = [];
    const redis = { stop: async () => void stopped.push('redis') };
    const broker = { close: async () => void stopped.push('broker') };
    const failing = startAll(Promise.resolve(redis), Promise.reject(new Error('mariadb-install-db failed')), Promise.resolve(broker));
    await expect(failing).rejects.toThrow('mariadb-install-db failed');
    expect(stopped.sort()).toEqual(['broker', 'redis']);
  });
});
