import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { StateBackend } from '../../src/state/backend.js';
import { LevelBytesStore, type BytesOp, type BytesRange, type BytesStore } from '../../src/state/level-bytes-store.js';
import { TributaryError } from '../../src/core/errors.js';
import type { Logger } from '../../src/core/logger.js';
import type { ValueCodec } from '../../src/state/types.js';
import { counterCodec, numberCodec, tempDir, utf8 } from './helpers.js';

let dir: string;
let cleanup: () => Promise<void>;
const open: StateBackend[] = [];

beforeEach(async () => {
  ({ dir, cleanup } = await tempDir());
});
afterEach(async () => {
  for (const b of open.splice(0)) await b.close();
  await cleanup();
});

async function openBackend(opts: Partial<Parameters<typeof StateBackend.open>[1]> = {}): Promise<StateBackend> {
  const b = await StateBackend.open(dir, { steps: [{ id: 'agg', fingerprint: 'v1' }], sync: false, ...opts });
  open.push(b);
  return b;
}

async function closeAll(): Promise<void> {
  for (const b of open.splice(0)) await b.close();
}

function recordingLogger(): { logger: Logger; lines: string[] } {
  const lines: string[] = [];
  const logger: Logger = {
    debug: (m) => lines.push(m), info: (m) => lines.push(m), warn: (m) => lines.push(m), error: (m) => lines.push(m),
    child: () => logger,
  };
  return { logger, lines };
}

describe('StateBackend checkpoints', () => {
  it('reopens with exactly the checkpointed state and meta, not later writes', async () => {
    const b = await openBackend();
    const w = b.windowStore('agg', 3, counterCodec, numberCodec);
    w.putHead(utf8('u1'), { count: 2, sum: 3, label: 'h' });
    w.putSlice(utf8('u1'), 60_000, 1);
    w.putSlice(utf8('u1'), 120_000, 2);
    await b.checkpoint({ version: 1, at: 1000, offsets: { 'in/3': 41 } });
    w.putHead(utf8('u1'), { count: 3, sum: 9, label: 'h' });
    w.deleteSlice(utf8('u1'), 60_000);
    w.putSlice(utf8('u2'), 60_000, 7);
    expect(b.readCheckpoint()).toEqual({ version: 1, at: 1000, offsets: { 'in/3': 41 } });
    await closeAll();

    const b2 = await openBackend();
    expect(b2.readCheckpoint()).toEqual({ version: 1, at: 1000, offsets: { 'in/3': 41 } });
    const w2 = b2.windowStore('agg', 3, counterCodec, numberCodec);
    expect(w2.getHead(utf8('u1'))).toEqual({ count: 2, sum: 3, label: 'h' });
    expect(w2.getSlice(utf8('u1'), 60_000)).toBe(1);
    expect(w2.getSlice(utf8('u1'), 120_000)).toBe(2);
    expect(w2.getSlice(utf8('u2'), 60_000)).toBeUndefined();
  });

  it('creates its directory and has no checkpoint meta before the first checkpoint', async () => {
    const b = await StateBackend.open(`${dir}/nested/state`, { steps: [{ id: 'agg', fingerprint: 'v1' }], sync: false });
    open.push(b);
    expect(b.readCheckpoint()).toBeUndefined();
  });

  it('hands out copies of the checkpoint meta', async () => {
    const b = await openBackend();
    await b.checkpoint({ version: 1, at: 1, watermarks: [5] });
    const m = b.readCheckpoint()!;
    (m.watermarks as number[]).push(6);
    expect(b.readCheckpoint()).toEqual({ version: 1, at: 1, watermarks: [5] });
  });

  it('keeps everything dirty when the batch fails, and writes it all with the next checkpoint', async () => {
    let failNext = true;
    const level = await LevelBytesStore.open(dir, { sync: false });
    const flaky: BytesStore = {
      getSync: (k) => level.getSync(k),
      entries: (r: BytesRange) => level.entries(r),
      clear: () => level.clear(),
      close: () => level.close(),
      write: async (ops: readonly BytesOp[]) => {
        if (failNext) {
          failNext = false;
          throw new TributaryError('TRIB_STATE_IO', 'disk full');
        }
        await level.write(ops);
      },
    };
    const b = await StateBackend.openOn(flaky, dir, { steps: [{ id: 'agg', fingerprint: 'v1' }] });
    open.push(b);
    const kv = b.kvStore('agg', 0, numberCodec);
    const timers = await b.loadTimers('agg', 0);
    kv.put(utf8('a'), 1);
    timers.register(100, utf8('a'));
    await expect(b.checkpoint({ version: 1, at: 1 })).rejects.toMatchObject({ code: 'TRIB_STATE_IO' });
    expect(b.readCheckpoint()).toBeUndefined();
    expect(b.metrics().dirtyEntries).toBe(1);
    kv.put(utf8('b'), 2);
    await b.checkpoint({ version: 1, at: 2 });
    await closeAll();

    const b2 = await openBackend();
    expect(b2.readCheckpoint()?.at).toBe(2);
    const kv2 = b2.kvStore('agg', 0, numberCodec);
    expect([kv2.get(utf8('a')), kv2.get(utf8('b'))]).toEqual([1, 2]);
    const t2 = await b2.loadTimers('agg', 0);
    expect(t2.nextDue(100)).toEqual({ time: 100, key: utf8('a'), tagged: false });
  });

  it('fails a checkpoint whose values cannot be encoded without losing the others', async () => {
    let broken = true;
    const touchy: ValueCodec<number> = {
      encode: (n) => {
        if (broken) throw new Error('cannot encode');
        return numberCodec.encode(n);
      },
      decode: numberCodec.decode,
    };
    const b = await openBackend();
    b.kvStore('agg', 0, numberCodec).put(utf8('good'), 1);
    b.kvStore('agg', 1, touchy).put(utf8('bad'), 2);
    await expect(b.checkpoint({ version: 1, at: 1 })).rejects.toThrow(/cannot encode/);
    broken = false;
    await b.checkpoint({ version: 1, at: 2 });
    await closeAll();
    const b2 = await openBackend();
    expect(b2.kvStore('agg', 0, numberCodec).get(utf8('good'))).toBe(1);
    expect(b2.kvStore('agg', 1, numberCodec).get(utf8('bad'))).toBe(2);
  });

  it('runs concurrent checkpoints one after another; writes made during one go in the next', async () => {
    const b = await openBackend();
    const kv = b.kvStore('agg', 0, numberCodec);
    kv.put(utf8('a'), 1);
    const first = b.checkpoint({ version: 1, at: 1 });
    kv.put(utf8('a'), 2); // after collection: must stay dirty after the first checkpoint commits
    const second = b.checkpoint({ version: 1, at: 2 });
    await Promise.all([first, second]);
    expect(b.metrics().dirtyEntries).toBe(0);
    await closeAll();
    expect((await openBackend()).kvStore('agg', 0, numberCodec).get(utf8('a'))).toBe(2);
  });

  it('says when another process holds the state directory', async () => {
    await openBackend();
    const err = await StateBackend.open(dir, { steps: [] }).catch((e: unknown) => e);
    expect(err).toMatchObject({ code: 'TRIB_STATE_IO' });
    expect((err as Error).message).toMatch(/another tributary process/);
  });

  it('refuses to checkpoint after close', async () => {
    const b = await openBackend();
    await closeAll();
    await expect(b.checkpoint({ version: 1, at: 1 })).rejects.toThrow(/after close/);
  });
});

describe('StateBackend step fingerprints', () => {
  async function writeSomeState(): Promise<void> {
    const b = await openBackend({ steps: [{ id: 'agg', fingerprint: 'v1' }, { id: 'dedupe', fingerprint: 'd1' }] });
    b.kvStore('agg', 0, numberCodec).put(utf8('k'), 1);
    b.kvStore('dedupe', 0, numberCodec).put(utf8('k'), 2);
    await b.checkpoint({ version: 1, at: 1 });
    await closeAll();
  }

  it('refuses state written by a changed step definition, naming the step and the way out', async () => {
    await writeSomeState();
    const err = await openBackend({ steps: [{ id: 'agg', fingerprint: 'v2' }, { id: 'dedupe', fingerprint: 'd1' }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TributaryError);
    expect((err as TributaryError).code).toBe('TRIB_STATE_INCOMPATIBLE');
    const msg = (err as Error).message;
    expect(msg).toContain("step 'agg'");
    expect(msg).not.toContain("step 'dedupe'");
    expect(msg).toMatch(/changed incompatibly since the state was written/);
    expect(msg).toContain('--reset-state');
    expect(msg).toMatch(/new id/);
    // The refused open released the directory: a compatible open works.
    const b = await openBackend({ steps: [{ id: 'agg', fingerprint: 'v1' }, { id: 'dedupe', fingerprint: 'd1' }] });
    expect(b.kvStore('agg', 0, numberCodec).get(utf8('k'))).toBe(1);
  });

  it('with resetState discards all state, timers and checkpoint meta, and accepts the new definition', async () => {
    await writeSomeState();
    const b = await openBackend({ steps: [{ id: 'agg', fingerprint: 'v2' }], resetState: true });
    expect(b.readCheckpoint()).toBeUndefined();
    expect(b.kvStore('agg', 0, numberCodec).get(utf8('k'))).toBeUndefined();
    expect((await b.loadTimers('agg', 0)).size).toBe(0);
    b.kvStore('agg', 0, numberCodec).put(utf8('k'), 5);
    await b.checkpoint({ version: 1, at: 2 });
    await closeAll();
    const b2 = await openBackend({ steps: [{ id: 'agg', fingerprint: 'v2' }] });
    expect(b2.kvStore('agg', 0, numberCodec).get(utf8('k'))).toBe(5);
  });

  it('keeps the state of a step that left the topology and says so', async () => {
    await writeSomeState();
    const { logger, lines } = recordingLogger();
    await openBackend({ steps: [{ id: 'agg', fingerprint: 'v1' }], logger });
    expect(lines.some((l) => l.includes("'dedupe'") && /not in the topology/.test(l))).toBe(true);
    await closeAll();
    const b = await openBackend({ steps: [{ id: 'agg', fingerprint: 'v1' }, { id: 'dedupe', fingerprint: 'd1' }] });
    expect(b.kvStore('dedupe', 0, numberCodec).get(utf8('k'))).toBe(2);
  });

  it('keeps each step on its own state whatever order steps are declared in, new steps included', async () => {
    await writeSomeState();
    const b = await openBackend({
      steps: [{ id: 'new', fingerprint: 'n1' }, { id: 'dedupe', fingerprint: 'd1' }, { id: 'agg', fingerprint: 'v1' }],
    });
    expect(b.kvStore('new', 0, numberCodec).get(utf8('k'))).toBeUndefined();
    expect(b.kvStore('agg', 0, numberCodec).get(utf8('k'))).toBe(1);
    expect(b.kvStore('dedupe', 0, numberCodec).get(utf8('k'))).toBe(2);
    b.kvStore('new', 0, numberCodec).put(utf8('k'), 3);
    await b.checkpoint({ version: 1, at: 2 });
    await closeAll();
    const b2 = await openBackend({ steps: [{ id: 'agg', fingerprint: 'v1' }, { id: 'new', fingerprint: 'n1' }] });
    expect(b2.kvStore('new', 0, numberCodec).get(utf8('k'))).toBe(3);
    expect(b2.kvStore('agg', 0, numberCodec).get(utf8('k'))).toBe(1);
    // The new step's fingerprint was recorded with the checkpoint.
    await closeAll();
    await expect(openBackend({ steps: [{ id: 'new', fingerprint: 'n2' }] })).rejects.toThrow(/step 'new'/);
  });

  it('rejects a step that was not declared at open', async () => {
    const b = await openBackend();
    expect(() => b.kvStore('nope', 0, numberCodec)).toThrow(/not declared/);
  });
});

describe('StateBackend timers', () => {
  it('persists registrations and firings with the checkpoint', async () => {
    const b = await openBackend();
    const t = await b.loadTimers('agg', 2);
    expect(b.timers('agg', 2)).toBe(t);
    t.register(300, utf8('c'));
    t.register(-50, utf8('a'));
    t.register(100, utf8('b'));
    t.register(100, utf8('b')); // same pair: one timer
    t.register(100, utf8('a'));
    expect(t.size).toBe(4);
    expect(t.nextDue(100)).toEqual({ time: -50, key: utf8('a'), tagged: false });
    await b.checkpoint({ version: 1, at: 1 });
    expect(t.nextDue(100)).toEqual({ time: 100, key: utf8('a'), tagged: false }); // fired after the checkpoint: not persisted
    t.delete(300, utf8('c'));
    await closeAll();

    const b2 = await openBackend();
    const early = b2.timers('agg', 2); // an operator may take the handle when it is built ...
    expect(() => early.register(1, utf8('x'))).toThrow(/timers of step 'agg' partition 2 used before loadTimers/);
    const t2 = await b2.loadTimers('agg', 2); // ... and it works once its timers are loaded
    expect(t2).toBe(early);
    expect(t2.size).toBe(3);
    expect(t2.nextTime()).toBe(100);
    const fired = [];
    for (let d = t2.nextDue(Infinity); d; d = t2.nextDue(Infinity)) fired.push([d.time, Buffer.from(d.key).toString()]);
    expect(fired).toEqual([[100, 'a'], [100, 'b'], [300, 'c']]);
    expect((await b2.loadTimers('agg', 1)).size).toBe(0);
    expect(b2.metrics().timers).toBe(0);
  });
});

describe('StateBackend asynchronous snapshots (prepareCheckpoint)', () => {
  it('writes the state as of prepare time; changes made while the write is in flight go into the next checkpoint', async () => {
    const b = await openBackend();
    const w = b.windowStore('agg', 0, counterCodec, numberCodec);
    w.putHead(utf8('k'), { count: 1, sum: 1, label: 'a' });
    w.putSlice(utf8('k'), 60_000, 1);
    const prepared = b.prepareCheckpoint({ version: 1, at: 1, n: 1 });
    // Processing goes on before the batch is written: mutate the same object, add and delete.
    const head = w.getHead(utf8('k'))!;
    head.count = 2;
    w.putHead(utf8('k'), head);
    w.deleteSlice(utf8('k'), 60_000);
    w.putSlice(utf8('k2'), 60_000, 5);
    expect(() => b.prepareCheckpoint({ version: 1, at: 2 })).toThrow(/in flight/);
    await prepared.write();
    await closeAll();

    const b2 = await openBackend();
    const w2 = b2.windowStore('agg', 0, counterCodec, numberCodec);
    expect(b2.readCheckpoint()).toEqual({ version: 1, at: 1, n: 1 });
    expect(w2.getHead(utf8('k'))).toEqual({ count: 1, sum: 1, label: 'a' });
    expect(w2.getSlice(utf8('k'), 60_000)).toBe(1);
    expect(w2.getSlice(utf8('k2'), 60_000)).toBeUndefined();
    w2.putHead(utf8('k'), { count: 2, sum: 1, label: 'a' });
    await closeAll();
  });

  it('keeps in-flight changes dirty so the next checkpoint writes them', async () => {
    const b = await openBackend();
    const w = b.windowStore('agg', 0, counterCodec, numberCodec);
    w.putSlice(utf8('k'), 60_000, 1);
    const prepared = b.prepareCheckpoint({ version: 1, at: 1 });
    w.putSlice(utf8('k'), 60_000, 2);
    await prepared.write();
    await b.checkpoint({ version: 1, at: 2 });
    await closeAll();
    const w2 = (await openBackend()).windowStore('agg', 0, counterCodec, numberCodec);
    expect(w2.getSlice(utf8('k'), 60_000)).toBe(2);
  });

  it('write(alongside) writes LevelDB while the changelog runs; a changelog failure leaves everything dirty', async () => {
    const b = await openBackend();
    const w = b.windowStore('agg', 0, counterCodec, numberCodec);
    w.putSlice(utf8('k'), 60_000, 7);
    const p1 = b.prepareCheckpoint({ version: 1, at: 1 });
    const changes = p1.changes();
    expect(changes.get(0)).toHaveLength(1);
    let fail!: (err: Error) => void;
    const changelog = new Promise<void>((_, reject) => { fail = reject; });
    const written = p1.write(changelog);
    // The LevelDB batch does not wait for the changelog: the write settles only after both.
    let settled = false;
    void written.catch(() => undefined).finally(() => { settled = true; });
    await new Promise((r) => setTimeout(r, 50));
    expect(settled).toBe(false);
    fail(new Error('changelog down'));
    await expect(written).rejects.toThrow('changelog down');
    // Still dirty: the next snapshot carries the entry again, and its write makes it clean.
    const p2 = b.prepareCheckpoint({ version: 1, at: 2 });
    expect(p2.changes().get(0)).toHaveLength(1);
    await p2.write(Promise.resolve());
    const p3 = b.prepareCheckpoint({ version: 1, at: 3 });
    expect(p3.changes().size).toBe(0);
    p3.abort();
  });

  it('abort() leaves everything dirty for the next checkpoint', async () => {
    const b = await openBackend();
    const w = b.windowStore('agg', 0, counterCodec, numberCodec);
    w.putSlice(utf8('k'), 60_000, 7);
    b.prepareCheckpoint({ version: 1, at: 1 }).abort();
    await b.checkpoint({ version: 1, at: 2 });
    await closeAll();
    const b2 = await openBackend();
    expect(b2.readCheckpoint()).toEqual({ version: 1, at: 2 });
    expect(b2.windowStore('agg', 0, counterCodec, numberCodec).getSlice(utf8('k'), 60_000)).toBe(7);
  });
});
