/**
 * The cache, its shortcuts (known-absent scopes, no tombstones for state LevelDB never held,
 * second-chance eviction) and the timers against a brute-force model, on a seeded random mix
 * of gets, puts, deletes, timer changes, checkpoints that succeed or fail (with writes while
 * one is in flight) and restarts that discard everything after the last checkpoint.
 */
import { describe, expect, it } from 'vitest';
import { StateBackend } from '../../src/state/backend.js';
import { LevelBytesStore, type BytesOp, type BytesStore } from '../../src/state/level-bytes-store.js';
import { TributaryError } from '../../src/core/errors.js';
import type { PersistentTimerService } from '../../src/state/backend.js';
import type { KeyValueStore, WindowStore } from '../../src/state/types.js';
import { numberCodec, utf8 } from './helpers.js';
import { stateDirPerTest } from './state-dir.js';
import { makeRng, type Rng } from './random.js';

const steps = [{ id: 'w', fingerprint: 'v1' }];
const KEYS = ['a', 'b', 'ab', 'user-1', 'user-2', 'x'];
const STARTS = [0, 60_000, 120_000, -60_000];

/** A model of everything the backend holds: kind|partition|key|start -> value; timers as time|key. */
interface Model {
  values: Map<string, number>;
  timers: Map<string, { time: number; key: string }>;
}

const copy = (m: Model): Model => ({ values: new Map(m.values), timers: new Map(m.timers) });

const t = stateDirPerTest();

/** A byte store whose writes can be made to fail, and that runs a hook while a write is in flight. */
class ControlledStore implements BytesStore {
  failNext = false;
  duringWrite: (() => void) | undefined;
  constructor(private readonly level: LevelBytesStore) {}
  getSync(k: Uint8Array): Uint8Array | undefined {
    return this.level.getSync(k);
  }
  entries(r: Parameters<BytesStore['entries']>[0]): AsyncIterable<[Uint8Array, Uint8Array]> {
    return this.level.entries(r);
  }
  async write(ops: readonly BytesOp[]): Promise<void> {
    const hook = this.duringWrite;
    this.duringWrite = undefined;
    hook?.();
    await Promise.resolve();
    if (this.failNext) {
      this.failNext = false;
      throw new TributaryError('TRIB_STATE_IO', 'injected write failure');
    }
    await this.level.write(ops);
  }
  clear(): Promise<void> {
    return this.level.clear();
  }
  close(): Promise<void> {
    return this.level.close();
  }
}

interface Handles {
  store: ControlledStore;
  windows: WindowStore<number, number>[];
  kvs: KeyValueStore<number>[];
  timers: PersistentTimerService;
}

async function openBackend(maxCachedEntries: number, presenceFilterBytes?: number): Promise<Handles> {
  await t.backend?.close();
  const store = new ControlledStore(await LevelBytesStore.open(t.dir, { sync: false }));
  const b = await StateBackend.openOn(store, t.dir, { steps, maxCachedEntries, ...(presenceFilterBytes !== undefined ? { presenceFilterBytes } : {}) });
  t.backend = b;
  return {
    store,
    windows: [0, 1].map((p) => b.windowStore('w', p, numberCodec, numberCodec)),
    kvs: [0, 1].map((p) => b.kvStore('w', p, numberCodec)),
    timers: await b.loadTimers('w', 0),
  };
}

function earliestDue(m: Model, watermark: number): { time: number; key: string } | undefined {
  let best: { time: number; key: string } | undefined;
  for (const t of m.timers.values()) {
    if (t.time > watermark) continue;
    if (!best || t.time < best.time || (t.time === best.time && t.key < best.key)) best = t;
  }
  return best;
}

/** One random state operation on handles `h`, mirrored on `m`. */
function step(rng: Rng, h: Handles, m: Model): void {
  const p = rng.int(0, 1);
  const key = rng.pick(KEYS);
  const kb = utf8(key);
  const r = rng.next();
  const what = rng.int(0, 2); // head, slice, kv
  const start = rng.pick(STARTS);
  const id = what === 0 ? `h|${p}|${key}` : what === 1 ? `s|${p}|${key}|${start}` : `k|${p}|${key}`;
  if (r < 0.35) {
    const got = what === 0 ? h.windows[p]!.getHead(kb) : what === 1 ? h.windows[p]!.getSlice(kb, start) : h.kvs[p]!.get(kb);
    expect(got, `get ${id}`).toBe(m.values.get(id));
  } else if (r < 0.6) {
    const v = rng.int(0, 1000);
    if (what === 0) h.windows[p]!.putHead(kb, v);
    else if (what === 1) h.windows[p]!.putSlice(kb, start, v);
    else h.kvs[p]!.put(kb, v);
    m.values.set(id, v);
  } else if (r < 0.8) {
    if (what === 0) h.windows[p]!.deleteHead(kb);
    else if (what === 1) h.windows[p]!.deleteSlice(kb, start);
    else h.kvs[p]!.delete(kb);
    m.values.delete(id);
  } else {
    const time = rng.int(0, 20) * 1000;
    const tid = `${time}|${key}`;
    const t = rng.next();
    if (t < 0.45) {
      h.timers.register(time, kb);
      m.timers.set(tid, { time, key });
    } else if (t < 0.75) {
      h.timers.delete(time, kb);
      m.timers.delete(tid);
    } else {
      const wm = rng.int(0, 20) * 1000;
      const want = earliestDue(m, wm);
      const got = h.timers.nextDue(wm);
      expect(got && { time: got.time, key: Buffer.from(got.key).toString() }, `nextDue(${wm})`).toEqual(want);
      if (want) m.timers.delete(`${want.time}|${want.key}`);
    }
    expect(h.timers.size).toBe(m.timers.size);
  }
}

/** Every value and timer the handles show must be the model's. */
function expectAll(h: Handles, m: Model): void {
  for (let p = 0; p < 2; p++) {
    for (const key of KEYS) {
      const kb = utf8(key);
      expect(h.windows[p]!.getHead(kb), `h|${p}|${key}`).toBe(m.values.get(`h|${p}|${key}`));
      expect(h.kvs[p]!.get(kb), `k|${p}|${key}`).toBe(m.values.get(`k|${p}|${key}`));
      for (const s of STARTS) expect(h.windows[p]!.getSlice(kb, s), `s|${p}|${key}|${s}`).toBe(m.values.get(`s|${p}|${key}|${s}`));
    }
  }
  expect(h.timers.size).toBe(m.timers.size);
}

describe('state backend against a reference model', () => {
  // A restart leaves the scopes populated, so misses read LevelDB whatever the presence filter
  // says: the runs without restarts keep the scopes complete throughout, evicting into the
  // filter (default size; 8 bytes, where nearly every key is a false positive; none).
  const cases = [
    { maxCachedEntries: 3, restarts: true },
    { maxCachedEntries: 100_000, restarts: true },
    { maxCachedEntries: 3, restarts: false },
    { maxCachedEntries: 3, restarts: false, filter: 8 },
    { maxCachedEntries: 3, restarts: false, filter: 0 },
    // Rebuilds of the filter (presence-refresh.ts) start at random and run while entries are
    // written, checkpointed and evicted: a key the rebuilt filter lacks would read as absent.
    { maxCachedEntries: 3, restarts: false, filter: 64, refresh: true },
    // The snapshot's entries are encoded one per turn of the event loop while gets, puts,
    // deletes and evictions go on (capture.ts): each must be written as it was at the snapshot.
    { maxCachedEntries: 3, restarts: true, interleaved: true },
    { maxCachedEntries: 100_000, restarts: true, interleaved: true },
  ];
  for (const { maxCachedEntries, restarts, filter, refresh, interleaved } of cases) {
    const name = `${restarts ? 'restarts' : 'no restarts'}, cache of ${maxCachedEntries}${filter === undefined ? '' : `, presence filter of ${filter} bytes`}${refresh ? ', rebuilt meanwhile' : ''}${interleaved ? ', state changed while the snapshot is encoded' : ''}`;
    it(`matches the model through checkpoints, failed checkpoints and restarts (${name})`, async () => {
      const rng = makeRng();
      const open = (n: number): Promise<Handles> => openBackend(n, filter);
      try {
        let h = await open(maxCachedEntries);
        let m: Model = { values: new Map(), timers: new Map() };
        let committed = copy(m);
        let rebuilds = 0;
        for (let round = 0; round < 200; round++) {
          if (refresh && rng.next() < 0.3) void t.backend!.refreshPresence().then((r) => { if (r) rebuilds++; });
          const n = rng.int(0, 60);
          for (let i = 0; i < n; i++) step(rng, h, m);
          const action = rng.next();
          if (action < 0.6 && interleaved) {
            const fail = rng.next() < 0.25;
            const prepared = t.backend!.prepareCheckpoint({ version: 1, at: round });
            const snapshot = copy(m);
            const encoding = prepared.ready(1);
            const turns = rng.int(0, 12);
            for (let k = 0; k < turns; k++) {
              const n2 = rng.int(0, 6);
              for (let i = 0; i < n2; i++) step(rng, h, m);
              await new Promise<void>((resolve) => setImmediate(resolve));
            }
            await encoding;
            h.store.failNext = fail;
            const ok = await prepared.write().then(() => true, () => false);
            expect(ok).toBe(!fail);
            if (ok) committed = snapshot;
          } else if (action < 0.6) {
            const fail = rng.next() < 0.25;
            h.store.failNext = fail;
            // The snapshot is what the checkpoint collected; the hook's writes land after it.
            let snapshot: Model | undefined;
            h.store.duringWrite = () => {
              snapshot = copy(m);
              const extra = rng.int(0, 30);
              for (let i = 0; i < extra; i++) step(rng, h, m);
            };
            const ok = await t.backend!.checkpoint({ version: 1, at: round }).then(() => true, () => false);
            expect(ok).toBe(!fail);
            if (ok) committed = snapshot!;
          } else if (action < 0.8 && restarts) {
            h = await open(maxCachedEntries);
            m = copy(committed);
            expectAll(h, m);
          }
        }
        await t.backend!.checkpoint({ version: 1, at: 1e6 });
        if (refresh) {
          expect(rebuilds).toBeGreaterThan(10);
          expectAll(h, m);
        }
        h = await open(maxCachedEntries);
        expectAll(h, m);
        const fired: string[] = [];
        for (let d = h.timers.nextDue(Infinity); d; d = h.timers.nextDue(Infinity)) fired.push(`${d.time}|${Buffer.from(d.key).toString()}`);
        expect(fired.sort()).toEqual([...m.timers.keys()].sort());
      } catch (err) {
        if (err instanceof Error) err.message = `[TEST_SEED=${rng.seed}] ${err.message}`;
        throw err;
      }
    });
  }
});
