import { describe, expect, it } from 'vitest';
import { PersistentTimers } from '../../src/state/timer-service.js';
import { decodeTimerPage } from '../../src/state/codec/timer-page.js';
import { makeRng, withSeed } from './random.js';
import { earliestDue } from './helpers.js';

describe('PersistentTimers', () => {
  it.each([
    ['few keys over many times', ['a', 'b', 'ab', 'z', '', 'aa'], 200],
    ['many keys over few times', Array.from({ length: 400 }, (_, i) => `k${i}`), 20],
  ] as const)('fires exactly the reference timers in (time, key) order under random register/delete/fire: %s', (_name, keys, span) => {
    const rng = makeRng();
    withSeed(rng, () => {
      const timers = new PersistentTimers(1, 0);
      timers.load([]);
      const ref = new Map<string, { time: number; key: string }>();
      let watermark = -100;
      for (let i = 0; i < 8000; i++) {
        const r = rng.next();
        const time = rng.int(watermark - 10, watermark + span);
        const key = rng.pick(keys);
        if (r < 0.45) {
          timers.register(time, Buffer.from(key));
          ref.set(`${time}|${key}`, { time, key });
        } else if (r < 0.75) {
          timers.delete(time, Buffer.from(key));
          ref.delete(`${time}|${key}`);
        } else {
          if (rng.next() < 0.3) watermark += rng.int(0, 50);
          const want = earliestDue(ref, watermark);
          const got = timers.nextDue(watermark);
          expect(got && { time: got.time, key: Buffer.from(got.key).toString() }).toEqual(want);
          if (want) ref.delete(`${want.time}|${want.key}`);
        }
        expect(timers.size).toBe(ref.size);
      }
    });
  });

  it('fires in (time, key) order after most timers were deleted, including ones registered while a time drains', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      const timers = new PersistentTimers(1, 0);
      timers.load([]);
      const ref = new Map<string, { time: number; key: string }>();
      // Few distinct times, many keys each; deleting 85% leaves far more stale entries than live ones.
      for (let i = 0; i < 4000; i++) {
        const time = rng.int(0, 9) * 60_000;
        const key = `k${rng.int(0, 99_999)}`;
        timers.register(time, Buffer.from(key));
        ref.set(`${time}|${key}`, { time, key });
      }
      for (const [id, t] of [...ref]) {
        if (rng.next() < 0.85) {
          timers.delete(t.time, Buffer.from(t.key));
          ref.delete(id);
        }
      }
      expect(timers.size).toBe(ref.size);
      let fired = 0;
      for (let got = timers.nextDue(Infinity); got; got = timers.nextDue(Infinity)) {
        const want = earliestDue(ref, Infinity)!;
        expect({ time: got.time, key: Buffer.from(got.key).toString() }).toEqual(want);
        ref.delete(`${want.time}|${want.key}`);
        fired++;
        if (rng.next() < 0.05) {
          // Registered at the time being drained: fires in key order among what is left.
          const key = `k${rng.int(0, 99_999)}`;
          timers.register(got.time, Buffer.from(key));
          ref.set(`${got.time}|${key}`, { time: got.time, key });
        }
      }
      expect(ref.size).toBe(0);
      expect(fired).toBeGreaterThan(400);
    });
  });

  it('skips timers deleted or registered again while their page fires, each firing once with its latest tag', () => {
    const timers = new PersistentTimers(1, 0);
    timers.load([]);
    const k = (s: string): Buffer => Buffer.from(s);
    const due = (wm: number): string | undefined => {
      const d = timers.nextDue(wm);
      return d && `${d.time}:${Buffer.from(d.key).toString()}${d.tagged ? ':tagged' : ''}`;
    };
    timers.register(10, k('a'), true);
    timers.register(20, k('b'), true);
    timers.register(30, k('c'));
    timers.register(40, k('d'), true);
    timers.register(50, k('e'));
    expect(due(10)).toBe('10:a:tagged'); // the page now fires from its sorted order
    timers.delete(20, k('b'));
    timers.register(20, k('b')); // a second entry for (20, b) in the order: untagged now
    timers.delete(30, k('c'));
    timers.register(30, k('c'), true);
    timers.delete(40, k('d')); // gone for good
    expect(timers.nextTime()).toBe(20);
    expect(due(25)).toBe('20:b');
    expect(due(25)).toBeUndefined(); // the stale (20, b) is skipped, (30, c) is not due
    expect(timers.nextTime()).toBe(30);
    expect([due(45), due(45)]).toEqual(['30:c:tagged', undefined]); // (40, d) skipped
    expect(timers.nextTime()).toBe(50);
    expect([due(Infinity), due(Infinity)]).toEqual(['50:e', undefined]);
    expect(timers.size).toBe(0);
    expect(timers.nextTime()).toBeUndefined();
  });

  it('a key fired from a page that still fires registers into it again: fires again, and its page is written without the fired timer', () => {
    const timers = new PersistentTimers(1, 0);
    timers.load([]);
    timers.register(10, Buffer.from('a'), true);
    timers.register(20, Buffer.from('b'));
    expect(timers.nextDue(10)).toMatchObject({ time: 10, tagged: true });
    timers.register(30, Buffer.from('a'), true);
    const op = timers.collect().ops[0]!;
    expect(op.type === 'put' && decodeTimerPage(op.value)).toEqual([{ time: 20, keyId: 'b' }, { time: 30, keyId: 'a' }]);
    const due = [timers.nextDue(Infinity), timers.nextDue(Infinity), timers.nextDue(Infinity)];
    expect(due.map((d) => d && `${d.time}:${Buffer.from(d.key).toString()}:${d.tagged}`)).toEqual(['20:b:false', '30:a:true', undefined]);
    expect(timers.size).toBe(0);
  });

  it('refuses a page width that is not a positive integer of ms (a page keeps its timers as offsets from its start)', () => {
    for (const width of [1000.5, 0, -60_000, Number.NaN]) expect(() => new PersistentTimers(1, 0, 'timers', undefined, width)).toThrow(/timer page width/);
    expect(() => new PersistentTimers(1, 0, 'timers', undefined, 1)).not.toThrow();
  });

  it('keeps exact times at ±Infinity, far from the epoch and at epoch milliseconds (pages store offsets)', () => {
    const timers = new PersistentTimers(1, 0);
    timers.load([]);
    const times = [Number.NEGATIVE_INFINITY, -(2 ** 60), -60_001, -1, 0, 59_999, 1_733_000_000_123, 2 ** 53 + 2, 2 ** 60, Number.POSITIVE_INFINITY];
    for (const time of [...times].reverse()) timers.register(time, Buffer.from('k'));
    timers.register(1_733_000_000_123, Buffer.from('j'));
    timers.delete(1_733_000_000_123, Buffer.from('j'));
    const page = timers.collect().ops;
    expect(page.length).toBeGreaterThan(5);
    const fired: number[] = [];
    for (let d = timers.nextDue(Infinity); d; d = timers.nextDue(Infinity)) fired.push(d.time);
    expect(fired).toEqual(times);
  });

  it('reports pending changes once, and again after an aborted checkpoint unless superseded', () => {
    const timers = new PersistentTimers(1, 0);
    timers.load([]);
    const k = Buffer.from('k');
    timers.register(10, k);
    timers.register(20, k);
    timers.register(60_010, k);
    const first = timers.collect();
    // One page per minute of event time: (10, k) and (20, k) share one.
    expect(first.ops.map((o) => o.type)).toEqual(['put', 'put']);
    timers.delete(20, k); // newer than the collected put, which the aborted batch never wrote
    timers.delete(60_010, k);
    first.abort();
    const second = timers.collect();
    // The first page without (20, k); no del for the second page: LevelDB never held it.
    expect(second.ops.map((o) => o.type)).toEqual(['put']);
    const op = second.ops[0]!;
    expect(op.type === 'put' && decodeTimerPage(op.value)).toEqual([{ time: 10, keyId: 'k' }]);
    second.commit();
    expect(timers.collect().ops).toHaveLength(0);
    expect(timers.nextDue(Infinity)?.time).toBe(10);
  });
});
