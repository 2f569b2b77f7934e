/**
 * The cdc reader's position writer (src/runtime/cdc-position.ts): the binlog -> Kafka loop hands
 * acknowledged positions over without waiting for Redis; writes are one at a time, newest wins,
 * never backwards; a refused write stops the loop at its next check. The store here is a
 * stand-in whose writes complete when the test says (cdc-leader.integration.test.ts runs the real
 * FencedStore through `tributary cdc`).
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PositionWriter, type PositionStore } from '../../src/runtime/cdc-position.js';
import { TributaryError } from '../../src/core/errors.js';

/** Records every write; each completes (or fails) only when released. */
function gatedStore(): PositionStore & { writes: string[]; release(error?: unknown): void; pending: number } {
  const gates: Array<{ resolve(): void; reject(e: unknown): void }> = [];
  return {
    writes: [],
    get pending() {
      return gates.length;
    },
    set(token: string): Promise<void> {
      this.writes.push(token);
      return new Promise<void>((resolve, reject) => gates.push({ resolve, reject }));
    },
    release(error?: unknown): void {
      const g = gates.shift();
      if (!g) throw new Error('no write in flight');
      if (error === undefined) g.resolve();
      else g.reject(error);
    },
  };
}

const turn = (): Promise<void> => new Promise((r) => setImmediate(r));

describe('cdc position writer', () => {
  it('hands a position over without waiting for the store, and writes the newest next', async () => {
    const store = gatedStore();
    const writer = new PositionWriter(store);
    writer.acknowledged('t1'); // returns while the write of t1 is in flight
    writer.acknowledged('t2');
    writer.acknowledged('t3');
    expect(store.writes).toEqual(['t1']);
    expect(store.pending).toBe(1);
    store.release();
    await turn();
    // t2 was superseded before it could go out: only the newest acknowledged position matters.
    expect(store.writes).toEqual(['t1', 't3']);
    const settled = writer.settle();
    store.release();
    await settled;
    expect(writer.written).toBe(2);
    expect(store.pending).toBe(0);
  });

  it('settle waits for the newest position handed over', async () => {
    const store = gatedStore();
    const writer = new PositionWriter(store);
    writer.acknowledged('a');
    writer.acknowledged('b');
    let done = false;
    const settled = writer.settle().then(() => (done = true));
    store.release();
    await turn();
    expect(done).toBe(false); // 'b' is being written now
    expect(store.writes).toEqual(['a', 'b']);
    store.release();
    await settled;
    expect(done).toBe(true);
  });

  it('a refused write stops the loop at its next check, and nothing is written after it', async () => {
    const store = gatedStore();
    const writer = new PositionWriter(store);
    writer.acknowledged('x1');
    writer.acknowledged('x2');
    store.release(new TributaryError('TRIB_FENCED', 'refused: a newer leader exists'));
    await turn();
    expect(() => writer.check()).toThrow(/newer leader/);
    expect(() => writer.acknowledged('x3')).toThrow(/newer leader/);
    await expect(writer.settle()).rejects.toThrow(/newer leader/);
    expect(store.writes).toEqual(['x1']);
  });

  describe('with a minimum interval between writes', () => {
    afterEach(() => {
      vi.useRealTimers();
    });

    it('starts at most one write per interval, the newest token; settle writes at once', async () => {
      vi.useFakeTimers();
      let clock = 0;
      const store = gatedStore();
      const writer = new PositionWriter(store, 100, () => clock);
      writer.acknowledged('p1');
      expect(store.writes).toEqual(['p1']); // the first goes out at once
      store.release();
      await vi.advanceTimersByTimeAsync(0);
      clock = 10;
      writer.acknowledged('p2');
      writer.acknowledged('p3');
      expect(store.writes).toEqual(['p1']); // 90 ms of the interval left
      clock = 100;
      await vi.advanceTimersByTimeAsync(90);
      expect(store.writes).toEqual(['p1', 'p3']);
      store.release();
      await vi.advanceTimersByTimeAsync(0);
      clock = 120;
      writer.acknowledged('p4');
      expect(store.writes).toEqual(['p1', 'p3']);
      const settled = writer.settle();
      await vi.advanceTimersByTimeAsync(0);
      expect(store.writes).toEqual(['p1', 'p3', 'p4']); // shutdown does not wait for the interval
      store.release();
      await settled;
      expect(writer.written).toBe(3);
    });
  });
});
