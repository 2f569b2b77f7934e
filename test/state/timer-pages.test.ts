/**
 * Timers live in LevelDB pages; memory holds the page index, the page being fired and the pages
 * changed since the last checkpoint. Checked against a reference through checkpoints, aborted
 * checkpoints and reopening, and for what stays in memory.
 */
import { describe, expect, it } from 'vitest';
import { StateBackend } from '../../src/state/backend.js';
import type { PersistentTimers } from '../../src/state/timer-service.js';
import { LevelBytesStore } from '../../src/state/level-bytes-store.js';
import { timerKey } from '../../src/state/codec/state-key.js';
import { earliestDue, utf8 } from './helpers.js';
import { FAR_MS } from '../../src/state/timer-far-ops.js';
import { stateDirPerTest } from './state-dir.js';
import { makeRng, withSeedAsync } from './random.js';

const steps = [{ id: 'agg', fingerprint: 'fp-1' }];
const t = stateDirPerTest();

async function reopen(timerMemoryBytes?: number, timerPageMs = 1000): Promise<PersistentTimers> {
  await t.backend?.close();
  const b = await StateBackend.open(t.dir, { steps, sync: false, timerPageMs, ...(timerMemoryBytes !== undefined ? { timerMemoryBytes } : {}) });
  t.backend = b;
  return (await b.loadTimers('agg', 0)) as PersistentTimers;
}

describe('timer pages', () => {
  it('fire exactly the reference timers, tags included, through checkpoints, aborted checkpoints and reopening with another page width, some registered far ahead', async () => {
    const rng = makeRng();
    await withSeedAsync(rng, async () => {
      let width = 1000;
      let timers = await reopen();
      // The reference as of the last written checkpoint, and as of now.
      type Ref = { time: number; key: string; tagged: boolean };
      let durable = new Map<string, Ref>();
      let ref = new Map<string, Ref>();
      const page = (time: number): number => Math.floor(time / width);
      let watermark = 0;
      // A checkpoint whose pages are encoded one per turn of the event loop while timers change
      // (timer-capture.ts): written (or aborted) some iterations later, as of its instant.
      let inFlight: { finish: () => Promise<void>; until: number } | undefined;
      const settle = async (): Promise<void> => {
        const finish = inFlight?.finish;
        inFlight = undefined;
        await finish?.();
      };
      for (let i = 0; i < 6000; i++) {
        if (inFlight !== undefined) {
          await new Promise<void>((resolve) => setImmediate(resolve));
          if (i >= inFlight.until) await settle();
        }
        const r = rng.next();
        // Some timers more than FAR_MS ahead: held back and applied later, page by page.
        let time = rng.next() < 0.3 ? watermark + FAR_MS + rng.int(-2000, 20_000) : rng.int(watermark - 500, watermark + 20_000);
        let key = `k${rng.int(0, 300)}`;
        if (ref.size > 0 && rng.next() < 0.3) {
          // A timer there is (or was): registered again (its tag goes) or deleted, maybe right after it came.
          const recent = [...ref.values()].at(rng.next() < 0.5 ? -1 : rng.int(0, ref.size - 1))!;
          time = recent.time;
          key = recent.key;
        }
        if (r < 0.4) {
          // A tag holds only while the key has no other register into that page.
          const tagged = rng.next() < 0.5;
          timers.register(time, utf8(key), tagged);
          let alone = true;
          for (const other of ref.values()) {
            if (other.key === key && page(other.time) === page(time)) {
              other.tagged = false;
              alone = false;
            }
          }
          if (!ref.has(`${time}|${key}`)) ref.set(`${time}|${key}`, { time, key, tagged: tagged && alone });
        } else if (r < 0.55) {
          timers.delete(time, utf8(key));
          ref.delete(`${time}|${key}`);
        } else if (r < 0.95) {
          if (rng.next() < 0.3) watermark += rng.next() < 0.1 ? FAR_MS + rng.int(-3000, 20_000) : rng.int(0, 800);
          const want = earliestDue(ref, watermark) as Ref | undefined;
          const got = timers.nextDue(watermark);
          expect(got && { time: got.time, key: Buffer.from(got.key).toString(), tagged: got.tagged }).toEqual(want && { ...want });
          if (want) ref.delete(`${want.time}|${want.key}`);
        } else if (r < 0.98) {
          await settle();
          const prepared = t.backend!.prepareCheckpoint({ version: 1, at: i });
          const snapshot = new Map([...ref].map(([id, v]) => [id, { ...v }]));
          const encoding = prepared.ready(1);
          encoding.catch(() => {});
          inFlight = {
            until: i + rng.int(0, 60),
            finish: async () => {
              await encoding;
              if (rng.next() < 0.25) prepared.abort();
              else {
                await prepared.write();
                durable = snapshot;
              }
            },
          };
          // Aborted at once (a sink could not flush): nothing of it is written.
          if (rng.next() < 0.15) {
            inFlight = undefined;
            prepared.abort();
          }
        } else {
          await settle();
          // Pages written with another width move into pages of this one; a key's timers that
          // now share a page lose their tags, as when registered into one.
          width = rng.pick([1000, 1000, 250, 3000, 7000]);
          timers = await reopen(undefined, width);
          ref = new Map([...durable].map(([id, v]) => [id, { ...v }]));
          for (const a of ref.values()) for (const b of ref.values()) if (a !== b && a.key === b.key && page(a.time) === page(b.time)) a.tagged = false;
        }
        // Now and then only: asking applies what is held back.
        if (rng.next() < 0.01) expect(timers.size).toBe(ref.size);
      }
      await settle();
      expect(timers.size).toBe(ref.size);
    });
  });

  it('keep only the firing page and changed pages in memory after a checkpoint when clean pages have no memory', async () => {
    let timers = await reopen(0);
    // 20 000 timers over 2 000 pages of one second.
    for (let i = 0; i < 20_000; i++) timers.register(i * 100, utf8(`user-${i}`));
    expect(timers.pagesInMemory).toBe(2000);
    await t.backend!.checkpoint({ version: 1, at: 1 });
    expect(timers.pagesInMemory).toBeLessThanOrEqual(1);
    let fired = 0;
    for (let d = timers.nextDue(50_000); d; d = timers.nextDue(50_000)) fired++;
    expect(fired).toBe(501);
    await t.backend!.checkpoint({ version: 1, at: 2 });
    expect(timers.pagesInMemory).toBeLessThanOrEqual(1);
    timers = await reopen(0);
    expect(timers.size).toBe(20_000 - 501);
    expect(timers.nextTime()).toBe(50_100);
    expect(timers.pagesInMemory).toBe(1);
  });

  it('keep clean pages within their memory budget, least recently used dropped first, firing from LevelDB what was dropped', async () => {
    // ~100 bytes per timer of a short key, ~240 per page: 40kB holds ~30 pages of 10 timers.
    const timers = await reopen(40_000);
    for (let i = 0; i < 20_000; i++) timers.register(i * 100, utf8(`user-${i}`));
    expect(timers.pagesInMemory).toBe(2000);
    await t.backend!.checkpoint({ version: 1, at: 1 });
    const kept = timers.pagesInMemory;
    expect(kept).toBeGreaterThan(10);
    expect(kept).toBeLessThan(60);
    // The most recently registered pages are the ones kept; all the others are read back to fire.
    let fired = 0;
    for (let d = timers.nextDue(Infinity); d; d = timers.nextDue(Infinity)) {
      expect(d.time).toBe(fired * 100);
      fired++;
    }
    expect(fired).toBe(20_000);
    await t.backend!.checkpoint({ version: 1, at: 2 });
    expect(timers.pagesInMemory).toBeLessThanOrEqual(kept);
  });

  it('move timers of the one-entry-per-timer layout into pages', async () => {
    const store = await LevelBytesStore.open(t.dir, { sync: false });
    const first = await StateBackend.openOn(store, t.dir, { steps });
    t.backend = first;
    await first.loadTimers('agg', 0);
    await first.checkpoint({ version: 1, at: 1 }); // persists the step's number
    await first.close();
    const raw = await LevelBytesStore.open(t.dir, { sync: false });
    await raw.write([
      { type: 'put', key: timerKey(0, 0, 5000, utf8('old-a')), value: new Uint8Array(0) },
      { type: 'put', key: timerKey(0, 0, 7000, utf8('old-b')), value: new Uint8Array(0) },
    ]);
    await raw.close();
    let timers = await reopen();
    expect(timers.size).toBe(2);
    await t.backend!.checkpoint({ version: 1, at: 2 });
    timers = await reopen();
    expect(timers.size).toBe(2);
    const due = [timers.nextDue(10_000), timers.nextDue(10_000), timers.nextDue(10_000)].map((d) => d && `${d.time}:${Buffer.from(d.key).toString()}`);
    expect(due).toEqual(['5000:old-a', '7000:old-b', undefined]);
  });
});
