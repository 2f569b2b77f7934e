/**
 * The write-back cache is bounded in bytes (spec.state.cacheSize), whatever the number of keys:
 * clean entries are evicted to stay within the budget, LevelDB serves the rest, and dirty
 * entries past half the budget ask for a checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { StateBackend } from '../../src/state/backend.js';
import { splitMemory } from '../../src/state/memory-budget.js';
import { estimateHeapBytes } from '../../src/state/heap-size.js';
import { parseSize, formatSize } from '../../src/core/size.js';
import { counterCodec, utf8 } from './helpers.js';
import { stateDirPerTest } from './state-dir.js';
import { compileTopology } from '../../src/topology/index.js';
import { connectorCatalog } from '../../src/connectors/registry.js';
import { stepRegistry } from '../../src/operators/registry.js';
import { run } from '../../src/cli/run.js';

const steps = [{ id: 'agg', fingerprint: 'fp-1' }];
const MB = 2 ** 20;
const t = stateDirPerTest();

describe('sizes', () => {
  it('parses and formats human sizes in binary units', () => {
    expect(parseSize('256MB')).toBe(256 * MB);
    expect(parseSize('1GB')).toBe(2 ** 30);
    expect(parseSize('1.5 GiB')).toBe(1.5 * 2 ** 30);
    expect(parseSize('512kb')).toBe(512 * 1024);
    expect(parseSize('4096')).toBe(4096);
    expect(parseSize('lots')).toBeUndefined();
    expect(parseSize('12 parsecs')).toBeUndefined();
    expect(formatSize(256 * MB)).toBe('256MB');
    expect(formatSize(1000)).toBe('1000B');
  });

  it('splits the state memory so that the parts add up to at most the total', () => {
    for (const total of [16 * MB, 256 * MB, 4 * 2 ** 30]) {
      const b = splitMemory(total);
      expect(b.cacheBytes + b.blockCacheBytes + 2 * b.writeBufferBytes).toBeLessThanOrEqual(total);
      expect(b.cacheBytes).toBeGreaterThan(total / 2);
    }
  });

  it('estimates heap bytes by walking values', () => {
    expect(estimateHeapBytes(5)).toBe(0);
    expect(estimateHeapBytes('abc')).toBeGreaterThan(16);
    const small = estimateHeapBytes({ a: [1, 2, 3] });
    const big = estimateHeapBytes({ a: [1, 2, 3], m: new Map([['x', 'y'.repeat(100)]]) });
    expect(big).toBeGreaterThan(small + 100);
  });
});

describe('write-back cache bounded in bytes', () => {
  it('keeps its estimated bytes within the budget over many more keys than fit, and reads the rest from LevelDB', async () => {
    const total = 16 * MB;
    const budget = splitMemory(total).cacheBytes;
    t.backend = await StateBackend.open(t.dir, { steps, sync: false, cacheSize: total });
    const kv = t.backend.kvStore('agg', 0, counterCodec);
    const keys = 60_000;
    let checkpoints = 0;
    for (let i = 0; i < keys; i++) {
      kv.put(utf8(`user-${i}`), { count: i, sum: i * 2, label: `label-${'x'.repeat(i % 50)}` });
      if (t.backend.wantsCheckpoint) {
        await t.backend.checkpoint({ version: 1, at: i });
        checkpoints++;
        expect(t.backend.metrics().cachedBytes).toBeLessThanOrEqual(budget);
      }
    }
    await t.backend.checkpoint({ version: 1, at: keys });
    // Far more state than the budget: dirty entries asked for checkpoints on the way.
    expect(checkpoints).toBeGreaterThan(0);
    const m = t.backend.metrics();
    expect(m.cachedBytes).toBeLessThanOrEqual(budget);
    expect(m.cachedEntries).toBeLessThan(keys);
    for (let i = 0; i < keys; i += 7) {
      expect(kv.get(utf8(`user-${i}`))).toEqual({ count: i, sum: i * 2, label: `label-${'x'.repeat(i % 50)}` });
    }
    expect(t.backend.metrics().cacheMisses).toBeGreaterThan(0);
    expect(t.backend.metrics().cachedBytes).toBeLessThanOrEqual(budget);
  });

  it('does not evict below the budget', async () => {
    t.backend = await StateBackend.open(t.dir, { steps, sync: false, cacheSize: 64 * MB });
    const kv = t.backend.kvStore('agg', 0, counterCodec);
    for (let i = 0; i < 2000; i++) kv.put(utf8(`k${i}`), { count: i, sum: 0, label: '' });
    await t.backend.checkpoint({ version: 1, at: 1 });
    for (let i = 0; i < 2000; i++) kv.get(utf8(`k${i}`));
    expect(t.backend.metrics().cacheMisses).toBe(0);
    expect(t.backend.metrics().cachedEntries).toBe(2000);
  });
});

describe('spec.state.cacheSize', () => {
  const yaml = (state: string): string => `apiVersion: tributary/v1
kind: Topology
metadata: { name: sized }
spec:
${state}
  sources:
    events: { file: { path: in.jsonl }, eventTime: { field: ts } }
  pipeline:
    - { id: all, from: events, filter: "true" }
  sinks:
    out: { from: all, stdout: {} }
`;
  const compile = (state: string) => compileTopology(yaml(state), '<inline>', { catalog: connectorCatalog, steps: stepRegistry, env: {} });

  it('defaults to 256MB and takes human sizes', () => {
    expect(compile('').stateCacheSize).toBe(256 * MB);
    expect(compile('  state: { cacheSize: 64MB }').stateCacheSize).toBe(64 * MB);
    expect(compile('  state: { cacheSize: 2GB }').stateCacheSize).toBe(2 * 2 ** 30);
  });

  it('refuses what is no size, or too small, at its line', () => {
    expect(() => compile('  state: { cacheSize: lots }')).toThrow(/cacheSize.*a size like "512KB", "64MB", "1GB"/s);
    expect(() => compile('  state: { cacheSize: 1MB }')).toThrow(/cacheSize/);
  });
});

describe('tributary run --cache-size', () => {
  it('refuses what is no size before opening anything', async () => {
    await expect(run(['missing.yaml', '--cache-size', 'lots'])).rejects.toThrow(/--cache-size 'lots' is not a size/);
    await expect(run(['missing.yaml', '--cache-size', '1MB'])).rejects.toThrow(/at least 16MB/);
  });
});
