import { Cluster } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RedisSink } from '../../../src/connectors/redis/sink.js';
import type { RedisSinkConfig } from '../../../src/connectors/redis/spec.js';
import { keySlot } from '../../../src/connectors/redis/version-guard.js';
import { silentLogger } from '../../../src/core/logger.js';
import { startRedisCluster, type TestRedisCluster } from '../../helpers/redis.js';

const T0 = 1_700_000_000_000;

describe('redis sink against a 3-master Redis Cluster', () => {
  let cluster: TestRedisCluster | undefined;
  let reader: Cluster;
  beforeAll(async () => {
    cluster = await startRedisCluster(3);
    reader = new Cluster(cluster.nodes.map((n) => ({ host: n.split(':')[0]!, port: Number(n.split(':')[1]) })));
  });
  afterAll(async () => {
    reader?.disconnect();
    await cluster?.close();
  });

  async function open(config: Partial<RedisSinkConfig>, dead: string[]): Promise<RedisSink> {
    const full = { mode: 'cluster', nodes: cluster!.nodes, tls: false, layout: 'hash', key: '{key}', batchSize: 100, ...config } as RedisSinkConfig;
    const sink = new RedisSink('cluster', full);
    await sink.open({ logger: silentLogger, deadLetter: (r, reason) => dead.push(`${String(r.key)}: ${reason}`) });
    return sink;
  }

  it('writes hash and string layouts across every node, guarded by version', async () => {
    const dead: string[] = [];
    const hash = await open({ key: 'c:{key}' }, dead);
    const str = await open({ layout: 'string', key: 'cs:{key}', value: 'n' }, dead);
    try {
      const keys = Array.from({ length: 60 }, (_, i) => `u${i}`);
      // The keys must really spread over the three masters' slot ranges for this to test anything.
      expect(new Set(keys.map((k) => Math.floor(keySlot(`c:${k}`) / 5462))).size).toBe(3);
      for (const sink of [hash, str]) {
        for (const [i, k] of keys.entries()) await sink.add({ key: k, value: { n: i }, timestamp: T0 + 10 });
        for (const [i, k] of keys.entries()) await sink.add({ key: k, value: { n: -i }, timestamp: T0 }); // older: ignored
        await sink.flush();
      }
      for (const [i, k] of keys.entries()) {
        expect(await reader.hgetall(`c:${k}`)).toEqual({ n: String(i), _v: String(T0 + 10) });
        expect(await reader.get(`cs:${k}`)).toBe(String(i));
        expect(await reader.get(`{cs:${k}}:_v`)).toBe(String(T0 + 10));
      }
      expect(hash.stale + str.stale).toBe(120);

      await str.add({ key: 'a}b', value: { n: 1 }, timestamp: T0 });
      await str.flush();
      expect(dead).toEqual([expect.stringMatching(/^a\}b: .*has a '\}' but no hash tag/)]);
    } finally {
      await hash.close();
      await str.close();
    }
  });
});
