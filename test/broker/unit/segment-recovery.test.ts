import { appendFileSync, readdirSync, statSync, truncateSync, writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { batchOf, openLog, readAll, tempDir } from './storage-helpers.js';

function logFile(dir: string): string {
  return join(dir, readdirSync(dir).find((f) => f.endsWith('.log'))!);
}

function fill(dir: string, batches: number): number[] {
  const log = openLog(dir);
  const sizes: number[] = [];
  for (let i = 0; i < batches; i++) {
    const b = batchOf([{ key: `k${i}`, value: `v${i}-a` }, { key: `k${i}`, value: `v${i}-b` }]);
    sizes.push(b.length);
    expect(log.append(b).baseOffset).toBe(i * 2);
  }
  log.close();
  return sizes;
}

describe('segment recovery on open', () => {
  it('truncates a partial batch at the tail and keeps everything before it', () => {
    const dir = tempDir();
    fill(dir, 5);
    const whole = statSync(logFile(dir)).size;
    // A crash mid-write: the first 40 bytes of another batch.
    appendFileSync(logFile(dir), batchOf([{ key: 'x', value: 'torn' }]).subarray(0, 40));
    const log = openLog(dir);
    expect(statSync(logFile(dir)).size).toBe(whole);
    expect(log.nextOffset).toBe(10);
    expect(readAll(log).map(([o, , v]) => [o, v])).toEqual(
      Array.from({ length: 10 }, (_, i) => [i, `v${Math.floor(i / 2)}-${i % 2 ? 'b' : 'a'}`]),
    );
    // Appends continue right after the last valid batch.
    expect(log.append(batchOf([{ key: 'n', value: 'next' }])).baseOffset).toBe(10);
    log.close();
    expect(readAll(openLog(dir)).at(-1)).toEqual([10, 'n', 'next']);
  });

  it('truncates at a last batch whose CRC does not match (bytes written out of order)', () => {
    const dir = tempDir();
    const sizes = fill(dir, 4);
    const file = logFile(dir);
    const data = readFileSync(file);
    data[data.length - 2] ^= 0x55;
    writeFileSync(file, data);
    const log = openLog(dir);
    expect(log.nextOffset).toBe(6);
    expect(statSync(file).size).toBe(sizes.slice(0, 3).reduce((a, b) => a + b, 0));
    expect(readAll(log)).toHaveLength(6);
  });

  it('handles a tail cut inside the 12-byte batch prefix and an empty file', () => {
    const dir = tempDir();
    const sizes = fill(dir, 2);
    truncateSync(logFile(dir), sizes[0] + 7);
    expect(openLog(dir).nextOffset).toBe(2);
    const empty = tempDir();
    expect(openLog(empty).nextOffset).toBe(0);
  });

  it('rebuilds the offset and time indexes so lookups work after recovery', () => {
    const dir = tempDir();
    const log = openLog(dir);
    const t0 = 1_700_000_000_000;
    for (let i = 0; i < 300; i++) log.append(batchOf([{ key: `k${i}`, value: 'x'.repeat(100), timestamp: t0 + i * 10 }]));
    log.close();
    const reopened = openLog(dir);
    expect(readFileSync(logFile(dir).replace(/\.log$/, '.index')).length).toBeGreaterThan(8);
    expect(reopened.offsetForTimestamp(t0 + 1234)).toEqual({ offset: 124, timestamp: t0 + 1240 });
    expect(reopened.offsetForTimestamp(t0 + 99_999)).toBeNull();
    expect(readAll(reopened)[200]).toEqual([200, 'k200', 'x'.repeat(100)]);
    const mid = reopened.read(150, 1);
    expect(Number(mid.readBigInt64BE(0))).toBe(150);
  });
});
