import { describe, expect, it } from 'vitest';
import { PersistentTimers } from '../../src/state/timer-service.js';
import { makeRng, withSeed } from './random.js';

/** Brute-force reference: a set of "time|key" pairs, earliest = smallest (time, key). */
function earliest(ref: Map<string, { time: number; key: string }>, watermark: number): { time: number; key: string } | undefined {
  let best: { time: number; key: string } | undefined;
  for (const t of ref.values()) {
    if (t.time > watermark) continue;
    if (!best || t.time < best.time || (t.time === best.time && t.key < best.key)) best = t;
  }
  return best;
}

describe('PersistentTimers', () => {
  it('fires exactly the reference timers in (time, key) order under random register/delete/fire', () => {
    const rng = makeRng();
    withSeed(rng, () => {
      const timers = new PersistentTimers(1, 0);
      timers.load([]);
      const ref = new Map<string, { time: number; key: string }>();
      const keys = ['a', 'b', 'ab', 'z', '', 'aa'];
      let watermark = -100;
      for (let i = 0; i < 8000; i++) {
        const r = rng.next();
        const time = rng.int(watermark - 10, watermark + 200);
        const key = rng.pick(keys);
        if (r < 0.45) {
          timers.register(time, Buffer.from(key));
          ref.set(`${time}|${key}`, { time, key });
        } else if (r < 0.75) {
          timers.delete(time, Buffer.from(key));
          ref.delete(`${time}|${key}`);
        } else {
          if (rng.next() < 0.3) watermark += rng.int(0, 50);
          const want = earliest(ref, watermark);
          const got = timers.nextDue(watermark);
          expect(got && { time: got.time, key: Buffer.from(got.key).toString() }).toEqual(want);
          if (want) ref.delete(`${want.time}|${want.key}`);
        }
        expect(timers.size).toBe(ref.size);
      }
    });
  });

  it('reports pending changes once, and again after an aborted checkpoint unless superseded', () => {
    const timers = new PersistentTimers(1, 0);
    timers.load([]);
    const k = Buffer.from('k');
    timers.register(10, k);
    timers.register(20, k);
    const first = timers.collect();
    expect(first.ops.map((o) => o.type)).toEqual(['put', 'put']);
    timers.delete(20, k); // newer than the collected put, which the aborted batch never wrote
    first.abort();
    const second = timers.collect();
    expect(second.ops.map((o) => o.type)).toEqual(['put']); // no del: LevelDB never held (20, k)
    expect(Buffer.from(second.ops[0]!.key).subarray(-1).toString()).toBe('k');
    second.commit();
    expect(timers.collect().ops).toHaveLength(0);
    expect(timers.nextDue(Infinity)?.time).toBe(10);
  });
});
