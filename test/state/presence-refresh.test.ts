/**
 * The presence filter's rebuild (presence-refresh.ts): a long-running worker whose keys come and
 * go keeps answering "never seen" without LevelDB, and no key LevelDB holds is ever lost. The
 * model test (cache-reference.test.ts) checks rebuilds racing random writes and evictions; these
 * check what a rebuild is for, when one starts, and that close stops one.
 */
import { describe, expect, it } from 'vitest';
import { StateBackend } from '../../src/state/backend.js';
import { PresenceFilter, decodePresence, encodePresence } from '../../src/state/presence-filter.js';
import type { WindowStore } from '../../src/state/types.js';
import type { Logger } from '../../src/core/logger.js';
import { numberCodec, utf8 } from './helpers.js';
import { stateDirPerTest } from './state-dir.js';
import { latin1Bytes as k } from '../../src/state/codec/latin1.js';

const steps = [{ id: 'w', fingerprint: 'v1' }];
const t = stateDirPerTest();

function captureLogger(lines: string[]): Logger {
  const logger: Logger = {
    debug: () => {},
    info: (msg) => void lines.push(msg),
    warn: (msg) => void lines.push(msg),
    error: (msg) => void lines.push(msg),
    child: () => logger,
  };
  return logger;
}

/** A backend whose cache keeps 50 clean entries and whose filter has 32,768 bits. */
async function open(logger?: Logger): Promise<{ b: StateBackend; w: WindowStore<number, number> }> {
  await t.backend?.close();
  const b = await StateBackend.open(t.dir, { steps, sync: false, maxCachedEntries: 50, presenceFilterBytes: 4096, ...(logger ? { logger } : {}) });
  t.backend = b;
  return { b, w: b.windowStore('w', 0, numberCodec, numberCodec) };
}

/** Keys `from`..`to`-1 written (heads and one slice each) and checkpointed, so most are evicted into the filter. */
async function writeKeys(b: StateBackend, w: WindowStore<number, number>, from: number, to: number, at: number): Promise<void> {
  for (let i = from; i < to; i++) {
    w.putHead(utf8(`user-${i}`), i);
    w.putSlice(utf8(`user-${i}`), 60_000, i);
    if ((i - from) % 500 === 499) await b.checkpoint({ version: 1, at: at + i });
  }
  await b.checkpoint({ version: 1, at: at + to });
}

/** Cache misses (LevelDB reads) for `n` keys never written. */
function missesOnNewKeys(b: StateBackend, w: WindowStore<number, number>, n: number, tag: string): number {
  const before = b.metrics().cacheMisses;
  for (let i = 0; i < n; i++) expect(w.getHead(utf8(`new-${tag}-${i}`))).toBeUndefined();
  return b.metrics().cacheMisses - before;
}

describe('presence filter fill', () => {
  it('counts the bits it sets, adds a key from its bytes as from its string, and recounts a saved filter', () => {
    const f = new PresenceFilter(1024);
    expect(f.fill).toBe(0);
    f.add(3, k('user-1'));
    expect(f.fill * 8192).toBeGreaterThanOrEqual(1);
    expect(f.fill * 8192).toBeLessThanOrEqual(4);
    const g = new PresenceFilter(1024);
    const bytes = utf8('xxuser-1yy');
    g.addBytes(3, bytes, 2, 8);
    expect(Buffer.from(g.view())).toEqual(Buffer.from(f.view()));
    for (let i = 0; i < 3000; i++) f.add(i % 5, k(`k${i}`));
    // 3,001 keys × 4 probes into 8,192 bits: 1 − e^(−12004/8192) ≈ 0.77 expected.
    expect(f.fill).toBeGreaterThan(0.7);
    expect(f.fill).toBeLessThan(0.82);
    const back = decodePresence(encodePresence(f, '{}', ['window/0/0']), '{}', 1024)!;
    expect(back.filter.fill).toBe(f.fill);
  });

  it('adopts a rebuilt filter of its size only, and feeds its shadow while one is built', () => {
    const f = new PresenceFilter(1024);
    const shadow = new PresenceFilter(1024);
    f.shadow = shadow;
    f.add(1, k('a'));
    expect(shadow.mayHold(1, k('a'))).toBe(true);
    for (let i = 0; i < 2000; i++) f.add(1, k(`old-${i}`));
    f.adopt(shadow);
    expect(f.shadow).toBeUndefined();
    expect(f.mayHold(1, k('a'))).toBe(true);
    expect(f.fill).toBe(shadow.fill);
    expect(() => f.adopt(new PresenceFilter(2048))).toThrow(/same size/);
  });
});

describe('presence filter rebuild', () => {
  it('forgets keys LevelDB no longer holds, so new keys stop reading LevelDB, and keeps every key it holds', async () => {
    const { b, w } = await open();
    // 4,000 keys written and evicted fill the filter (16,000 probes into 32,768 bits).
    await writeKeys(b, w, 0, 4000, 0);
    // They expire: deleted and checkpointed. 200 stay, most of them evicted.
    for (let i = 200; i < 4000; i++) {
      w.deleteHead(utf8(`user-${i}`));
      w.deleteSlice(utf8(`user-${i}`), 60_000);
    }
    await b.checkpoint({ version: 1, at: 10_000 });
    // Joins a rebuild the checkpoints may have started, then one that surely sees the deletes.
    await b.refreshPresence();
    const stale = new PresenceFilter(4096);
    const result = await b.refreshPresence();
    expect(result).toBeDefined();
    expect(result!.scanned).toBe(400); // 200 heads and 200 slices
    expect(result!.fillAfter).toBeLessThan(0.05);
    expect(stale.fill).toBe(0);
    // Before: ~fill^4 of new keys read LevelDB; after: nearly none.
    expect(missesOnNewKeys(b, w, 2000, 'a')).toBeLessThan(5);
    for (let i = 0; i < 200; i++) {
      expect(w.getHead(utf8(`user-${i}`))).toBe(i);
      expect(w.getSlice(utf8(`user-${i}`), 60_000)).toBe(i);
    }
    for (let i = 200; i < 260; i++) expect(w.getHead(utf8(`user-${i}`))).toBeUndefined();
    expect(b.metrics().presenceRefreshes).toBeGreaterThanOrEqual(1);
    expect(b.metrics().presenceFill).toBe(result!.fillAfter);
  });

  it('starts by itself after a checkpoint once the filter is half full, and the misses on new keys fall', async () => {
    const lines: string[] = [];
    const { b, w } = await open(captureLogger(lines));
    // Keys come and go as in a rolling window: each batch expires the one before it.
    for (let round = 0; round < 20; round++) {
      await writeKeys(b, w, round * 1000, (round + 1) * 1000, round * 10_000);
      if (round > 0) {
        for (let i = (round - 1) * 1000; i < round * 1000; i++) {
          w.deleteHead(utf8(`user-${i}`));
          w.deleteSlice(utf8(`user-${i}`), 60_000);
        }
        await b.checkpoint({ version: 1, at: round * 10_000 + 5000 });
      }
      await new Promise((r) => setTimeout(r, 20)); // lets a rebuild started by a checkpoint finish
    }
    const m = b.metrics();
    expect(m.presenceRefreshes).toBeGreaterThanOrEqual(2);
    expect(lines).toContain('state: presence filter rebuilt');
    // Without rebuilds 20,000 keys' 80,000 probes into 32,768 bits leave fill ≈ 0.91: 69% of new
    // keys would read LevelDB. With them, at most the last two batches' keys are in it, plus
    // those evicted since the last rebuild (it starts again from 0.5).
    expect(m.presenceFill).toBeLessThan(0.65);
    expect(missesOnNewKeys(b, w, 1000, 'b')).toBeLessThan(200);
    for (let i = 19_000; i < 20_000; i += 7) expect(w.getHead(utf8(`user-${i}`))).toBe(i);
  });

  it('does not rebuild again and again when the keys LevelDB holds fill the filter', async () => {
    const lines: string[] = [];
    const { b, w } = await open(captureLogger(lines));
    await writeKeys(b, w, 0, 20_000, 0); // all live: 40,000 entries of 20,000 keys
    await b.refreshPresence();
    const first = await b.refreshPresence();
    expect(first!.scanned).toBe(40_000);
    expect(first!.fillAfter).toBeGreaterThan(0.85); // 1 − e^(−80000/32768) ≈ 0.91
    expect(lines.some((l) => l.includes('more memory'))).toBe(true);
    const started = (): number => lines.filter((l) => l.startsWith('state: rebuilding')).length;
    const before = started();
    // 7,000 keys more, evicted: the fill passes the next threshold (0.91 + 0.09/2), but 14,000
    // adds are fewer than half the 40,000 keys the next rebuild would scan, for little gain.
    // (A rebuild logs its start synchronously, in the checkpoint that starts it.)
    await writeKeys(b, w, 20_000, 27_000, 100_000);
    expect(b.metrics().presenceFill).toBeGreaterThan(0.955);
    expect(started()).toBe(before);
  });

  it('is stopped by close, which saves the filter it had; the next open still finds every key', async () => {
    const { b, w } = await open();
    await writeKeys(b, w, 0, 3000, 0);
    const running = b.refreshPresence();
    await b.close();
    t.backend = undefined;
    expect(await running).toBeUndefined();
    const { w: w2 } = await open();
    for (let i = 0; i < 3000; i += 3) expect(w2.getHead(utf8(`user-${i}`))).toBe(i);
  });
});
