import { describe, expect, it } from 'vitest';
import { classifyRedisError, RedisSink } from '../../../src/connectors/redis/sink.js';
import { parseRedisUrl, planRedisConnection } from '../../../src/connectors/redis/connection.js';
import { redisSinkSpec, type RedisSinkConfig } from '../../../src/connectors/redis/spec.js';
import { hashTag, keySlot, versionKey } from '../../../src/connectors/redis/version-guard.js';
import { validateSpec, type ValidationContext } from '../../../src/core/spec.js';
import { parseYaml } from '../../../src/topology/yaml-tree.js';

function check(yaml: string, env: Record<string, string> = {}) {
  const parsed = parseYaml(yaml, 'sink.yaml', env);
  const ctx: ValidationContext = { file: 'sink.yaml', errors: [...parsed.errors], interpolated: new Map() };
  const value = validateSpec(redisSinkSpec, parsed.root, ctx) as RedisSinkConfig;
  return { value, errors: ctx.errors.map((e) => e.message) };
}

const base = { mode: 'standalone', tls: false, layout: 'hash', key: '{key}', batchSize: 10, linger: 5 } as const;

describe('redis sink config', () => {
  it('fills defaults, converts the ttl, and takes the password from the environment', () => {
    const { value, errors } = check('url: redis://127.0.0.1:6390\npassword: ${REDIS_PASSWORD}\nkey: "feat:user:{user_id}"\nttl: 3d\n', { REDIS_PASSWORD: 'pw' });
    expect(errors).toEqual([]);
    expect(value).toMatchObject({ mode: 'standalone', layout: 'hash', tls: false, batchSize: 500, linger: 0, ttl: 3 * 86_400_000, password: 'pw' });
  });

  it('takes linger as a duration (0 allowed), refuses a negative one', () => {
    expect(check('linger: 20ms\n').value.linger).toBe(20);
    expect(check('linger: 0ms\n')).toMatchObject({ value: { linger: 0 }, errors: [] });
    expect(check('linger: -1\n').errors.join('\n')).toMatch(/sink\.yaml:1:9: .*linger/);
  });

  it('refuses a password written in the file, unknown fields and bad node addresses, with positions', () => {
    expect(check('password: hunter2\n').errors.join('\n')).toMatch(/sink\.yaml:1:11: .*'password' is a secret: write it as \$\{SOME_ENV_VAR\}/);
    expect(check('fileds: [a]\n').errors.join('\n')).toMatch(/sink\.yaml:1:1: .*did you mean 'fields'/);
    expect(check('mode: cluster\nnodes: [localhost]\n').errors.join('\n')).toMatch(/sink\.yaml:2:9: .*write host:port/);
    expect(check('url: http://x\n').errors.join('\n')).toMatch(/redis:\/\/host:port/);
  });

  it('checks mode-specific fields and layout-specific fields when the sink is created, without connecting', () => {
    expect(() => new RedisSink('s', { ...base, mode: 'cluster' })).toThrow(/mode cluster needs 'nodes'/);
    expect(() => new RedisSink('s', { ...base, mode: 'sentinel', sentinels: ['h:26379'] })).toThrow(/needs 'sentinels' .* and 'masterName'/);
    expect(() => new RedisSink('s', { ...base, nodes: ['h:1'] })).toThrow(/'nodes' applies to mode cluster only/);
    expect(() => new RedisSink('s', { ...base, url: 'redis://h:1', port: 2 })).toThrow(/either url or host\/port/);
    expect(() => new RedisSink('s', { ...base, value: 'n' })).toThrow(/'value' applies to layout string/);
    expect(() => new RedisSink('s', { ...base, layout: 'string', fields: ['n'] })).toThrow(/'fields' applies to layout hash/);
    expect(() => new RedisSink('s', { ...base, fields: ['_v'] })).toThrow(/'_v' is reserved/);
    expect(() => new RedisSink('s', { ...base, key: 'f:{user' })).toThrow(/unclosed '\{'/);
  });

  it('parses URLs and never repeats one (it may carry a password) in its errors', () => {
    expect(parseRedisUrl('redis://user:p%40ss@10.0.0.1:6390/3', 'x')).toEqual({ host: '10.0.0.1', port: 6390, username: 'user', password: 'p@ss', db: 3, tls: false });
    expect(parseRedisUrl('rediss://[::1]', 'x')).toEqual({ host: '::1', port: 6379, tls: true });
    expect(() => parseRedisUrl('redis://:topsecret@h:1/notadb', 'x')).toThrow(/^x: url path must be a database number$/);
    const plan = planRedisConnection({ ...base, url: 'redis://:topsecret@h:7000/2' }, 'x');
    expect(plan.target).toBe('h:7000/2');
    expect(plan.redact('AUTH topsecret failed')).toBe('AUTH *** failed');
    expect(planRedisConnection({ ...base, mode: 'cluster', nodes: ['a:1', '[::1]:2'] }, 'x').target).toBe('cluster a:1,[::1]:2');
  });

  it('classifies server replies: record errors, transient states, outages and configuration problems', () => {
    const e = (message: string, name = 'ReplyError') => Object.assign(new Error(message), { name });
    expect(classifyRedisError(e('WRONGTYPE Operation against a key holding the wrong kind of value'))).toBe('record');
    expect(classifyRedisError(e('TRIB_BADVERSION stored version is not a number: x'))).toBe('record');
    expect(classifyRedisError(e('NOSCRIPT No matching script.'))).toBe('noscript');
    expect(classifyRedisError(e('LOADING Redis is loading the dataset in memory'))).toBe('transient');
    expect(classifyRedisError(e('Connection is closed.', 'Error'))).toBe('unavailable');
    expect(classifyRedisError(e("Stream isn't writeable and enableOfflineQueue options is false", 'Error'))).toBe('unavailable');
    expect(classifyRedisError(e('NOPERM this user has no permissions to run the \'evalsha\' command'))).toBe('fatal');
  });
});

describe('version keys and cluster slots', () => {
  it('computes the cluster slot like Redis (CRC16-XMODEM of the hash tag or key, mod 16384)', () => {
    expect(keySlot('123456789')).toBe(0x31c3);
    expect(keySlot('foo')).toBe(12182);
    expect(keySlot('{user1000}.following')).toBe(keySlot('user1000'));
    expect(keySlot('foo{bar}{zap}')).toBe(keySlot('bar'));
    expect(hashTag('foo{}{bar}')).toBeUndefined();
    expect(hashTag('foo{{bar}}zap')).toBe('{bar');
  });

  it('puts a string key\'s version key in the same slot', () => {
    expect(versionKey('feat:u1')).toBe('{feat:u1}:_v');
    expect(versionKey('feat:{u1}')).toBe('feat:{u1}:_v');
    for (const key of ['feat:u1', 'feat:{u1}', 'x{y}z', 'plain']) expect(keySlot(versionKey(key))).toBe(keySlot(key));
  });
});
