import { Redis } from 'ioredis';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { RedisSink, type RedisSinkOptions } from '../../../src/connectors/redis/sink.js';
import type { RedisSinkConfig } from '../../../src/connectors/redis/spec.js';
import type { SinkRecord } from '../../../src/connectors/types.js';
import type { Row } from '../../../src/core/record.js';
import { silentLogger } from '../../../src/core/logger.js';
import { useRedis } from '../../helpers/redis.js';

const T0 = 1_700_000_000_000;

function rec(key: string, value: Row, timestamp: number): SinkRecord {
  return { key, value, timestamp };
}

describe('redis sink against redis-server', () => {
  const redis = useRedis();
  let reader: Redis;
  const sinks: RedisSink[] = [];
  const dead: Array<{ record: SinkRecord; reason: string }> = [];

  beforeAll(() => { reader = new Redis(redis().url); });
  afterAll(() => { reader.disconnect(); });
  afterEach(async () => {
    for (const s of sinks.splice(0)) await s.close();
    dead.length = 0;
    await reader.flushall();
  });

  async function open(config: Partial<RedisSinkConfig>, options: RedisSinkOptions = {}): Promise<RedisSink> {
    const full = { url: redis().url, mode: 'standalone', tls: false, layout: 'hash', key: '{key}', batchSize: 500, ...config } as RedisSinkConfig;
    const sink = new RedisSink('features', full, options);
    await sink.open({ logger: silentLogger, deadLetter: (record, reason) => dead.push({ record, reason }) });
    sinks.push(sink);
    return sink;
  }

  async function write(sink: RedisSink, records: SinkRecord[]): Promise<void> {
    for (const r of records) await sink.add(r);
    await sink.flush();
  }

  it('hash layout: key template, every row field by default, the version in _v, nulls delete the field', async () => {
    const sink = await open({ key: 'feat:user:{user_id}' });
    await write(sink, [
      rec('k1', { user_id: 'u1', cnt_1h: 3, sum_1d: 12.5, tags: ['a', 'b'], flag: true, gone: 'x' }, T0),
      rec('k2', { user_id: 'u2', cnt_1h: 1, sum_1d: 0, tags: [], flag: false, gone: 'y' }, T0 + 1),
      rec('k1', { user_id: 'u1', cnt_1h: 4, gone: null }, T0 + 2),
    ]);
    expect(await reader.hgetall('feat:user:u1')).toEqual({
      user_id: 'u1', cnt_1h: '4', sum_1d: '12.5', tags: '["a","b"]', flag: 'true', _v: String(T0 + 2),
    });
    expect(await reader.hgetall('feat:user:u2')).toMatchObject({ cnt_1h: '1', gone: 'y', _v: String(T0 + 1) });
    expect(await reader.ttl('feat:user:u1')).toBe(-1);
    expect(sink.stats).toMatchObject({ written: 3, failures: 0 });
  });

  it('hash layout: fields selection writes only the listed fields; ttl is set on every write', async () => {
    const sink = await open({ key: 'f:{key}', fields: ['cnt', 'amount'], ttl: 60_000 });
    await write(sink, [rec('u1', { cnt: 1, amount: 10, secret_note: 'no' }, T0)]);
    expect(await reader.hgetall('f:u1')).toEqual({ cnt: '1', amount: '10', _v: String(T0) });
    const ttl = await reader.pttl('f:u1');
    expect(ttl).toBeGreaterThan(50_000);
    expect(ttl).toBeLessThanOrEqual(60_000);
  });

  it('string layout: one field or the whole row as JSON, companion version key in the same slot, ttl on both', async () => {
    const one = await open({ layout: 'string', key: 'score:{user_id}', value: 'score', ttl: 30_000 });
    await write(one, [rec('x', { user_id: 'u1', score: 0.75 }, T0 + 5)]);
    expect(await reader.get('score:u1')).toBe('0.75');
    expect(await reader.get('{score:u1}:_v')).toBe(String(T0 + 5));
    for (const key of ['score:u1', '{score:u1}:_v']) expect(await reader.pttl(key)).toBeGreaterThan(20_000);

    const whole = await open({ layout: 'string', key: 'row:{{{key}}}' });
    await write(whole, [rec('u9', { a: 1, b: 'two', c: null }, T0)]);
    expect(JSON.parse((await reader.get('row:{u9}'))!)).toEqual({ a: 1, b: 'two', c: null });
    expect(await reader.get('row:{u9}:_v')).toBe(String(T0));
    expect(await reader.ttl('row:{u9}')).toBe(-1);
  });

  it('version guard: an older version does not overwrite a newer one; an equal version applies', async () => {
    const sink = await open({ key: 'g:{key}' });
    await write(sink, [rec('a', { v: 'new' }, T0 + 100)]);
    await write(sink, [rec('a', { v: 'old' }, T0 + 99)]);
    expect(await reader.hget('g:a', 'v')).toBe('new');
    expect(sink.stale).toBe(1);
    await write(sink, [rec('a', { v: 'same-time' }, T0 + 100)]);
    expect(await reader.hgetall('g:a')).toEqual({ v: 'same-time', _v: String(T0 + 100) });

    const str = await open({ layout: 'string', key: 's:{key}', value: 'v' });
    await write(str, [rec('a', { v: 'new' }, T0 + 100), rec('a', { v: 'old' }, T0 + 1)]);
    expect(await reader.get('s:a')).toBe('new');
  });

  it('version guard: replaying an old batch leaves the newer live values (version from a row field)', async () => {
    const sink = await open({ key: 'r:{user}', version: 'as_of', layout: 'string', value: 'n' });
    const history = Array.from({ length: 50 }, (_, i) => rec('k', { user: `u${i % 5}`, n: i, as_of: T0 + i }, 0));
    await write(sink, history);
    // Live input moved on for u0 and u1 only.
    await write(sink, [rec('k', { user: 'u0', n: 1000, as_of: T0 + 1000 }, 0), rec('k', { user: 'u1', n: 1001, as_of: T0 + 1001 }, 0)]);
    await write(sink, history); // the replay
    const got = await Promise.all([0, 1, 2, 3, 4].map((u) => reader.get(`r:u${u}`)));
    expect(got).toEqual(['1000', '1001', '47', '48', '49']);
    expect(sink.stale).toBeGreaterThanOrEqual(10);
  });

  it('null string value deletes the key and keeps the version as a tombstone', async () => {
    const sink = await open({ layout: 'string', key: 'd:{key}', value: 'v' });
    await write(sink, [rec('a', { v: 'x' }, T0), rec('a', { v: null }, T0 + 1), rec('a', { v: 'resurrected' }, T0)]);
    expect(await reader.exists('d:a')).toBe(0);
    expect(await reader.get('{d:a}:_v')).toBe(String(T0 + 1));
  });

  it('WRONGTYPE and bad records go to the dead letters with the reason; the rest of the batch is written', async () => {
    await reader.set('w:taken', 'a plain string');
    await reader.hset('w:str-taken', 'f', '1');
    const sink = await open({ key: 'w:{key}' });
    await write(sink, [
      rec('ok1', { n: 1 }, T0),
      rec('taken', { n: 2 }, T0),
      rec('ok2', { n: 3 }, T0),
      rec('late', { n: 4 }, Number.NaN),
      rec('clash', { n: 5, _v: 9 }, T0),
    ]);
    expect(await reader.hget('w:ok1', 'n')).toBe('1');
    expect(await reader.hget('w:ok2', 'n')).toBe('3');
    expect(await reader.get('w:taken')).toBe('a plain string');
    expect(dead.map((d) => d.record.key)).toEqual(['late', 'clash', 'taken']);
    expect(dead[0]!.reason).toMatch(/event time is not a finite number/);
    expect(dead[1]!.reason).toMatch(/'_v' collides with the version field/);
    expect(dead[2]!.reason).toMatch(/^redis sink 'features': WRONGTYPE/);
    expect(sink.stats).toMatchObject({ written: 2, failures: 3 });

    const str = await open({ layout: 'string', key: 'w:{key}', value: 'n' });
    await write(str, [rec('str-taken', { n: 1 }, T0), rec('nokey', { m: 1 }, T0)]);
    expect(await reader.type('w:str-taken')).toBe('hash');
    expect(dead.slice(3).map((d) => d.reason)).toEqual([
      expect.stringMatching(/field 'n' is missing/),
      expect.stringMatching(/WRONGTYPE/),
    ]);
  });

  it('linger: a record below batchSize reaches Redis without a flush; flush still waits for every write, in order per key', async () => {
    // No linger in the config: the redis default (0: when the loop yields) applies.
    const sink = await open({ key: 'l:{key}' });
    sink.add(rec('first', { n: 0 }, T0));
    await vi.waitFor(() => expect(sink.written).toBe(1), { timeout: 5_000 });
    expect(await reader.hget('l:first', 'n')).toBe('0');
    expect(sink.buffered).toBe(0);

    // Equal versions apply in write order: the last value per key shows whether a write overtook another.
    const last = new Map<string, number>();
    for (let i = 1; i <= 300; i++) {
      const key = `k${i % 7}`;
      last.set(key, i);
      await sink.add(rec(key, { n: i }, T0));
      if (i % 50 === 0) await new Promise((r) => setTimeout(r, 10));
    }
    await sink.flush();
    expect(sink.stats).toMatchObject({ written: 301, failures: 0 });
    expect(sink.stats.batches).toBeGreaterThan(2);
    for (const [key, n] of last) expect(await reader.hget(`l:${key}`, 'n')).toBe(String(n));
  });

  it('re-sends with EVAL when the server lost its script cache (NOSCRIPT)', async () => {
    const sink = await open({ key: 'n:{key}' });
    await write(sink, [rec('a', { n: 1 }, T0)]);
    await reader.script('FLUSH');
    await write(sink, [rec('a', { n: 2 }, T0 + 1), rec('b', { n: 3 }, T0 + 1)]);
    expect(await reader.hget('n:a', 'n')).toBe('2');
    expect(await reader.hget('n:b', 'n')).toBe('3');
    expect(dead).toEqual([]);
  });

  it('connection errors name the target but never the password', async () => {
    const password = 'hunter2-Sup3rSecret';
    const attempts: Array<Partial<RedisSinkConfig>> = [
      { url: `redis://:${password}@127.0.0.1:1` },
      { url: undefined, host: '127.0.0.1', port: 1, password },
    ];
    for (const config of attempts) {
      const full = { mode: 'standalone', tls: false, layout: 'hash', key: '{key}', batchSize: 10, ...config } as RedisSinkConfig;
      const sink = new RedisSink('secretive', full, { connection: { connectTimeoutMs: 2_000 } });
      const err = await sink.open({ logger: silentLogger }).then(() => undefined, (e: unknown) => e as Error);
      expect(err).toBeInstanceOf(Error);
      expect(err!.message).toMatch(/redis sink 'secretive': cannot connect to 127\.0\.0\.1:\d+/);
      expect(err!.message).not.toContain(password);
      expect(JSON.stringify(err, Object.getOwnPropertyNames(err))).not.toContain(password);
    }
  });

  it('a wrong password is refused with a clear, redacted message', async () => {
    const admin = new Redis(redis().url);
    await admin.config('SET', 'requirepass', 'right-pass-123');
    try {
      const full = { url: redis().url, password: 'wrong-pass-456', mode: 'standalone', tls: false, layout: 'hash', key: '{key}', batchSize: 10 } as RedisSinkConfig;
      const sink = new RedisSink('auth', full, { connection: { connectTimeoutMs: 2_000 } });
      const err = await sink.open({ logger: silentLogger }).then(() => undefined, (e: unknown) => e as Error);
      expect(err?.message).toMatch(/cannot connect to 127\.0\.0\.1:\d+: WRONGPASS/);
      expect(err?.message).not.toContain('wrong-pass-456');
      const ok = await open({ password: 'right-pass-123' });
      await write(ok, [rec('p', { n: 1 }, T0)]);
      expect(ok.stats.written).toBe(1);
    } finally {
      await admin.config('SET', 'requirepass', '');
      admin.disconnect();
    }
  });
});
