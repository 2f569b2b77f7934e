import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { StateBackend } from '../../src/state/backend.js';
import { LevelBytesStore, type BytesStore } from '../../src/state/level-bytes-store.js';
import { WriteBackCache } from '../../src/state/write-back-cache.js';
import { createStateMetrics } from '../../src/state/metrics.js';
import type { KeyValueStore } from '../../src/state/types.js';
import { counterCodec, numberCodec, tempDir, utf8, type Counter } from './helpers.js';
import { stateDirPerTest } from './state-dir.js';

const steps = [{ id: 'agg', fingerprint: 'fp-1' }];
const t = stateDirPerTest();

async function reopen(maxCachedEntries?: number, presenceFilterBytes?: number): Promise<StateBackend> {
  await t.backend?.close();
  t.backend = await StateBackend.open(t.dir, { steps, sync: false, maxCachedEntries, ...(presenceFilterBytes !== undefined ? { presenceFilterBytes } : {}) });
  return t.backend;
}

/** A backend whose kv scope LevelDB holds state of, reopened with no presence filter: the scope is not complete, so a miss asks LevelDB. */
async function reopenWithStateOnDisk(): Promise<{ b: StateBackend; kv: KeyValueStore<number> }> {
  const first = await reopen();
  first.kvStore('agg', 0, numberCodec).put(utf8('other'), 1);
  await first.checkpoint({ version: 1, at: 1 });
  const b = await reopen(undefined, 0);
  return { b, kv: b.kvStore('agg', 0, numberCodec) };
}

/** LevelDB under `dir`, counting its point reads. */
async function countingStore(): Promise<BytesStore & { reads: number }> {
  const level = await LevelBytesStore.open(t.dir, { sync: false });
  const store = {
    reads: 0,
    getSync: (k: Uint8Array) => {
      store.reads++;
      return level.getSync(k);
    },
    entries: (r: Parameters<BytesStore['entries']>[0]) => level.entries(r),
    write: (ops: Parameters<BytesStore['write']>[0]) => level.write(ops),
    clear: () => level.clear(),
    close: () => level.close(),
  };
  return store;
}

/** A byte store that holds nothing (for a cache used without LevelDB). */
const nullStore: BytesStore = {
  getSync: () => undefined,
  entries: async function* () {},
  write: async () => {},
  clear: async () => {},
  close: async () => {},
};

describe('write-back cache', () => {
  it('persists a value mutated in place and put again, as of the checkpoint', async () => {
    const b = await reopen();
    const kv = b.kvStore('agg', 0, counterCodec);
    kv.put(utf8('u1'), { count: 1, sum: 10, label: 'a' });
    const c = kv.get(utf8('u1'))!;
    c.count++;
    c.sum += 5;
    kv.put(utf8('u1'), c);
    await b.checkpoint({ version: 1, at: 1 });
    c.count = 99; // mutated after the checkpoint, never put: not persisted
    const again = (await reopen()).kvStore('agg', 0, counterCodec);
    expect(again.get(utf8('u1'))).toEqual({ count: 2, sum: 15, label: 'a' });
  });

  it('encodes at checkpoint, not at put: the last mutation before the checkpoint wins', async () => {
    const b = await reopen();
    const kv = b.kvStore('agg', 0, counterCodec);
    const c: Counter = { count: 1, sum: 0, label: 'x' };
    kv.put(utf8('k'), c);
    c.count = 7; // mutated after put: the cache holds the object, so the checkpoint sees 7
    await b.checkpoint({ version: 1, at: 1 });
    expect((await reopen()).kvStore('agg', 0, counterCodec).get(utf8('k'))?.count).toBe(7);
  });

  it('keeps keys apart when the caller rewrites one key buffer between calls (values and timers)', async () => {
    const b = await reopen();
    const kv = b.kvStore('agg', 0, numberCodec);
    const timers = await b.loadTimers('agg', 0);
    const buf = utf8('k0');
    for (let i = 0; i < 6; i++) {
      buf[1] = 0x30 + (i % 3); // k0 k1 k2 k0 k1 k2, always in the same array
      kv.put(buf, (kv.get(buf) ?? 0) + i);
      timers.register(100 + (i % 3), buf);
    }
    for (const [k, v] of [['k0', 3], ['k1', 5], ['k2', 7]] as const) expect(kv.get(utf8(k)), k).toBe(v);
    const fired: string[] = [];
    for (let d = timers.nextDue(Infinity); d; d = timers.nextDue(Infinity)) fired.push(`${d.time}:${Buffer.from(d.key).toString()}`);
    expect(fired).toEqual(['100:k0', '101:k1', '102:k2']);
  });

  it('hands out the same object on repeated gets, so mutate-then-put needs no copy', async () => {
    const kv = (await reopen()).kvStore('agg', 0, counterCodec);
    kv.put(utf8('k'), { count: 1, sum: 0, label: '' });
    expect(kv.get(utf8('k'))).toBe(kv.get(utf8('k')));
  });

  it('treats a delete as a tombstone until the checkpoint', async () => {
    let b = await reopen();
    let kv = b.kvStore('agg', 0, numberCodec);
    kv.put(utf8('gone'), 1);
    kv.put(utf8('kept'), 2);
    await b.checkpoint({ version: 1, at: 1 });
    kv.delete(utf8('gone'));
    expect(kv.get(utf8('gone'))).toBeUndefined();
    b = await reopen(); // closed without a checkpoint: the delete never happened
    kv = b.kvStore('agg', 0, numberCodec);
    expect(kv.get(utf8('gone'))).toBe(1);
    kv.delete(utf8('gone'));
    await b.checkpoint({ version: 1, at: 2 });
    kv = (await reopen()).kvStore('agg', 0, numberCodec);
    expect(kv.get(utf8('gone'))).toBeUndefined();
    expect(kv.get(utf8('kept'))).toBe(2);
  });

  it('never evicts dirty entries, however small the cache', async () => {
    const b = await reopen(10);
    const kv = b.kvStore('agg', 0, numberCodec);
    for (let i = 0; i < 1000; i++) kv.put(utf8(`k${i}`), i);
    for (let i = 0; i < 1000; i++) expect(kv.get(utf8(`k${i}`))).toBe(i);
    expect(b.metrics()).toMatchObject({ dirtyEntries: 1000, cacheMisses: 0 });
    await b.checkpoint({ version: 1, at: 1 });
    // Clean now, so all but the 10 most recent are evicted; reads go back to LevelDB and find every value.
    expect(b.metrics()).toMatchObject({ dirtyEntries: 0, cachedEntries: 10 });
    for (let i = 999; i >= 0; i--) expect(kv.get(utf8(`k${i}`))).toBe(i);
    expect(b.metrics().cacheMisses).toBe(990);
  });

  it('evicts the least recently used clean entry first', async () => {
    const b = await reopen(2);
    const kv = b.kvStore('agg', 0, numberCodec);
    for (const k of ['a', 'b', 'c']) kv.put(utf8(k), 1);
    await b.checkpoint({ version: 1, at: 1 }); // a is evicted: clean a, b, c over a limit of 2
    kv.get(utf8('b')); // b is now more recent than c
    kv.get(utf8('a')); // miss: evicts c
    const before = b.metrics().cacheMisses;
    kv.get(utf8('b'));
    kv.get(utf8('a'));
    expect(b.metrics().cacheMisses).toBe(before);
    kv.get(utf8('c'));
    expect(b.metrics().cacheMisses).toBe(before + 1);
  });

  it('caches absence: repeated misses on a new key read LevelDB once', async () => {
    const { b, kv } = await reopenWithStateOnDisk();
    for (let i = 0; i < 5; i++) expect(kv.get(utf8('never'))).toBeUndefined();
    expect(b.metrics()).toMatchObject({ gets: 5, cacheMisses: 1, cacheHits: 4 });
  });

  it('never reads LevelDB for a store that had no state when opened, until it evicts', async () => {
    const counting = await countingStore();
    const b = await StateBackend.openOn(counting, t.dir, { steps, maxCachedEntries: 2 });
    t.backend = b;
    const w = b.windowStore('agg', 0, numberCodec, numberCodec);
    for (let i = 0; i < 100; i++) {
      expect(w.getHead(utf8(`k${i}`))).toBeUndefined();
      expect(w.getSlice(utf8(`k${i}`), 60_000)).toBeUndefined();
      w.putHead(utf8(`k${i}`), i);
    }
    expect(counting.reads).toBe(0);
    await b.checkpoint({ version: 1, at: 1 }); // 100 clean heads over a limit of 2: 98 evicted
    expect(w.getHead(utf8('k0'))).toBe(0);
    expect(counting.reads).toBe(1);
    expect(w.getSlice(utf8('k0'), 60_000)).toBeUndefined();
    expect(counting.reads).toBe(2);
  });

  for (const presenceFilterBytes of [undefined, 0]) {
    const what = presenceFilterBytes === 0 ? 'without a presence filter, every miss after an eviction reads LevelDB' : 'after evicting, a miss reads LevelDB only for keys that were on disk when evicted';
    it(what, async () => {
      const counting = await countingStore();
      const b = await StateBackend.openOn(counting, t.dir, { steps, maxCachedEntries: 2, ...(presenceFilterBytes !== undefined ? { presenceFilterBytes } : {}) });
      t.backend = b;
      const kv = b.kvStore('agg', 0, numberCodec);
      for (let i = 0; i < 100; i++) kv.put(utf8(`k${i}`), i);
      await b.checkpoint({ version: 1, at: 1 }); // 98 of the 100 evicted, present in LevelDB
      expect(counting.reads).toBe(0);
      for (let i = 0; i < 100; i++) expect(kv.get(utf8(`new${i}`))).toBeUndefined();
      const newKeyReads = counting.reads;
      for (let i = 0; i < 100; i++) expect(kv.get(utf8(`k${i}`))).toBe(i);
      if (presenceFilterBytes === 0) expect(newKeyReads).toBe(100);
      else expect(newKeyReads).toBe(0);
      // A new key put, then deleted: no tombstone unless LevelDB may hold it.
      kv.put(utf8('fresh'), 1);
      kv.delete(utf8('fresh'));
      kv.delete(utf8('k5'));
      await b.checkpoint({ version: 1, at: 2 });
      expect(kv.get(utf8('k5'))).toBeUndefined();
      expect(kv.get(utf8('fresh'))).toBeUndefined();
      const again = await reopen();
      const kv2 = again.kvStore('agg', 0, numberCodec);
      expect(kv2.get(utf8('k5'))).toBeUndefined();
      expect(kv2.get(utf8('k6'))).toBe(6);
    });
  }

  it('a clean close saves the presence filter: after a restart, a miss reads LevelDB only for keys it holds', async () => {
    const first = await StateBackend.openOn(await countingStore(), t.dir, { steps, maxCachedEntries: 2 });
    t.backend = first;
    const kv = first.kvStore('agg', 0, numberCodec);
    for (let i = 0; i < 100; i++) kv.put(utf8(`k${i}`), i);
    await first.checkpoint({ version: 1, at: 1 }); // 98 evicted; k98 and k99 stay cached
    await first.close();
    const counting = await countingStore();
    const b = await StateBackend.openOn(counting, t.dir, { steps, maxCachedEntries: 2 });
    t.backend = b;
    const kv2 = b.kvStore('agg', 0, numberCodec);
    for (let i = 0; i < 100; i++) expect(kv2.get(utf8(`new${i}`))).toBeUndefined();
    expect(counting.reads).toBe(0);
    for (let i = 0; i < 100; i++) expect(kv2.get(utf8(`k${i}`))).toBe(i); // the evicted and the cached ones
    expect(counting.reads).toBe(100);
  });

  it('takes a saved presence filter once: a run that dies without closing leaves none behind', async () => {
    let b = await reopen(2);
    const kv = b.kvStore('agg', 0, numberCodec);
    for (let i = 0; i < 10; i++) kv.put(utf8(`k${i}`), i);
    await b.checkpoint({ version: 1, at: 1 });
    b = await reopen(2); // clean close: saved, then taken by this open
    const level = await (async () => {
      // The process "dies": LevelDB is closed under the backend, which never saves.
      await (b as unknown as { bottom: LevelBytesStore }).bottom.close();
      t.backend = undefined;
      return countingStore();
    })();
    const again = await StateBackend.openOn(level, t.dir, { steps, maxCachedEntries: 2 });
    t.backend = again;
    expect(again.kvStore('agg', 0, numberCodec).get(utf8('never'))).toBeUndefined();
    expect(level.reads).toBe(1);
  });

  it('a scope the saved filter covered reads LevelDB again once a restore writes to it', async () => {
    let b = await reopen(2);
    b.kvStore('agg', 0, numberCodec).put(utf8('k'), 1);
    await b.checkpoint({ version: 1, at: 1 });
    // The changes a restore would bring: a key this directory never had.
    const donorDir = await tempDir();
    const donor = await StateBackend.open(donorDir.dir, { steps, sync: false });
    donor.kvStore('agg', 0, numberCodec).put(utf8('restored'), 7);
    const p = donor.prepareCheckpoint({ version: 1, at: 1 });
    const changes = p.changes().get(0)!;
    await p.write();
    await donor.close();
    await donorDir.cleanup();
    b = await reopen(2); // covered by the filter saved at close, and not used yet: no drop needed
    await b.applyChanges('agg', 0, changes);
    b = await reopen(2); // saved again, the scope unused since the restore: it must not count as covered
    expect(b.kvStore('agg', 0, numberCodec).get(utf8('restored'))).toBe(7);
    expect(b.kvStore('agg', 0, numberCodec).get(utf8('k'))).toBe(1);
  });

  it('writes nothing for state created and deleted between two checkpoints', async () => {
    const b = await reopen();
    const kept = await b.checkpoint({ version: 1, at: 1 }); // registry entries + meta
    const w = b.windowStore('agg', 0, numberCodec, numberCodec);
    const timers = await b.loadTimers('agg', 0);
    for (let i = 0; i < 50; i++) {
      const k = utf8(`k${i}`);
      w.putHead(k, i);
      w.putSlice(k, 0, i);
      timers.register(1000 + i, k);
      w.deleteSlice(k, 0);
      w.deleteHead(k);
      if (i % 2 === 0) timers.delete(1000 + i, k);
      else expect(timers.nextDue(Infinity)?.time).toBe(1000 + i);
    }
    const r = await b.checkpoint({ version: 1, at: 2 });
    expect(kept.entries).toBeGreaterThan(1);
    expect(r.entries).toBe(1); // the meta only
    expect(b.metrics()).toMatchObject({ cachedEntries: 0, dirtyEntries: 0, timers: 0 });
  });

  it('writes an entry dirtied, cleaned and dirtied again once, and counts it clean after', async () => {
    const { b, kv } = await reopenWithStateOnDisk();
    expect(kv.get(utf8('x'))).toBeUndefined(); // read LevelDB: known not on disk
    kv.put(utf8('x'), 1);
    kv.delete(utf8('x')); // never written: clean again, no tombstone
    kv.put(utf8('x'), 2); // dirty again (listed twice for the checkpoint)
    expect(b.metrics().dirtyEntries).toBe(1);
    const r = await b.checkpoint({ version: 1, at: 2 });
    expect(r.entries).toBe(2); // x and the meta
    expect(b.metrics().dirtyEntries).toBe(0);
    expect((await reopen()).kvStore('agg', 0, numberCodec).get(utf8('x'))).toBe(2);
  });

  it('keeps an entry put again while its batch is written dirty, for the next checkpoint', async () => {
    const b = await reopen();
    const kv = b.kvStore('agg', 0, numberCodec);
    kv.put(utf8('a'), 1);
    kv.put(utf8('b'), 1);
    const p = b.prepareCheckpoint({ version: 1, at: 1 });
    kv.put(utf8('a'), 2); // after the snapshot
    kv.put(utf8('c'), 3);
    await p.write();
    expect(b.metrics().dirtyEntries).toBe(2);
    await b.checkpoint({ version: 1, at: 2 });
    expect(b.metrics().dirtyEntries).toBe(0);
    const again = (await reopen()).kvStore('agg', 0, numberCodec);
    expect([again.get(utf8('a')), again.get(utf8('b')), again.get(utf8('c'))]).toEqual([2, 1, 3]);
  });

  it('keeps no value of an entry put and deleted between checkpoints alive', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const b = await reopen();
    const w = b.windowStore('agg', 0, counterCodec, counterCodec);
    let first: WeakRef<Counter> | undefined;
    for (let i = 0; i < 5000; i++) {
      const v = { count: i, sum: i, label: 'x'.repeat(100) };
      first ??= new WeakRef(v);
      w.putHead(utf8(`k${i}`), v); // a key LevelDB never held: the delete drops it
      w.deleteHead(utf8(`k${i}`));
    }
    await new Promise((r) => setTimeout(r, 0));
    gc();
    expect(first!.deref()).toBeUndefined();
    expect(b.metrics()).toMatchObject({ cachedEntries: 0, dirtyEntries: 0 });
  });

  it('refuses to collect while a collected batch is in flight', () => {
    const cache = new WriteBackCache(nullStore, 1 << 20, createStateMetrics());
    const first = cache.collect();
    expect(() => cache.collect()).toThrow(/in flight/);
    first.abort();
    expect(() => cache.collect().commit()).not.toThrow();
  });

  it('counts operations and checkpoint volume', async () => {
    const b = await reopen();
    const kv = b.kvStore('agg', 0, numberCodec);
    kv.put(utf8('a'), 1);
    kv.put(utf8('b'), 2);
    kv.delete(utf8('a'));
    const r = await b.checkpoint({ version: 1, at: 1 });
    const m = b.metrics();
    expect(m).toMatchObject({ puts: 2, deletes: 1, checkpoints: 1 });
    expect(m.entriesFlushed).toBe(r.entries);
    expect(m.bytesFlushed).toBe(r.bytes);
    expect(r.entries).toBeGreaterThanOrEqual(2 + 1); // two state entries + checkpoint meta (+ registry)
    const r2 = await b.checkpoint({ version: 1, at: 2 });
    expect(r2.entries).toBe(1); // nothing dirty: only the meta
  });

  it('keeps handles of different steps, partitions and kinds apart', async () => {
    const b = await StateBackend.open(t.dir, { steps: [...steps, { id: 'other', fingerprint: 'x' }], sync: false });
    t.backend = b;
    const k = utf8('same-key');
    b.kvStore('agg', 0, numberCodec).put(k, 1);
    b.kvStore('agg', 1, numberCodec).put(k, 2);
    b.kvStore('other', 0, numberCodec).put(k, 3);
    const w = b.windowStore('agg', 0, numberCodec, numberCodec);
    w.putHead(k, 4);
    w.putSlice(k, 0, 5);
    await b.checkpoint({ version: 1, at: 1 });
    await b.close();
    const b2 = await StateBackend.open(t.dir, { steps: [{ id: 'other', fingerprint: 'x' }, ...steps], sync: false });
    t.backend = b2;
    expect(b2.kvStore('agg', 0, numberCodec).get(k)).toBe(1);
    expect(b2.kvStore('agg', 1, numberCodec).get(k)).toBe(2);
    expect(b2.kvStore('other', 0, numberCodec).get(k)).toBe(3);
    const w2 = b2.windowStore('agg', 0, numberCodec, numberCodec);
    expect(w2.getHead(k)).toBe(4);
    expect(w2.getSlice(k, 0)).toBe(5);
    expect(w2.getSlice(k, 1)).toBeUndefined();
  });
});
